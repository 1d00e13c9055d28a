import {
  BadRequest,
  Conflict,
  FeathersError,
  Forbidden,
  GeneralError,
  NotFound,
  Unavailable
} from '@feathersjs/errors'
import { ERROR as KNEX_ORIGINAL_ERROR } from '@feathersjs/knex'
import { logger } from '../logger'
import type { Logger } from '../logger'
import { camelCase } from '../database/naming'

export class PayloadTooLarge extends FeathersError {
  constructor(message = 'Request body is too large') {
    super(message, 'PayloadTooLarge', 413, 'payload-too-large', undefined)
  }
}

/** A conditional write (`If-Match`, `$ifMatch`) whose record is at another version: nothing changed. */
export class PreconditionFailed extends FeathersError {
  constructor(message = 'The record is not at the version the request names', data?: unknown) {
    super(message, 'PreconditionFailed', 412, 'precondition-failed', data)
  }
}

/** An `Expect` other than `100-continue`: no such expectation is met here (RFC 9110 §10.1.1). */
export class ExpectationFailed extends FeathersError {
  constructor(message = 'Only the expectation 100-continue is met') {
    super(message, 'ExpectationFailed', 417, 'expectation-failed', undefined)
  }
}

export class UnsupportedMediaType extends FeathersError {
  constructor(message = 'Unsupported media type') {
    super(message, 'UnsupportedMediaType', 415, 'unsupported-media-type', undefined)
  }
}

interface PostgresError {
  code: string
  severity: string
  detail?: string
  column?: string
  constraint?: string
}

/** A field of a thrown value of any shape: undefined unless the value is an object. */
export const fieldOf = (value: unknown, key: PropertyKey): unknown =>
  typeof value === 'object' && value !== null ? (value as Record<PropertyKey, unknown>)[key] : undefined

/** The error the Knex adapter's error was made from (it keeps it under its `ERROR` key), else `error`. */
export const originalError = (error: unknown): unknown => fieldOf(error, KNEX_ORIGINAL_ERROR) ?? error

function isPostgresError(error: unknown): error is PostgresError {
  const code = fieldOf(error, 'code')
  return typeof code === 'string' && code.length === 5 && typeof fieldOf(error, 'severity') === 'string'
}

/** `Key (patient_id, doctor_id)=(…)` names the columns; the values stay on the server. */
function keyFields(detail = '') {
  const match = /^Key \(([^)]+)\)/.exec(detail)
  return match ? match[1].split(',').map((name) => camelCase(name.trim().replace(/^lower\(|\)$/g, ''))) : []
}

function fromPostgres(error: PostgresError): FeathersError | undefined {
  const fields = keyFields(error.detail)
  switch (error.code) {
    case '23505':
      return new Conflict(`${fields.join(', ') || 'Record'} already exists`, { fields })
    case '23503':
      return new BadRequest(`Referenced ${fields.join(', ') || 'record'} does not exist`, { fields })
    case '23502':
    case '23514':
      return new BadRequest('Invalid data', { fields: error.column ? [camelCase(error.column)] : fields })
  }
  switch (error.code.slice(0, 2)) {
    case '22':
      return new BadRequest('Invalid value')
    case '54':
      return new BadRequest('The request is too large or too complex')
    case '08':
      // 08P01 is a protocol violation: this client's doing, not an unreachable database.
      return error.code === '08P01' ? undefined : new Unavailable('Database unavailable')
    case '53':
    case '57':
      return new Unavailable('Database unavailable')
  }
  return undefined
}

const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND'])

function isConnectionFailure(error: unknown) {
  const code = fieldOf(error, 'code')
  return (
    (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) ||
    /^Knex: Timeout acquiring a connection|Connection terminated|Query read timeout$/.test(
      String(fieldOf(error, 'message') ?? '')
    )
  )
}

/** Whether the database could not be reached or did not answer in time: a 503. */
export function isDatabaseUnavailable(error: unknown): boolean {
  const original = originalError(error)
  return (isPostgresError(original) && fromPostgres(original)?.code === 503) || isConnectionFailure(original)
}

/** Koa middleware errors (koa-body and friends) carry an HTTP status. */
function fromHttpError(error: unknown): FeathersError | undefined {
  const status = fieldOf(error, 'status') ?? fieldOf(error, 'statusCode')
  if (typeof status !== 'number' || status < 400 || status >= 500) {
    return undefined
  }
  if (status === 413) return new PayloadTooLarge()
  if (status === 415) return new UnsupportedMediaType()
  if (status === 404) return new NotFound('Not found')
  if (status === 403) return new Forbidden('Forbidden')
  if (error instanceof SyntaxError) return new BadRequest('Malformed JSON in request body')
  const message = fieldOf(error, 'message')
  return new BadRequest(fieldOf(error, 'expose') && typeof message === 'string' ? message : 'Bad request')
}

/** What the database said, or what was said while talking to it: only what is mapped on purpose gets out. */
function fromDatabase(original: unknown): FeathersError | undefined {
  return (
    (isPostgresError(original) && fromPostgres(original)) ||
    (isConnectionFailure(original) && new Unavailable('Database unavailable')) ||
    undefined
  )
}

/** An error of the app or of Feathers that says only what the client may know. */
function fromFeathers(error: unknown): FeathersError | undefined {
  if (!(error instanceof FeathersError) || (error.code >= 500 && error.code !== 503)) {
    return undefined
  }
  return error
}

// Mapped and logged once, whichever layer (service hook, socket, then Koa) sees it again.
const alreadyPublic = new WeakSet<FeathersError>()

/**
 * Every error leaves the server through here: database errors become what they mean (409, 400,
 * 503) only where that is mapped on purpose, errors of the adapter that carry the database's
 * text never pass as they are, and anything unexpected becomes a bare 500; details are logged,
 * never sent: `log` is the logger of the request or socket call (src/logger.ts `loggerOf`), and a
 * database error's line has its SQLSTATE and constraint in `err.code` and `err.constraint`.
 */
export function toPublicError(error: unknown, log: Logger = logger): FeathersError {
  if (error instanceof FeathersError && alreadyPublic.has(error)) {
    return error
  }
  const original = originalError(error)
  const touchedDatabase = original !== error || isPostgresError(original)
  const mapped = touchedDatabase
    ? fromDatabase(original)
    : fromDatabase(original) || fromFeathers(error) || fromHttpError(error)
  if (mapped) {
    alreadyPublic.add(mapped)
    return mapped
  }
  log.error({ err: original }, 'Unexpected error')
  const internal = new GeneralError('Internal Server Error')
  alreadyPublic.add(internal)
  return internal
}
