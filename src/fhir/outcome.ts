import type { FeathersError } from '@feathersjs/errors'
import type { Middleware } from '@feathersjs/koa'
import { toPublicError } from '../errors'
import { loggerOf } from '../logger'
import { FHIR_PREFIX } from './request'

export const FHIR_CONTENT_TYPE = 'application/fhir+json; charset=utf-8'

/** The OperationOutcome issue type of each error status. */
const ISSUE_TYPES: Readonly<Record<number, string>> = {
  400: 'invalid',
  401: 'login',
  403: 'forbidden',
  404: 'not-found',
  405: 'not-supported',
  406: 'not-supported',
  410: 'deleted',
  429: 'throttled',
  500: 'exception',
  503: 'transient'
}

const issueTypeOf = (status: number) => ISSUE_TYPES[status] ?? (status >= 500 ? 'exception' : 'processing')

/** An error as FHIR has it: `{ resourceType: 'OperationOutcome', issue: [{ severity, code, diagnostics }] }`. */
export function operationOutcome(error: FeathersError) {
  return {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'error', code: issueTypeOf(error.code), diagnostics: error.message || error.name }]
  }
}

export const isUnderFhir = (path: string) => path === FHIR_PREFIX || path.startsWith(`${FHIR_PREFIX}/`)

/** Sends a FHIR answer: its status, its JSON body as `application/fhir+json`. */
export function sendFhir(ctx: Parameters<Middleware>[0], status: number, body: object) {
  ctx.status = status
  ctx.body = JSON.stringify(body)
  ctx.set('Content-Type', FHIR_CONTENT_TYPE)
}

/**
 * Every error under `/fhir`, whichever middleware raised it, is an OperationOutcome with the
 * status of the public error (src/errors.ts: nothing unmapped leaks). A 401 names the Bearer
 * scheme; a 405 says what is allowed. Place it right after the app's error handler.
 */
export const fhirErrors = (): Middleware => async (ctx, next) => {
  if (!isUnderFhir(ctx.path)) {
    return next()
  }
  try {
    await next()
  } catch (error: unknown) {
    const publicError = toPublicError(error, loggerOf(ctx.feathers))
    sendFhir(ctx, publicError.code, operationOutcome(publicError))
    if (publicError.code === 401) ctx.set('WWW-Authenticate', 'Bearer')
    if (publicError.code === 405) ctx.set('Allow', 'GET, HEAD')
    const retryAfter = publicError.code === 429 ? publicError.data?.retryAfter : undefined
    if (typeof retryAfter === 'number') ctx.set('Retry-After', String(retryAfter))
  }
}
