import { GeneralError, NotFound } from '@feathersjs/errors'
import type { Server, Socket } from 'socket.io'
import { logger } from './logger'
import type { Logger } from './logger'

type Ack = (error: unknown, result?: unknown) => void
/** The connection's params, given to every call on it (`socket.feathers` of @feathersjs/socketio). */
type Connection = { ip?: string; logger: Logger }
type FeathersSocket = Socket & { feathers: Connection }

const PUBLIC_FIELDS = ['name', 'message', 'code', 'className', 'data', 'errors'] as const

/**
 * What a socket call answers when it fails. Errors inside a service call have already passed
 * `toPublicError`; this also covers those raised before one (by the socket transport itself) and
 * keeps only the fields of a Feathers error: a 4xx as it is, anything else as a bare 500.
 */
function publicSocketError(error: any, log: Logger) {
  const code = error?.code
  if (typeof code === 'number' && typeof error.className === 'string' && (code < 500 || code === 503)) {
    return Object.fromEntries(PUBLIC_FIELDS.filter((field) => error[field] !== undefined).map((field) => [field, error[field]]))
  }
  if (code !== 500 || error?.message !== 'Internal Server Error') {
    log.error({ err: error }, 'Unexpected error in a socket call')
  }
  return new GeneralError('Internal Server Error').toJSON()
}

/**
 * Every call on this socket is answered, and fails only with a public error: a call that names no
 * method of any service (which Socket.io would leave unanswered) is a 404.
 */
function publicErrors(socket: FeathersSocket) {
  socket.use((packet, next) => {
    const last = packet.length - 1
    const ack = packet[last]
    if (typeof ack !== 'function') {
      return next()
    }
    if (socket.listeners(packet[0]).length === 0) {
      return (ack as Ack)(new NotFound('No such method').toJSON())
    }
    packet[last] = ((error, result) => (error ? (ack as Ack)(publicSocketError(error, socket.feathers.logger)) : (ack as Ack)(error, result))) as Ack
    next()
  })
}

/**
 * Socket.io set-up: calls carry the client's address (`params.ip`) as HTTP calls do, and a logger
 * whose lines carry the connection's id (`params.logger`, `socket.id`); they fail only with
 * public errors.
 */
export const socketSetup = (io: Server) => {
  io.use((socket, next) => {
    const connection = socket as FeathersSocket
    connection.feathers.ip = socket.handshake.address
    connection.feathers.logger = logger.child({ socket: { id: socket.id } })
    publicErrors(connection)
    next()
  })
}
