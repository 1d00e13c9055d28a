import type { IncomingMessage, Server } from 'node:http'
import type { Middleware } from '@feathersjs/koa'
import { ExpectationFailed } from '../errors'

/** Requests whose `Expect` is not `100-continue` (Node checks only HTTP/1.1 requests). */
const unmet = new WeakSet<IncomingMessage>()

/**
 * Node answers an `Expect` it does not know with a bare 417 of its own, unless the server listens
 * for `checkExpectation`: such requests go to the app like any other, marked, and the app answers
 * the 417 (`refuseUnmetExpectations`) as it answers every error: JSON, security headers, request
 * id, logged. Socket.io's requests go to Socket.io, which serves them as if there were no `Expect`.
 */
export function passExpectationsToApp(server: Server) {
  server.on('checkExpectation', (req, res) => {
    unmet.add(req)
    server.emit('request', req, res)
  })
}

/** Koa middleware: the 417 of a request that `passExpectationsToApp` marked, before anything runs. */
export const refuseUnmetExpectations = (): Middleware => async (ctx, next) => {
  if (unmet.has(ctx.req)) {
    throw new ExpectationFailed()
  }
  return next()
}
