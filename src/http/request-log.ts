import { randomUUID } from 'node:crypto'
import type { Middleware } from '@feathersjs/koa'
import { logger } from '../logger'

// A client's id is kept only when it cannot smuggle anything into a log line.
const ACCEPTABLE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

function requestIdOf(header: string | undefined) {
  return header && ACCEPTABLE_REQUEST_ID.test(header) ? header : randomUUID()
}

/**
 * The outermost middleware: gives every request an id (X-Request-Id, kept from the client or
 * made here) and its client address (in `params.ip` for the services), then logs one JSON line
 * when it is answered. The line never holds the body, the query string or any header, so no
 * password or token can reach the log.
 */
export const requestLog = (): Middleware => async (ctx, next) => {
  const started = performance.now()
  const requestId = requestIdOf(ctx.get('X-Request-Id'))
  const { method, path } = ctx
  ctx.set('X-Request-Id', requestId)
  ctx.feathers = { ...ctx.feathers, ip: ctx.ip, requestId }
  try {
    await next()
  } finally {
    logger.info('request', {
      requestId,
      method,
      path,
      status: ctx.status,
      ms: Math.round((performance.now() - started) * 10) / 10,
      // The service call's context (kept by the REST transport) names the authenticated caller.
      userId: (ctx as { hook?: { params?: { user?: { id?: string } } } }).hook?.params?.user?.id ?? null
    })
  }
}
