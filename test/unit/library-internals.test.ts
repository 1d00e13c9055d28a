// What the code relies on of its libraries that they do not document (or do not export): one test
// each, asserting the very shape or behaviour relied on, so that an upgrade that changes it fails
// here, by name, rather than somewhere far from the cause. The code that relies on it names this
// file. Each describe is a library; each test says where it is relied on.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import http from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import net from 'node:net'
import { AuthenticationService, JWTStrategy } from '@feathersjs/authentication'
import { feathers } from '@feathersjs/feathers'
import type { HookContext, Params, RealTimeConnection } from '@feathersjs/feathers'
import { ERROR, KnexService, errorHandler } from '@feathersjs/knex'
import { VALIDATED } from '@feathersjs/adapter-commons'
import { koa, rest } from '@feathersjs/koa'
import type { Application as KoaApplication } from '@feathersjs/koa'
import { hooks as schemaHooks, resolve } from '@feathersjs/schema'
import socketio from '@feathersjs/socketio'
import { CombinedChannel, channels, routing } from '@feathersjs/transport-commons'
import { keys } from '@feathersjs/transport-commons/lib/channels'
import knex from 'knex'
import type { Knex } from 'knex'
import helmet from 'koa-helmet'
import pino from 'pino'
import RateLimiterMemory from 'rate-limiter-flexible/lib/RateLimiterMemory.js'
import RateLimiterRedis from 'rate-limiter-flexible/lib/RateLimiterRedis.js'
import RateLimiterRes from 'rate-limiter-flexible/lib/RateLimiterRes.js'
import { Server as SocketIoServer } from 'socket.io'
import { io as connectSocket } from 'socket.io-client'
import type { Socket as ClientSocket } from 'socket.io-client'
import { securityHeaders } from '../../src/http/security-headers'
import { testContext } from '../setup'

const portOf = (server: Server) => (server.address() as AddressInfo).port

/** The arguments of the client socket's next `event`. */
const nextOf = (socket: ClientSocket, event: string) =>
  new Promise<unknown[]>((resolve) => socket.once(event, (...args: unknown[]) => resolve(args)))

/** A service of records kept in memory, enough for Feathers to register and call it. */
class FakeThings {
  async find() {
    return []
  }
  async create(data: object | object[]) {
    return data
  }
}

