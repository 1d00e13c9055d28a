import { cors } from '@feathersjs/koa'
import type { Middleware } from '@feathersjs/koa'

/**
 * CORS for the configured origins only; other origins get no CORS headers. A page on an allowed
 * origin may read a record's `ETag` and send it back in `If-Match` (preflights allow the headers
 * they ask for).
 */
export const corsFor = (origins: string[]): Middleware => {
  const allowed = new Set(origins)
  return cors({
    origin: (ctx) => {
      const origin = ctx.get('Origin')
      return allowed.has(origin) ? origin : ''
    },
    exposeHeaders: ['ETag']
  })
}
