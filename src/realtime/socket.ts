import type { IncomingMessage, ServerResponse } from 'node:http'
import { BadRequest, Forbidden, GeneralError, NotFound, TooManyRequests } from '@feathersjs/errors'
import { getServiceOptions } from '@feathersjs/feathers'
import type { Server, Socket } from 'socket.io'
import type { Application } from '../declarations'
import { PayloadTooLarge, fieldOf } from '../errors'
import { JSON_BODY_LIMIT } from '../http/body'
import { logger } from '../logger'
import type { Logger } from '../logger'

type Ack = (error: unknown, result?: unknown) => void
type PublicError = { name: string; code: number }
/** The connection's params, given to every call on it (`socket.feathers` of @feathersjs/socketio). */
type Connection = { ip?: string; user?: { id?: string }; logger: Logger }
type FeathersSocket = Socket & { feathers: Connection }

const PUBLIC_FIELDS = ['name', 'message', 'code', 'className', 'data', 'errors'] as const

/**
 * What a socket call answers when it fails. Errors inside a service call have already passed
 * `toPublicError`; this also covers those raised before one (by the socket transport itself) and
 * keeps only the fields of a Feathers error: a 4xx as it is, anything else as a bare 500.
 */
function publicSocketError(error: unknown, log: Logger): PublicError {
  const code = fieldOf(error, 'code')
  if (
    typeof code === 'number' &&
    typeof fieldOf(error, 'className') === 'string' &&
    (code < 500 || code === 503)
  ) {
    const fields = PUBLIC_FIELDS.map((field) => [field, fieldOf(error, field)])
    return Object.fromEntries(fields.filter(([, value]) => value !== undefined)) as PublicError
  }
  if (code !== 500 || fieldOf(error, 'message') !== 'Internal Server Error') {
    log.error({ err: error }, 'Unexpected error in a socket call')
  }
  return new GeneralError('Internal Server Error').toJSON()
}

// The methods called with an id: `[method, path, id, …, ack]`.
const METHODS_WITH_ID = new Set(['get', 'update', 'patch', 'remove'])
const loggable = (value: unknown) =>
  typeof value === 'string' ? value.slice(0, 100) : typeof value === 'number' ? value : undefined

/**
 * One line per socket call, as for a REST request, by the connection's logger (`socket.id`):
 * `call: { service, method, id }`, `res.statusCode` (the error's code, else what REST would
 * answer: 201 for a create, 200), `res.error` (the error's name), `responseTime` (ms) and `userId`.
 * No data, query or header.
 */
function callLog(socket: FeathersSocket, packet: unknown[]) {
  const started = performance.now()
  const [method, service, id] = packet
  const userBefore = socket.feathers.user?.id
  return (error?: PublicError) =>
    socket.feathers.logger.info(
      {
        call: {
          service: loggable(service),
          method: loggable(method),
          id: METHODS_WITH_ID.has(method as string) ? loggable(id) : undefined
        },
        res: error
          ? { statusCode: error.code, error: error.name }
          : { statusCode: method === 'create' ? 201 : 200 },
        responseTime: Math.round((performance.now() - started) * 10) / 10,
        // Who is logged in on the socket once the call is answered (a login) or was before (a logout).
        userId: socket.feathers.user?.id ?? userBefore ?? null
      },
      'socket call completed'
    )
}

/**
 * Calls one connection may have in flight at once; more are answered 429 at once. Each call may
 * hold one of the database pool's connections (`database.pool.max`, 10), so without a cap one
 * socket emitting thousands of calls without waiting queues everyone else (and `/health`) behind
 * them. 16 still lets a client send a page's worth of calls together.
 */
const MAX_CALLS_IN_FLIGHT = 16

// Where the methods that take data carry it: `[method, path, data, params]` or `[method, path, id, data, params]`.
const DATA_POSITION = new Map<unknown, number>([
  ['create', 2],
  ['update', 3],
  ['patch', 3]
])

/**
 * Whether a call's data is over REST's body limit, as JSON. Socket.io has already parsed the
 * whole frame (at most `maxHttpBufferSize`), so serializing the data once more costs about as much.
 */
function dataTooLarge(packet: unknown[]) {
  const position = DATA_POSITION.get(packet[0])
  if (position === undefined || packet[position] === undefined) return false
  return Buffer.byteLength(JSON.stringify(packet[position]) ?? '') > JSON_BODY_LIMIT
}

/**
 * Why a call is answered before any service sees it: an event that is no method of any service
 * (Socket.io would leave it unanswered, its own `error` listener included) is a 404; a method
 * called with nothing but its ack (`emit('find', ack)`: Feathers would take the ack for the path
 * and never answer) a 400. Any other path that is not a service's is Feathers' own 404. Data over
 * REST's body limit is a 413, as over REST.
 */
