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
 * made here), its client address (`params.ip` for the services) and a child logger whose lines
 * all carry `req: { id, method, url }` (`params.logger`), then logs one line when it is answered:
 * `res.statusCode`, `responseTime` (ms) and `userId`, at `debug` for `/health` (probes) and `info`
 * otherwise. `url` is the path without its query string, and no body or header is logged.
 */
export const requestLog = (): Middleware => async (ctx, next) => {
  const started = performance.now()
  const requestId = requestIdOf(ctx.get('X-Request-Id'))
  const { method, path } = ctx
  const log = logger.child({ req: { id: requestId, method, url: path } })
  ctx.set('X-Request-Id', requestId)
  ctx.feathers = { ...ctx.feathers, ip: ctx.ip, requestId, logger: log }
  try {
    await next()
  } finally {
    log[path === '/health' ? 'debug' : 'info'](
      {
        res: { statusCode: ctx.status },
        responseTime: Math.round((performance.now() - started) * 10) / 10,
        // The service call's context names the authenticated caller: the REST transport keeps it as
        // `ctx.hook`, undocumented (test/unit/library-internals.test.ts); the FHIR facade sets it too.
        userId: (ctx as { hook?: { params?: { user?: { id?: string } } } }).hook?.params?.user?.id ?? null
      },
      'request completed'
    )
  }
}