describe('unit: library internals the code relies on', () => {
  describe('@feathersjs/transport-commons', () => {
    it('keeps the app’s channels by name under Symbol.for(…/channels), and drops one its last connection left (src/realtime/channels.ts)', () => {
      const CHANNELS = Symbol.for('@feathersjs/transport-commons/channels')
      assert.equal(keys.CHANNELS, CHANNELS)
      const app = feathers()
      app.configure(channels())
      const held = (app as { [CHANNELS]?: Record<string, unknown> })[CHANNELS]
      const connection = {}
      const channel = app.channel('fake-users/1').join(connection)
      assert.equal(held?.['fake-users/1'], channel)
      channel.leave(connection)
      assert.equal(Object.hasOwn(held ?? {}, 'fake-users/1'), false)
    })

    it('keeps the publishers of a service and of the app by event under Symbol.for(…/publishers) (src/realtime/event-sync.ts)', () => {
      const PUBLISHERS = Symbol.for('@feathersjs/transport-commons/publishers')
      assert.equal(keys.PUBLISHERS, PUBLISHERS)
      const app = feathers()
      app.configure(channels())
      app.use('fake-things', new FakeThings())
      const [forAll, forCreated, forApp] = [() => undefined, () => undefined, () => undefined]
      app.service('fake-things').publish(forAll)
      app.service('fake-things').publish('created', forCreated)
      app.publish(forApp)
      type WithPublishers = { [PUBLISHERS]: Record<PropertyKey, unknown> }
      const ofService = (app.service('fake-things') as unknown as WithPublishers)[PUBLISHERS]
      assert.deepEqual(Reflect.ownKeys(ofService), ['created', keys.ALL_EVENTS])
      assert.equal(ofService[keys.ALL_EVENTS], forAll)
      assert.equal(ofService.created, forCreated)
      assert.equal((app as unknown as WithPublishers)[PUBLISHERS][keys.ALL_EVENTS], forApp)
    })

    it('keeps each level of routes as { children, placeholders }, children in a plain object, and names a record’s id `__id` (src/http/routes-without-prototype.ts, src/http/methods.ts)', () => {
      const app = feathers()
      app.configure(routing())
      app.use('fake-things', new FakeThings())
      const level = app.routes.root.children['fake-things']
      assert.equal(Object.getPrototypeOf(app.routes.root.children), Object.prototype)
      assert.deepEqual(Object.keys(level.children), [])
      assert.deepEqual(
        level.placeholders.map(({ name }) => name),
        ['__id']
      )
      assert.deepEqual(app.lookup('fake-things/7').params, { __id: '7' })
      // What the fix is for: a name of Object.prototype finds an inherited property, and the lookup throws.
      assert.throws(() => app.lookup('__proto__'), TypeError)
    })
  })

  describe('@feathersjs/feathers', () => {
    it('sends every service event through the `emit` of the service its mixins were given, once per record, as (event, record, context) (src/realtime/event-sync.ts)', async () => {
      const app = feathers()
      const emitted: unknown[][] = []
      let given: unknown
      app.mixins.push((service) => {
        given = service
        const { emit } = service
        service.emit = function (...args: unknown[]) {
          emitted.push(args)
          return emit.apply(this, args as Parameters<typeof emit>)
        }
      })
      app.use('fake-things', new FakeThings())
      assert.equal(app.service('fake-things'), given)
      await app.service('fake-things').create([{ n: 1 }, { n: 2 }])
      assert.deepEqual(
        emitted.map(([event, record]) => [event, record]),
        [
          ['created', { n: 1 }],
          ['created', { n: 2 }]
        ]
      )
      const context = emitted[0][2] as HookContext
      assert.equal(context.path, 'fake-things')
      assert.equal(context.method, 'create')
    })
  })

  describe('@feathersjs/koa, @feathersjs/socketio and socket.io', () => {
    let app: KoaApplication
    let server: Server
    let client: ClientSocket | undefined
    const params: Params[] = []

    before(async () => {
      app = koa(feathers())
      // The call's context as the REST transport leaves it, read after the call.
      app.use(async (ctx, next) => {
        ctx.feathers = { ...ctx.feathers, requestId: 'fake-request' }
        await next()
        params.push((ctx as { hook?: HookContext }).hook?.params ?? {})
      })
      app.configure(rest())
      app.configure(socketio())
      app.use('fake-things', new FakeThings())
      server = await app.listen(0)
    })

    afterEach(() => {
      client?.disconnect()
      client = undefined
    })

    after(async () => {
      await app.teardown()
    })

    /** A Socket.io client connected to the app, and its connection on the server. */
    async function connected() {
      const connection = once(app, 'connection') as Promise<[RealTimeConnection]>
      client = connectSocket(`http://127.0.0.1:${portOf(server)}`, { transports: ['websocket'] })
      await nextOf(client, 'connect')
      return (await connection)[0]
    }

    it('the REST transport keeps the call’s context as `ctx.hook` (src/http/request-log.ts)', async () => {
      const reply = await fetch(`http://127.0.0.1:${portOf(server)}/fake-things`)
      assert.equal(reply.status, 200)
      assert.equal(params.at(-1)?.requestId, 'fake-request')
    })

    it('the app’s `publish` event goes to each socket of the channel as `<path> <event>` with `context.dispatch` (src/realtime/channels.ts sendToAuthenticated)', async () => {
      const connection = await connected()
      const channel = app.channel('fake-watchers').join(connection)
      const payload = { reason: 'events-lost' }
      const received = nextOf(client!, 'fake-resync')
      app.emit(
        'publish',
        'fake-resync',
        new CombinedChannel([channel]),
        { path: '', dispatch: payload },
        payload
      )
      assert.deepEqual(await received, [payload])
    })

    it('the app’s `disconnect` event for a connection closes its socket (src/auth/sessions/registry.ts, src/realtime/channels.ts)', async () => {
      const connection = await connected()
      const closed = nextOf(client!, 'disconnect')
      app.emit('disconnect', connection)
      assert.equal((await closed)[0], 'io server disconnect')
    })

    it('teardown closes `app.server` when it is set, and nothing when it is not (src/server.ts)', async () => {
      const other = koa(feathers())
      let closes = 0
      other.server = { close: (done: () => void) => (closes++, done()) } as unknown as Server
      await other.teardown()
      assert.equal(closes, 1)
      other.server = undefined as unknown as Server
      await other.teardown()
      assert.equal(closes, 1)
    })

    it('Koa’s `request.ip` needs no more of a request than `app` and `req` (src/realtime/socket.ts clientIp)', () => {
      const other = koa(feathers())
      const req = {
        headers: { 'x-forwarded-for': '203.0.113.1, 198.51.100.2' },
        socket: { remoteAddress: '192.0.2.9' }
      } as unknown as IncomingMessage
      const ipOf = () =>
        (Object.assign(Object.create(other.request), { app: other, req }) as { ip: string }).ip
      assert.equal(ipOf(), '192.0.2.9')
      other.proxy = true
      other.maxIpsCount = 1
      assert.equal(ipOf(), '198.51.100.2')
    })
  })

  describe('socket.io (engine.io, ws): how a bad handshake is refused', () => {
    let server: Server
    let upgradeListeners: number
    const ended: Array<{ status: number; chunk: unknown }> = []
    const firstWritten: unknown[] = []

    before(async () => {
      server = http.createServer()
      const io = new SocketIoServer(server)
      io.engine.use((_req: IncomingMessage, res: ServerResponse, next: () => void) => {
        const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse
        res.end = ((chunk?: unknown, ...rest: unknown[]) => {
          ended.push({ status: res.statusCode, chunk })
          return end(chunk, ...rest)
        }) as typeof res.end
        next()
      })
      const engine = server.listeners('upgrade') as Array<(...args: unknown[]) => void>
      upgradeListeners = engine.length
      server.removeAllListeners('upgrade')
      server.on('upgrade', (req: IncomingMessage, socket: net.Socket, head: Buffer) => {
        const { write, end } = socket
        const record = (chunk: unknown) => {
          firstWritten.push(chunk)
          socket.write = write
          socket.end = end
        }
        socket.write = ((chunk: unknown, ...rest: unknown[]) => {
          record(chunk)
          return (write as (...args: unknown[]) => boolean).call(socket, chunk, ...rest)
        }) as typeof socket.write
        socket.end = ((chunk?: unknown, ...rest: unknown[]) => {
          record(chunk)
          return (end as (...args: unknown[]) => net.Socket).call(socket, chunk, ...rest)
        }) as typeof socket.end
        engine.forEach((listener) => listener.call(server, req, socket, head))
      })
      server.listen(0, '127.0.0.1')
      await once(server, 'listening')
    })

    after(() => new Promise((done) => server.close(done)))

    /** Sends `request` on a connection of its own and waits until the server closes it. */
    async function exchange(request: string) {
      const socket = net.connect(portOf(server), '127.0.0.1')
      socket.on('data', () => undefined)
      socket.write(request)
      await once(socket, 'close')
    }

    it('engine.io answers a bad request with one `res.end(<text>)` at a status of 400 (src/realtime/socket.ts feathersShapedRefusals)', async () => {
      const reply = await fetch(`http://127.0.0.1:${portOf(server)}/socket.io/?EIO=4&transport=nope`)
      assert.equal(reply.status, 400)
      assert.equal(ended.length, 1)
      assert.equal(ended[0].status, 400)
      assert.equal(typeof ended[0].chunk, 'string')
    })

    it('Socket.io serves upgrades through one `upgrade` listener of the server; engine.io and ws refuse a handshake by writing `HTTP/1.1 400 …` on the socket first (src/http/upgrades.ts)', async () => {
      assert.equal(upgradeListeners, 1)
      const key = 'dGhlIHNhbXBsZSBub25jZQ=='
      // engine.io: an unknown transport.
      await exchange(
        `GET /socket.io/?EIO=4&transport=nope HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\n\r\n`
      )
      // ws: no key.
      await exchange(
        'GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n'
      )
      assert.equal(firstWritten.length, 2)
      for (const chunk of firstWritten) {
        const text =
          typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('latin1') : ''
        assert.match(text, /^HTTP\/1\.1 400 /)
      }
    })
  })

  describe('koa-helmet and helmet', () => {
    it('koa-helmet reads only `ctx.req` and `ctx.res`, and helmet calls only `setHeader` and `removeHeader` (src/http/security-headers.ts)', async () => {
      const read = new Set<PropertyKey>()
      const called = new Set<PropertyKey>()
      const res = new Proxy(
        { setHeader: () => undefined, removeHeader: () => undefined },
        { get: (target, key) => (called.add(key), Reflect.get(target, key)) }
      )
      const ctx = new Proxy(
        { req: {}, res },
        { get: (target, key) => (read.add(key), Reflect.get(target, key)) }
      )
      await helmet()(ctx as unknown as Parameters<ReturnType<typeof helmet>>[0], async () => undefined)
      assert.deepEqual([...read].sort(), ['req', 'res'])
      assert.deepEqual([...called].sort(), ['removeHeader', 'setHeader'])
    })

    it('so the headers read that way are those a Koa response gets from `helmet()`', async () => {
      const app = koa(feathers())
      app.use(helmet())
      app.use(async (ctx) => {
        ctx.body = 'ok'
      })
      const server = await app.listen(0)
      try {
        const reply = await fetch(`http://127.0.0.1:${portOf(server)}/`)
        const expected = await securityHeaders()
        assert.ok(expected.length >= 5)
        for (const [name, value] of expected) {
          assert.equal(reply.headers.get(name), value, name)
        }
      } finally {
        await app.teardown()
      }
    })
  })

  describe('@feathersjs/knex and @feathersjs/adapter-commons', () => {
    const Model = knex({ client: 'pg' })
    after(() => Model.destroy())

    it('the error of `errorHandler` keeps the PostgreSQL error under `ERROR` (src/errors/index.ts, src/hooks/reference-checks.ts)', () => {
      const original = Object.assign(new Error('insert or update violates foreign key constraint'), {
        code: '23503',
        severity: 'ERROR',
        routine: 'ri_ReportViolation',
        constraint: 'fake_things_owner_id_foreign'
      })
      assert.throws(
        () => errorHandler(original),
        (error: { [ERROR]?: unknown }) => error[ERROR] === original
      )
    })

    it('`_find` builds its query with `this.createQuery(params)` (src/declarative/runtime/record-service.ts)', async () => {
      const built = new Error('createQuery was called')
      class Probe extends KnexService {
        createQuery(): never {
          throw built
        }
      }
      const service = new Probe({ Model, name: 'fake_things' })
      await assert.rejects(service._find({ paginate: false }), built)
    })

    it('a query marked `VALIDATED` passes `sanitizeQuery` as it is, and `resolveQuery` drops the mark (src/hooks/resolve-query.ts)', async () => {
      const service = new KnexService({ Model, name: 'fake_things' })
      const query = { $unknownOperator: 1 }
      Object.defineProperty(query, VALIDATED, { value: true })
      assert.equal(await service.sanitizeQuery({ query }), query)

      const context = { params: { query } } as unknown as HookContext
      const scope = resolve<Record<string, unknown>, HookContext>({ fakeOwner: async () => 'fake-user' })
      await schemaHooks.resolveQuery(scope)(context)
      assert.equal(context.params.query?.fakeOwner, 'fake-user')
      assert.equal((context.params.query as { [VALIDATED]?: unknown })[VALIDATED], undefined)
    })
  })

  describe('@feathersjs/authentication', () => {
    it('JWTStrategy takes `authentication` and the entity off a connection on `disconnect` (src/auth/sessions/registry.ts)', async () => {
      const app = feathers()
      app.set('authentication', {
        secret: 'x'.repeat(32),
        entity: 'user',
        service: 'fake-users',
        authStrategies: ['jwt']
      })
      const authentication = new AuthenticationService(app)
      authentication.register('jwt', new JWTStrategy())
      const connection: RealTimeConnection = {
        authentication: { strategy: 'jwt', accessToken: 'x' },
        user: {}
      }
      await authentication.handleConnection('disconnect', connection)
      assert.deepEqual(connection, {})
    })
  })

  describe('knex', () => {
    it('its PostgreSQL dialect at knex/lib/dialects/postgres runs each statement through `_query(connection, { sql, options })`, and `options.name` reaches pg as the prepared statement’s name (src/database/knex.ts)', async () => {
      type Query = { sql: string; options?: Record<string, unknown> }
      type Dialect = new (config: Knex.Config) => Knex.Client & {
        _query(connection: unknown, query: Query): Promise<unknown>
      }
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const PostgresClient: Dialect = require('knex/lib/dialects/postgres')
      const sql = 'select 41 + 1 as answer'
      const seen: Query[] = []
      class Named extends PostgresClient {
        _query(connection: unknown, query: Query) {
          seen.push(query)
          if (query.sql === sql) query.options = { ...query.options, name: 'fake_named_statement' }
          return super._query(connection, query)
        }
      }
      const db = knex({
        client: Named as unknown as typeof Knex.Client,
        connection: testContext().database.connectionString,
        pool: { min: 0, max: 1 }
      })
      try {
        assert.deepEqual((await db.raw(sql)).rows, [{ answer: 42 }])
        const { rows } = await db.raw('select name, statement from pg_prepared_statements')
        assert.deepEqual(rows, [{ name: 'fake_named_statement', statement: sql }])
        assert.deepEqual(
          seen.map(({ sql }) => sql),
          [sql, 'select name, statement from pg_prepared_statements']
        )
      } finally {
        await db.destroy()
      }
    })
  })

  describe('rate-limiter-flexible', () => {
    it('the classes loaded from its lib/ files are those its entry exports (src/auth/login-throttle.ts, src/app.ts)', () => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const entry: typeof import('rate-limiter-flexible') = require('rate-limiter-flexible')
      assert.equal(RateLimiterMemory, entry.RateLimiterMemory)
      assert.equal(RateLimiterRedis, entry.RateLimiterRedis)
      assert.equal(RateLimiterRes, entry.RateLimiterRes)
    })
  })

  describe('pino', () => {
    it('a child logger inherits its methods from its parent, so a method set on the root serves every descendant (src/logger.ts)', () => {
      const root = pino({ enabled: false })
      const child = root.child({})
      assert.equal(Object.getPrototypeOf(child), root)
      const own = root.child.bind(root)
      Object.assign(root, { child: own })
      assert.equal(child.child, own)
      assert.equal(child.child({}).child, own)
    })
  })
})
