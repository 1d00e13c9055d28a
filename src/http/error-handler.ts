import { NotFound } from '@feathersjs/errors'
import type { Middleware } from '@feathersjs/koa'
import { toPublicError } from '../errors'
import { loggerOf } from '../logger'

/** Like @feathersjs/koa's errorHandler, but nothing unexpected (SQL, stacks, paths) reaches a client. */
export const errorHandler = (): Middleware => async (ctx, next) => {
  try {
    await next()
    if (ctx.body === undefined) {
      throw new NotFound(`Path ${ctx.path} not found`)
    }
  } catch (error: unknown) {
    const publicError = toPublicError(error, loggerOf(ctx.feathers))
    ctx.status = publicError.code
    ctx.body = publicError.toJSON()
    const retryAfter = publicError.code === 429 ? publicError.data?.retryAfter : undefined
    if (typeof retryAfter === 'number') {
      ctx.set('Retry-After', String(retryAfter))
    }
  }
}
