import { Unavailable } from '@feathersjs/errors'
import type { Middleware } from '@feathersjs/koa'
import type { Knex } from 'knex'
import type { EventDelivery } from '../realtime/event-sync'

function within<T>(ms: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

export const HEALTH_PATH = '/health'
export const HEALTH_METHODS = ['GET', 'HEAD'] as const

/**
 * GET /health: 200 `{ status: 'ok' }` while the database answers `SELECT 1` in time, else 503.
 * With Redis, `events` tells whether this instance's events go round through it (`ok` or `down`):
 * REST goes on serving without it, so it does not change the status.
 */
export const health =
  (db: Knex, timeoutMs: number, eventDelivery: () => EventDelivery | undefined): Middleware =>
  async (ctx, next) => {
    if (ctx.path !== HEALTH_PATH || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) {
      return next()
    }
    try {
      await within(timeoutMs, db.raw('SELECT 1'))
    } catch {
      throw new Unavailable('Database unavailable')
    }
    ctx.set('Cache-Control', 'no-store')
    const events = eventDelivery()
    ctx.body = events ? { status: 'ok', events } : { status: 'ok' }
  }