function refusal(packet: unknown[], methods: ReadonlySet<unknown>) {
  if (!methods.has(packet[0])) return new NotFound('No such method').toJSON()
  if (packet.length < 2) return new BadRequest('A call names a service path first').toJSON()
  if (dataTooLarge(packet)) return new PayloadTooLarge().toJSON()
  return undefined
}

/**
 * Every call on this socket is answered, fails only with a public error, and is logged: a call
 * the `refusal` above or `MAX_CALLS_IN_FLIGHT` rules out is answered at once. A call sent without
 * an acknowledgement is counted (and logged) as well, and dropped where it would be refused.
 */
function publicErrors(socket: FeathersSocket, methods: ReadonlySet<unknown>) {
  let inFlight = 0
  socket.use((packet, next) => {
    const ack = typeof packet[packet.length - 1] === 'function' ? (packet.pop() as Ack) : undefined
    const logged = callLog(socket, packet)
    const refuse = (error: PublicError) => {
      logged(error)
      ack?.(error)
    }
    // The cap first: a flood past it costs nothing more, not even measuring its data.
    if (inFlight >= MAX_CALLS_IN_FLIGHT) {
      return refuse(new TooManyRequests('Too many calls in flight on this connection').toJSON())
    }
    const refused = refusal(packet, methods)
    if (refused) {
      return refuse(refused)
    }
    inFlight++
    packet.push(((error, result) => {
      inFlight--
      if (!error) {
        logged()
        return ack?.(error, result)
      }
      refuse(publicSocketError(error, socket.feathers.logger))
    }) as Ack)
    next()
  })
}

/**
 * Socket.io refuses a bad handshake request itself, before the app sees it, with a body of its own
 * (`{"code":0,"message":"Transport unknown"}`): the same refusal is sent as a Feathers error. That
 * engine.io writes it with one `res.end(<text>)` is not documented (test/unit/library-internals.test.ts).
 */
function feathersShapedRefusals(_req: unknown, res: ServerResponse, next: () => void) {
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse
  res.end = ((chunk?: unknown, ...rest: unknown[]) => {
    if (res.statusCode >= 400 && typeof chunk === 'string') {
      const message = 'Bad Socket.io request'
      chunk = JSON.stringify(
        (res.statusCode === 403 ? new Forbidden(message) : new BadRequest(message)).toJSON()
      )
    }
    return end(chunk, ...rest)
  }) as typeof res.end
  next()
}

/**
 * The client's address of a handshake request, by the rule that gives REST its `ctx.ip`: Koa's own
 * `request.ip` getter, so behind a trusted proxy (`app.proxy`, `app.maxIpsCount`, src/app.ts) it is
 * the last X-Forwarded-For entry, and otherwise the connection's address. `app.request` is the
 * documented prototype of every Koa request; that its `ip` needs no more of one than `app` and
 * `req` is not documented (test/unit/library-internals.test.ts checks it).
 */
function clientIp(app: Application, req: IncomingMessage): string {
  const request: { ip: string } = Object.assign(Object.create(app.request), { app, req })
  return request.ip
}

/**
 * Socket.io set-up: calls carry the client's address (`params.ip`) as HTTP calls do, and a logger
 * whose lines carry the connection's id (`params.logger`, `socket.id`); they fail only with
 * public errors, and each is logged. A new socket from an address that holds its cap of
 * unauthenticated sockets is refused (src/socket-caps.ts).
 */
export const socketSetup = (app: Application) => (io: Server) => {
  io.engine.use(feathersShapedRefusals)
  // Called on `setup`, once every service is registered.
  const methods = new Set<unknown>(
    Object.values(app.services).flatMap((service) => getServiceOptions(service).methods)
  )
  const caps = app.get('socketCaps')
  io.use((socket, next) => {
    const connection = socket as FeathersSocket
    const ip = clientIp(app, socket.request)
    connection.feathers.ip = ip
    if (!caps.admitGuest(connection.feathers, ip)) {
      next(caps.guestRefusal())
      // Its engine.io connection goes too, once the refusal is on its way.
      setImmediate(() => socket.conn.close())
      return
    }
    // Counted until its connection closes, also one Socket.io drops before it connects.
    const release = () => caps.release(connection.feathers)
    if (socket.conn.readyState === 'closed') release()
    else socket.conn.once('close', release)
    connection.feathers.logger = logger.child({ socket: { id: socket.id } })
    publicErrors(connection, methods)
    next()
  })
}
