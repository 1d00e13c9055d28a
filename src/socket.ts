import type { ServerResponse } from 'node:http'
import { BadRequest, Forbidden, GeneralError, NotFound } from '@feathersjs/errors'
import type { Server, Socket } from 'socket.io'
import { logger } from './logger'

type Ack = (error: unknown, result?: unknown) => void

const PUBLIC_FIELDS = ['name', 'message', 'code', 'className', 'data', 'errors'] as const

/**
 * What a socket call answers when it fails. Errors inside a service call have already passed
 * `toPublicError`; this also covers those raised before one (by the socket transport itself) and
 * keeps only the fields of a Feathers error: a 4xx as it is, anything else as a bare 500.
 */
function publicSocketError(error: any) {
  const code = error?.code
  if (typeof code === 'number' && typeof error.className === 'string' && (code < 500 || code === 503)) {
    return Object.fromEntries(PUBLIC_FIELDS.filter((field) => error[field] !== undefined).map((field) => [field, error[field]]))
  }
  if (code !== 500 || error?.message !== 'Internal Server Error') {
    logger.error('Unexpected error in a socket call', { error: { name: error?.name, message: error?.message, stack: error?.stack } })
  }
  return new GeneralError('Internal Server Error').toJSON()
}

/**
 * Every call on this socket is answered, and fails only with a public error: a call that names no
 * method of any service (which Socket.io would leave unanswered) is a 404.
 */
function publicErrors(socket: Socket) {
  socket.use((packet, next) => {
    const last = packet.length - 1
    const ack = packet[last]
    if (typeof ack !== 'function') {
      return next()
    }
    if (socket.listeners(packet[0]).length === 0) {
      return (ack as Ack)(new NotFound('No such method').toJSON())
    }
    packet[last] = ((error, result) => (error ? (ack as Ack)(publicSocketError(error)) : (ack as Ack)(error, result))) as Ack
    next()
  })
}

/**
 * Socket.io refuses a bad handshake request itself, before the app sees it, with a body of its own
 * (`{"code":0,"message":"Transport unknown"}`): the same refusal is sent as a Feathers error.
 */
function feathersShapedRefusals(_req: unknown, res: ServerResponse, next: () => void) {
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse
  res.end = ((chunk?: unknown, ...rest: unknown[]) => {
    if (res.statusCode >= 400 && typeof chunk === 'string') {
      const message = 'Bad Socket.io request'
      chunk = JSON.stringify((res.statusCode === 403 ? new Forbidden(message) : new BadRequest(message)).toJSON())
    }
    return end(chunk, ...rest)
  }) as typeof res.end
  next()
}

/** Socket.io set-up: calls carry the client's address (`params.ip`) as HTTP calls do, and fail only with public errors. */
export const socketSetup = (io: Server) => {
  io.engine.use(feathersShapedRefusals)
  io.use((socket, next) => {
    ;(socket as Socket & { feathers: Record<string, unknown> }).feathers.ip = socket.handshake.address
    publicErrors(socket)
    next()
  })
}
