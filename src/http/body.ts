import { BadRequest } from '@feathersjs/errors'
import { bodyParser } from '@feathersjs/koa'
import type { Middleware } from '@feathersjs/koa'
import { fieldOf } from '../errors'

/** The largest JSON body, over REST and (as a call's data) over a socket: 100 kB. */
export const JSON_BODY_LIMIT = 100 * 1024

/**
 * JSON bodies only, at most 100 kB. Reading a body fails with an HTTP status of its own (413,
 * 415, 400 for malformed JSON), except when it cannot be decoded at all, for example gzip, br or
 * deflate named in Content-Encoding on a body that is not compressed so: that is a 400 as well,
 * whatever zlib calls it.
 */
export const jsonBody = (): Middleware => {
  const parse = bodyParser({ jsonLimit: JSON_BODY_LIMIT, urlencoded: false, text: false, multipart: false })
  return async (ctx, next) => {
    let read = false
    try {
      await parse(ctx, async () => {
        read = true
        await next()
      })
    } catch (error) {
      if (read || typeof (fieldOf(error, 'status') ?? fieldOf(error, 'statusCode')) === 'number') {
        throw error
      }
      throw new BadRequest('The body could not be read: it does not match its Content-Encoding')
    }
  }
}
