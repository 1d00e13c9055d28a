// The typed client (src/client/index.ts) keeps itself logged in: against a server whose access tokens
// live 3 seconds, over REST and over a socket.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { MemoryStorage } from '@feathersjs/authentication-client'
import rest from '@feathersjs/rest-client'
import socketio from '@feathersjs/socketio-client'
import { io } from 'socket.io-client'
import { SessionAuthenticationClient, createClient } from '../src/client'
import type { ClientApplication } from '../src/client'
import type { SessionClientOptions } from '../src/client/sessions'
import { startServer } from '../src/server'
import type { RunningServer } from '../src/server'
import { testContext } from './setup'
import { http, logIn as logInOver, signUp, testDatabase, validPatient } from './helpers'
import type { TestUser } from './helpers'
import { TestSocket } from './sockets'

const LIFETIME_MS = 3000

type Transport = 'REST' | 'socket'

describe('the typed client keeps its session', function () {
  this.timeout(30_000)
  let server: RunningServer
  const clients: ClientApplication[] = []
  const sockets: TestSocket[] = []

  before(async () => {
    const { settings } = testContext()
    server = await startServer({
      ...settings,
      port: 0,
      authentication: {
        ...settings.authentication,
        jwtOptions: { ...settings.authentication.jwtOptions, expiresIn: '3s' }
      }
    })
  })

  after(() => server?.stop())

  afterEach(async () => {
    for (const client of clients.splice(0)) {
      await (client.authentication as InstanceType<typeof SessionAuthenticationClient>).forgetSession()
    }
    sockets.splice(0).forEach((socket) => socket.close())
  })

  /** A client of the 3 s server; its socket (if any) is a TestSocket that records events. */
  function clientOver(
    transport: Transport,
    options: Partial<SessionClientOptions> = {},
    storage = new MemoryStorage()
  ) {
    let socket: TestSocket | undefined
    let client: ClientApplication
    if (transport === 'REST') {
      client = createClient(rest(server.url).fetch(fetch) as any, { storage, ...options })
    } else {
      const connection = io(server.url, { transports: ['websocket'], forceNew: true })
      client = createClient(socketio(connection), { storage, ...options })
      socket = new TestSocket(connection, client)
      sockets.push(socket)
    }
    clients.push(client)
    return { client, socket, storage }
  }

  const logIn = (client: ClientApplication, user: TestUser) =>
    client.authenticate({ strategy: 'local', email: user.email, password: user.password })

  /** The session's records in the audit trail, oldest first. */
  const trailOf = async (sessionId: string) =>
    (await testDatabase()('audit')
      .where({ recordId: sessionId })
      .orderBy('createdAt')
      .orderBy('id')) as Array<{
      action: string
      createdAt: string
    }>

  for (const transport of ['REST', 'socket'] as const) {
    describe(transport, () => {
      it('renews its 3 s access token before it expires and goes on working past the expiry', async () => {
        const alice = await signUp('Alice', server.url)
        const { client, socket } = clientOver(transport)
        const login = await logIn(client, alice)
        const sessionId = login.authentication.payload.sid

        await sleep(LIFETIME_MS + 1500)
        assert.equal((await client.service('users').get(alice.id)).id, alice.id)
        const trail = await trailOf(sessionId)
        assert.deepEqual(
          trail.map(({ action }) => action),
          ['login', 'refresh', 'refresh']
        )
        // The first renewal came before the first token expired.
        const renewedAfter = Date.parse(trail[1].createdAt) - Date.parse(trail[0].createdAt)
        assert.ok(renewedAfter < LIFETIME_MS, `renewed after ${renewedAfter} ms`)
        assert.notEqual(await client.authentication.getAccessToken(), login.accessToken)
        if (socket) {
          // Never logged off: the socket was authenticated with each new token in time.
          assert.equal(socket.socket.connected, true)
          const patient = await http('POST', '/api/patients', {
            token: (await client.authentication.getAccessToken())!,
            body: validPatient(),
            baseUrl: server.url
          })
          assert.deepEqual(await socket.delivered('patients created'), patient.body)
        }
      })

      it('renews on a 401 and makes the call once more; concurrent calls share one renewal', async () => {
        const alice = await signUp('Alice', server.url)
        const { client, socket } = clientOver(transport, { renewAt: 0 })
        const login = await logIn(client, alice)

        await sleep(LIFETIME_MS + 500)
        // Over the socket, the server has logged it off at the expiry; the client connects again.
        const users = await Promise.all([1, 2, 3, 4].map(() => client.service('users').get(alice.id)))
        assert.deepEqual(
          users.map(({ id }) => id),
          [alice.id, alice.id, alice.id, alice.id]
        )
        assert.deepEqual(
          (await trailOf(login.authentication.payload.sid)).map(({ action }) => action),
          ['login', 'refresh']
        )
        if (socket) {
          const patient = await client.service('patients').create(validPatient())
          assert.deepEqual(await socket.delivered('patients created'), patient)
        }
      })

      it('logout() ends the session: its access and refresh tokens are refused', async () => {
        const alice = await signUp('Alice', server.url)
        const { client } = clientOver(transport)
        const login = await logIn(client, alice)

        await client.logout()

        const refused = await http('GET', `/users/${alice.id}`, {
          token: login.accessToken,
          baseUrl: server.url
        })
        assert.equal(refused.status, 401)
        const refresh = await http('POST', '/api/auth/refresh', {
          body: { refreshToken: login.refreshToken },
          baseUrl: server.url
        })
        assert.equal(refresh.status, 401)
        assert.equal(await client.authentication.getAccessToken(), null)
        assert.deepEqual(
          (await trailOf(login.authentication.payload.sid)).map(({ action }) => action),
          ['login', 'logout']
        )
      })

      it('when its session is ended elsewhere, it is logged out and its calls answer 401', async () => {
        const alice = await signUp('Alice', server.url)
        const { client } = clientOver(transport)
        const login = await logIn(client, alice)
        const ended = await http('DELETE', `/api/auth/sessions/${login.authentication.payload.sid}`, {
          token: alice.token,
          baseUrl: server.url
        })
        assert.equal(ended.status, 200)

        await assert.rejects(client.service('users').get(alice.id), { code: 401 })
        assert.equal(client.authentication.authenticated, false)
        assert.equal(await client.authentication.getAccessToken(), null)
      })

      it('reAuthenticate() with an expired access token in its storage goes on with the refresh token', async () => {
        const alice = await signUp('Alice', server.url)
        const first = clientOver(transport, { renewAt: 0 })
        await logIn(first.client, alice)
        first.socket?.close() // the page is gone
        await sleep(LIFETIME_MS + 500)

        // As a page reload would: a new client on the same storage.
        const { client } = clientOver(transport, {}, first.storage)
        const result = await client.reAuthenticate()
        assert.equal(result.user.id, alice.id)
        assert.equal(result.authentication.strategy, 'refresh')
        assert.equal((await client.service('users').get(alice.id)).id, alice.id)
      })
    })
  }

  it('examples/patients-feed.ts goes on printing new patients past the expiry of its access token', async () => {
    const alice = await signUp('Alice', server.url)
    const feed = spawn(process.execPath, ['-r', 'tsx/cjs', path.join('examples', 'patients-feed.ts')], {
      cwd: path.join(__dirname, '..'),
      env: { ...process.env, API_URL: server.url, EMAIL: alice.email, PASSWORD: alice.password }
    })
    let output = ''
    feed.stdout.on('data', (chunk) => (output += chunk))
    feed.stderr.on('data', (chunk) => (output += chunk))
    const printed = async (text: string) => {
      const deadline = Date.now() + 10_000
      while (!output.includes(text)) {
        assert.ok(Date.now() < deadline, `the example did not print ${JSON.stringify(text)}: ${output}`)
        await sleep(50)
      }
    }
    try {
      await printed('waiting for your patients')
      const create = async (name: string) => {
        const { token } = await logInOver(alice, server.url)
        const reply = await http('POST', '/api/patients', {
          token,
          body: validPatient({ name, age: 37, disease: 'Asthma' }),
          baseUrl: server.url
        })
        assert.equal(reply.status, 201)
      }
      await create('Before Expiry')
      await printed('New patient Before Expiry (37), Asthma')
      await sleep(2 * LIFETIME_MS)
      await create('After Expiry')
      await printed('New patient After Expiry (37), Asthma')
      assert.doesNotMatch(output, /error|disconnect/i)
    } finally {
      feed.kill()
    }
  })
})
