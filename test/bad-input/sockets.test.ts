import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Socket } from 'socket.io-client'
import { AUTHENTICATED_CHANNEL, userChannel } from '../../src/realtime/channels'
import { rawSocket } from '../sockets'
import { countRows, signUp, testDatabase } from '../helpers'
import type { TestUser } from '../helpers'
import { testContext } from '../setup'
import { assertSocketError, call, eachRow, socketPool } from './support'

// What a socket may send that is no proper call: events that name no method, a method with
// nothing but its acknowledgement, a burst of calls, a disconnect in the middle of a login. Every
// call is answered, and the socket (and the others) go on.

interface Event {
  name: string
  /** The event and its arguments before the acknowledgement. */
  args: unknown[]
  code: number
}

const METHODS_WITHOUT_ARGUMENTS: Event[] = ['find', 'create', 'get'].flatMap((method) => [
  { name: `${method} with nothing but its acknowledgement`, args: [method], code: 400 },
  { name: `${method} with an object for its path`, args: [method, { path: 'patients' }], code: 404 }
])

const EVENTS: Event[] = [
  { name: 'an event that names no method', args: ['nope', 'patients', {}], code: 404 },
  { name: '__proto__ as the event', args: ['__proto__', 'patients', {}], code: 404 },
  { name: 'an `error` event, which Socket.io would swallow', args: ['error'], code: 404 },
  { name: 'an `error` event naming a service', args: ['error', 'patients'], code: 404 },
  ...METHODS_WITHOUT_ARGUMENTS
]

describe('bad input: sockets', () => {
  let alice: TestUser
  const sockets = socketPool()
  let anonymous: Socket
  let asAlice: Socket

  before(async () => {
    alice = await signUp('Alice')
    anonymous = await sockets.anonymous()
    asAlice = await sockets.as(alice)
  })

  describe('anonymous: every call answered', () => {
    eachRow(EVENTS, async ({ args, code }) => {
      assertSocketError(await call(anonymous, ...args), code)
    })
  })

  describe('authenticated: every call answered', () => {
    eachRow(EVENTS, async ({ args, code }) => {
      assertSocketError(await call(asAlice, ...args), code)
    })
  })

  it('after all that, both sockets answer as before', async () => {
    assertSocketError(await call(anonymous, 'find', 'doctors', {}), 401)
    assert.equal((await call(asAlice, 'find', 'doctors', { $limit: 1 })).error, null)
  })

  it('a burst of calls on one socket: those beyond the cap are a 429 at once, and the socket and others go on', async () => {
    const [flooding, other] = [await sockets.as(alice), await sockets.as(alice)]
    const burst = Array.from({ length: 200 }, () => call(flooding, 'find', 'patients', { $limit: 100 }))
    const meanwhile = call(other, 'find', 'patients', { $limit: 100 })
    const answers = await Promise.all(burst)
    const refused = answers.filter(({ error }) => error)
    assert.ok(refused.length > 0, 'no call was refused')
    refused.forEach((answer) => assertSocketError(answer, 429))
    assert.ok(answers.length - refused.length >= 16, `only ${answers.length - refused.length} answered`)
    assert.equal((await meanwhile).error, null)
    assert.equal((await call(flooding, 'find', 'patients', { $limit: 100 })).error, null)
  })

  it('a socket that disconnects while its login is under way joins no channel and is not tracked', async () => {
    const bob = await signUp('Bob')
    const { app } = testContext().server
    const socket: Socket = await rawSocket()
    // The socket goes away once its login has begun (emitting and disconnecting at once from the
    // client would have the server drop the call unread).
    const serverSocket = (app as any).io.sockets.sockets.get(socket.id)
    serverSocket.use((_packet: unknown, next: () => void) => {
      next()
      setImmediate(() => serverSocket.disconnect(true))
    })
    socket.emit('create', 'authentication', { strategy: 'local', email: bob.email, password: bob.password })
    // The login goes on without its socket: wait for its session, then for its `login` listeners.
    for (let waited = 0; (await countRows('sessions', { userId: bob.id })) < 2; waited += 20) {
      assert.ok(waited < 3000, 'the login did not happen')
      await sleep(20)
    }
    await sleep(100)
    assert.equal(socket.connected, false)
    socket.close()
    const connections = app.channel(userChannel(bob.id), AUTHENTICATED_CHANNEL).connections
    assert.equal(connections.filter((connection) => connection.user?.id === bob.id).length, 0)
    const registry = (app.service('authentication') as any).registry
    const sessions = await testDatabase()('sessions').where({ userId: bob.id }).pluck('id')
    assert.equal(sessions.filter((id: string) => registry.connections.has(id)).length, 0)
  })
})
