// The contract's Sessions, sentence by sentence, over REST and over sockets, on one instance and on
// two sharing Redis: every sentence is exercised through each transport, acting on instance A and
// checking on instance B (A and B are the same server on one instance).
import assert from 'node:assert/strict'
import { createHash, randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Socket } from 'socket.io-client'
import { userChannel } from '../src/realtime/channels'
import { startServer } from '../src/server'
import type { RunningServer } from '../src/server'
import { testContext } from './setup'
import {
  ISO_DATE,
  UUID,
  baseUrl,
  http,
  logIn,
  signUp,
  testDatabase,
  validDoctor,
  validPatient
} from './helpers'
import type { TestLogin, TestUser } from './helpers'
import { startRedisProxy } from './redis-proxy'
import { closeSockets, connectSocket, rawSocket } from './sockets'

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
/** The contract's bound: an ended session's tokens are refused on every instance within this. */
const WITHIN_MS = 1000
const REFRESH_TOKEN = /^[\w-]{43}$/

interface Answer {
  status: number
  body: any
}

/**
 * A socket call, answered as REST would: the error's code, else 201 for a create and 200. A call
 * cut off by the server closing the socket (its session ended meanwhile) answers status 0.
 */
function emit(socket: Socket, method: string, ...args: unknown[]): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer to ${method} ${String(args[0])}`)), 5000)
    const closed = () => {
      clearTimeout(timer)
      resolve({ status: 0, body: 'the server closed the socket' })
    }
    socket.once('disconnect', closed)
    socket.emit(method, ...args, (error: any, result: any) => {
      clearTimeout(timer)
      socket.off('disconnect', closed)
      resolve(
        error
          ? { status: error.code, body: error }
          : { status: method === 'create' ? 201 : 200, body: result }
      )
    })
  })
}

/** Each route of the Sessions section, as one transport makes the call. */
interface Api {
  name: string
  login(user: TestUser, url: string): Promise<Answer>
  refresh(refreshToken: unknown, url: string): Promise<Answer>
  logout(accessToken: string, url: string): Promise<Answer>
  sessions(accessToken: string, url: string, query?: string): Promise<Answer>
  endSession(accessToken: string, id: string, url: string): Promise<Answer>
  changePassword(user: TestUser, accessToken: string, password: string, url: string): Promise<Answer>
  removeUser(user: TestUser, accessToken: string, url: string): Promise<Answer>
  /** An authenticated call with `accessToken`: 200, or 401 once it is refused. */
  whoAmI(user: TestUser, accessToken: string, url: string): Promise<number>
}

const rest: Api = {
  name: 'REST',
  login: (user, url) =>
    http('POST', '/api/auth/login', { body: { email: user.email, password: user.password }, baseUrl: url }),
  refresh: (refreshToken, url) => http('POST', '/api/auth/refresh', { body: { refreshToken }, baseUrl: url }),
  logout: (token, url) => http('POST', '/api/auth/logout', { token, baseUrl: url }),
  sessions: (token, url, query = '') => http('GET', `/api/auth/sessions${query}`, { token, baseUrl: url }),
  endSession: (token, id, url) => http('DELETE', `/api/auth/sessions/${id}`, { token, baseUrl: url }),
  changePassword: (user, token, password, url) =>
    http('PATCH', `/users/${user.id}`, { token, body: { password }, baseUrl: url }),
  removeUser: (user, token, url) => http('DELETE', `/users/${user.id}`, { token, baseUrl: url }),
  whoAmI: async (user, token, url) => (await http('GET', `/users/${user.id}`, { token, baseUrl: url })).status
}

/** Runs `calls` on a fresh socket to `url`, logged in with `accessToken` first when given. */
async function onSocket<T>(
  url: string,
  accessToken: string | undefined,
  calls: (socket: Socket) => Promise<T>
) {
  const socket = await rawSocket(url)
  try {
    if (accessToken) {
      const login = await emit(socket, 'create', 'authentication', { strategy: 'jwt', accessToken })
      if (login.status !== 201) return login as T & Answer
    }
    return await calls(socket)
  } finally {
    socket.close()
  }
}

const sockets: Api = {
  name: 'socket',
  login: (user, url) =>
    onSocket(url, undefined, (socket) =>
      emit(socket, 'create', 'authentication', {
        strategy: 'local',
        email: user.email,
        password: user.password
      })
    ),
  refresh: (refreshToken, url) =>
    onSocket(url, undefined, (socket) =>
      emit(socket, 'create', 'authentication', { strategy: 'refresh', refreshToken })
    ),
  // What the Feathers client's logout() sends on its socket.
  logout: (token, url) =>
    onSocket(url, token, (socket) => emit(socket, 'remove', 'authentication', null, {})),
  sessions: (token, url, query = '') =>
    onSocket(url, token, (socket) =>
      emit(socket, 'find', 'sessions', Object.fromEntries(new URLSearchParams(query.replace(/^\?/, ''))))
    ),
  endSession: (token, id, url) =>
    onSocket(url, token, (socket) => emit(socket, 'remove', 'sessions', id, {})),
  changePassword: (user, token, password, url) =>
    onSocket(url, token, (socket) => emit(socket, 'patch', 'users', user.id, { password }, {})),
  removeUser: (user, token, url) =>
    onSocket(url, token, (socket) => emit(socket, 'remove', 'users', user.id, {})),
  whoAmI: async (user, token, url) =>
    (await onSocket(url, token, (socket) => emit(socket, 'get', 'users', user.id, {}))).status
}

const tokensOf = (answer: Answer): TestLogin => ({
  token: answer.body.accessToken,
  refreshToken: answer.body.refreshToken,
  sessionId: answer.body.authentication.payload.sid
})

/**
 * Asks `url` with `accessToken` until it is refused; fails if that takes longer than the contract's
 * second, and answers how long it took (ms, from `since`).
 */
async function refusedWithin(api: Api, user: TestUser, accessToken: string, url: string, since: number) {
  for (;;) {
    if ((await api.whoAmI(user, accessToken, url)) === 401) {
      return performance.now() - since
    }
    const elapsed = performance.now() - since
    assert.ok(elapsed < WITHIN_MS, `still accepted on ${url} after ${Math.round(elapsed)} ms`)
    await sleep(10)
  }
}

/** Waits until no connection of `user` is left in any channel of `server`: at most the contract's second. */
async function loggedOffWithin(server: RunningServer, user: TestUser, since: number) {
  const { app } = server
  while (app.channels.includes(userChannel(user.id)) && app.channel(userChannel(user.id)).length > 0) {
    const elapsed = performance.now() - since
    assert.ok(elapsed < WITHIN_MS, `a socket still in its user's channel after ${Math.round(elapsed)} ms`)
    await sleep(10)
  }
}

/** The audit records of a session, oldest first: [action, service]. */
async function auditOfSession(sessionId: string) {
  const rows = await testDatabase()('audit').where({ recordId: sessionId }).orderBy('createdAt').orderBy('id')
  return rows.map((row: any) => [row.action, row.service])
}

/**
 * `session` has ended by `end` (`logout` or `session-ended`): its access token is refused on `url`
 * within the contract's second, its refresh token too, and its trail is its login, then its end.
 */
async function assertEnded(api: Api, user: TestUser, session: TestLogin, url: string, end: string) {
  await refusedWithin(api, user, session.token, url, performance.now())
  assert.equal((await api.refresh(session.refreshToken, url)).status, 401)
  assert.deepEqual(await auditOfSession(session.sessionId), [
    ['login', 'authentication'],
    [end, end === 'logout' ? 'authentication' : 'sessions']
  ])
}

describe('sessions', function () {
  this.timeout(60_000)
  let pair: RunningServer[] = []

  before(async () => {
    const settings = { ...testContext().settings, port: 0, redisUrl: REDIS_URL }
    pair = await Promise.all([startServer(settings), startServer(settings)])
  })

  after(async () => {
    closeSockets()
    await Promise.all(pair.map((server) => server.stop()))
  })

  afterEach(closeSockets)

  const topologies: Array<[string, () => [string, string]]> = [
    ['one instance', () => [baseUrl(), baseUrl()]],
    ['two instances', () => [pair[0].url, pair[1].url]]
  ]

  for (const [topology, instances] of topologies) {
    for (const api of [rest, sockets]) {
      describe(`${api.name}, ${topology}`, () => {
        let a: string
        let b: string

        before(() => {
          ;[a, b] = instances()
        })

        it('a login answers an access token (a JWT naming its session) and a refresh token', async () => {
          const alice = await signUp('Alice', a)
          const reply = await api.login(alice, a)
          assert.equal(reply.status, 201, JSON.stringify(reply.body))
          assert.deepEqual(Object.keys(reply.body).sort(), [
            'accessToken',
            'authentication',
            'refreshToken',
            'user'
          ])
          assert.match(reply.body.refreshToken, REFRESH_TOKEN)
          const { payload } = reply.body.authentication
          assert.match(payload.sid, UUID)
          assert.notEqual(payload.sid, alice.sessionId)
          assert.equal(payload.exp - payload.iat, 15 * 60)
          assert.equal(await api.whoAmI(alice, reply.body.accessToken, b), 200)
          assert.deepEqual(await auditOfSession(payload.sid), [['login', 'authentication']])

          const failed = await api.login({ ...alice, password: 'not the password' }, a)
          assert.equal(failed.status, 401)
          const [latest] = await testDatabase()('audit')
            .where({ userId: alice.id })
            .orderBy('createdAt', 'desc')
            .orderBy('id', 'desc')
            .limit(1)
          assert.deepEqual(
            [latest.action, latest.service, latest.recordId],
            ['login-failed', 'authentication', null]
          )
        })

        it('a refresh answers 201 with new tokens of the same session and spends the refresh token', async () => {
          const alice = await signUp('Alice', a)
          await sleep(5) // so that the refresh's time differs from the login's
          const reply = await api.refresh(alice.refreshToken, a)
          assert.equal(reply.status, 201, JSON.stringify(reply.body))
          assert.deepEqual(Object.keys(reply.body).sort(), [
            'accessToken',
            'authentication',
            'refreshToken',
            'user'
          ])
          assert.equal(reply.body.user.id, alice.id)
          assert.equal(reply.body.authentication.strategy, 'refresh')
          const renewed = tokensOf(reply)
          assert.equal(renewed.sessionId, alice.sessionId)
          // The session's lastUsedAt is its last login or refresh.
          const [session] = (await api.sessions(renewed.token, b)).body.data
          assert.equal(session.id, alice.sessionId)
          assert.ok(session.lastUsedAt > session.createdAt, JSON.stringify(session))
          assert.notEqual(renewed.token, alice.token)
          assert.notEqual(renewed.refreshToken, alice.refreshToken)
          assert.match(renewed.refreshToken, REFRESH_TOKEN)
          assert.equal(await api.whoAmI(alice, renewed.token, b), 200)
          // The new refresh token is good for one more refresh, on any instance.
          const again = await api.refresh(renewed.refreshToken, b)
          assert.equal(again.status, 201, JSON.stringify(again.body))
          assert.equal(tokensOf(again).sessionId, alice.sessionId)
        })

        it('a spent refresh token presented again is a 401 and ends the session: its newest tokens stop working too', async () => {
          const alice = await signUp('Alice', a)
          const newest = tokensOf(await api.refresh(alice.refreshToken, a))

          const reused = await api.refresh(alice.refreshToken, b)
          assert.equal(reused.status, 401, JSON.stringify(reused.body))
          assert.equal(reused.body.name, 'NotAuthenticated')

          const since = performance.now()
          await refusedWithin(api, alice, newest.token, a, since)
          await refusedWithin(api, alice, newest.token, b, since)
          assert.equal((await api.refresh(newest.refreshToken, a)).status, 401)
          assert.deepEqual(await auditOfSession(alice.sessionId), [
            ['login', 'authentication'],
            ['refresh', 'authentication'],
            ['session-ended', 'sessions']
          ])
        })

        it('an unknown, malformed or expired refresh token is a 401, and ends nothing', async () => {
          const alice = await signUp('Alice', a)
          const unknown = Buffer.alloc(32, 7).toString('base64url')
          for (const refreshToken of [
            unknown,
            '',
            'x',
            alice.token,
            `${alice.refreshToken}x`,
            42,
            null,
            {},
            ['x']
          ]) {
            const reply = await api.refresh(refreshToken, a)
            assert.equal(reply.status, 401, `${JSON.stringify(refreshToken)}: ${JSON.stringify(reply.body)}`)
            assert.equal(reply.body.name, 'NotAuthenticated')
          }
          await testDatabase()('refreshTokens')
            .where({ sessionId: alice.sessionId })
            .update({ expiresAt: testDatabase().raw("now() - interval '1 second'") })
          assert.equal((await api.refresh(alice.refreshToken, b)).status, 401)
          assert.equal(await api.whoAmI(alice, alice.token, b), 200)
        })

        it('logout with the access token answers 200 and ends the session on every instance; other sessions go on', async () => {
          const alice = await signUp('Alice', a)
          const elsewhere = await logIn(alice, a)

          const reply = await api.logout(alice.token, a)
          assert.equal(reply.status, 200, JSON.stringify(reply.body))
          assert.equal(reply.body.user.id, alice.id)

          await assertEnded(api, alice, alice, b, 'logout')
          assert.equal((await api.logout(alice.token, b)).status, 401)
          assert.equal(await api.whoAmI(alice, elsewhere.token, b), 200)
        })

        it("lists the caller's open sessions, newest first, with `current` for the token's", async () => {
          const alice = await signUp('Alice', a)
          const second = tokensOf(await api.login(alice, a))
          const ended = await logIn(alice, a)
          assert.equal((await rest.logout(ended.token, a)).status, 200)
          await signUp('Bob', a)

          const reply = await api.sessions(second.token, b)
          assert.equal(reply.status, 200, JSON.stringify(reply.body))
          assert.deepEqual(Object.keys(reply.body).sort(), ['data', 'limit', 'skip', 'total'])
          assert.equal(reply.body.total, 2)
          assert.deepEqual(
            reply.body.data.map((session: any) => [session.id, session.current]),
            [
              [second.sessionId, true],
              [alice.sessionId, false]
            ]
          )
          for (const session of reply.body.data) {
            assert.deepEqual(Object.keys(session).sort(), [
              'createdAt',
              'current',
              'id',
              'ip',
              'lastUsedAt',
              'userAgent'
            ])
            assert.match(session.createdAt, ISO_DATE)
            assert.equal(session.lastUsedAt, session.createdAt)
            assert.equal(session.ip, '127.0.0.1')
          }
          // The User-Agent of each login: fetch sends `node`, Node's WebSocket none.
          assert.deepEqual(
            reply.body.data.map((session: any) => session.userAgent),
            [api === rest ? 'node' : null, 'node']
          )
          const page = await api.sessions(second.token, b, '?$limit=1&$skip=1')
          assert.deepEqual(
            [page.body.total, page.body.limit, page.body.skip, page.body.data.map((s: any) => s.id)],
            [2, 1, 1, [alice.sessionId]]
          )
          assert.equal((await api.sessions(second.token, b, '?userId=x')).status, 400)
        })

        it('ends one of the caller’s sessions; anyone else’s is a 404 and goes on', async () => {
          const alice = await signUp('Alice', a)
          const bob = await signUp('Bob', a)
          const other = await logIn(alice, a)

          assert.equal((await api.endSession(bob.token, other.sessionId, a)).status, 404)
          assert.equal(
            (await api.endSession(alice.token, '00000000-0000-4000-8000-000000000000', a)).status,
            404
          )
          assert.equal((await api.endSession(alice.token, 'not-a-uuid', a)).status, 400)
          assert.equal(await api.whoAmI(alice, other.token, b), 200)

          const reply = await api.endSession(alice.token, other.sessionId, a)
          assert.equal(reply.status, 200, JSON.stringify(reply.body))
          assert.equal(reply.body.id, other.sessionId)
          assert.equal(reply.body.current, false)

          await assertEnded(api, alice, other, b, 'session-ended')
          assert.equal((await api.endSession(alice.token, other.sessionId, a)).status, 404)
          assert.equal(await api.whoAmI(alice, alice.token, b), 200)
        })

        it('changing the password ends every other session of the user; the current one goes on', async () => {
          const alice = await signUp('Alice', a)
          const other = await logIn(alice, a)
          const bob = await signUp('Bob', a)

          const reply = await api.changePassword(alice, alice.token, 'a brand new passphrase', a)
          assert.equal(reply.status, 200, JSON.stringify(reply.body))

          await assertEnded(api, alice, other, b, 'session-ended')
          assert.equal(await api.whoAmI(alice, alice.token, b), 200)
          assert.equal(await api.whoAmI(bob, bob.token, b), 200)
          assert.equal((await api.refresh(alice.refreshToken, b)).status, 201)
        })

        it('a name change ends no session', async () => {
          const alice = await signUp('Alice', a)
          const other = await logIn(alice, a)
          const reply = await http('PATCH', `/users/${alice.id}`, {
            token: alice.token,
            body: { name: 'A.' },
            baseUrl: a
          })
          assert.equal(reply.status, 200)
          assert.equal(await api.whoAmI(alice, other.token, b), 200)
        })

        it('removing a user ends all of their sessions', async () => {
          const alice = await signUp('Alice', a)
          const other = await logIn(alice, a)

          const reply = await api.removeUser(alice, alice.token, a)
          assert.equal(reply.status, 200, JSON.stringify(reply.body))

          // Both within the second (checked together), and the records outlive the user and their sessions.
          await Promise.all(
            [alice, other].map((session) => assertEnded(api, alice, session, b, 'session-ended'))
          )
        })

        // Every way a session ends, each from the other session or by the session itself.
        const ends: Record<string, (alice: TestUser, elsewhere: TestLogin) => Promise<unknown>> = {
          'logged out': async (alice) => assert.equal((await api.logout(alice.token, a)).status, 200),
          'ended from another session': async (alice, elsewhere) =>
            assert.equal((await api.endSession(elsewhere.token, alice.sessionId, a)).status, 200),
          'ended by a password change elsewhere': async (alice, elsewhere) =>
            assert.equal(
              (await api.changePassword(alice, elsewhere.token, 'another passphrase', a)).status,
              200
            ),
          'ended by a reused refresh token': async (alice) => {
            assert.equal((await api.refresh(alice.refreshToken, a)).status, 201)
            assert.equal((await api.refresh(alice.refreshToken, a)).status, 401)
          }
        }
        for (const [how, end] of Object.entries(ends)) {
          it(`a session ${how}: its sockets are logged off on every instance and receive no more events`, async () => {
            const alice = await signUp('Alice', a)
            const elsewhere = await logIn(alice, a)
            const [ending, sameSession, witness] = await Promise.all([
              connectSocket(alice.token, b),
              connectSocket(alice.token, a),
              connectSocket(elsewhere.token, b)
            ])
            await http('POST', '/api/patients', {
              token: alice.token,
              body: validPatient({ name: 'Before' }),
              baseUrl: a
            })
            await ending.delivered('patients created', (patient) => patient.name === 'Before')

            await end(alice, elsewhere)

            assert.equal(await ending.disconnectReason(), 'io server disconnect')
            assert.equal(await sameSession.disconnectReason(), 'io server disconnect')
            const after = await http('POST', '/api/patients', {
              token: elsewhere.token,
              body: validPatient({ name: 'After' }),
              baseUrl: a
            })
            assert.equal(after.status, 201)
            await http('POST', '/api/doctors', { token: elsewhere.token, body: validDoctor(), baseUrl: a })
            await witness.delivered('patients created', (patient) => patient.name === 'After')
            await witness.delivered('doctors created')
            await sleep(100)
            for (const socket of [ending, sameSession]) {
              assert.deepEqual(
                socket.events().map(({ event, payload }) => `${event} ${payload?.name}`),
                ['patients created Before']
              )
            }
          })
        }
      })
    }
  }

  describe('lifetimes and storage', () => {
    it('a refresh token is valid 30 days by default, and stored only as its SHA-256 digest', async () => {
      assert.equal(testContext().settings.authentication.refresh.expiresIn, '30d')
      const alice = await signUp('Alice')
      const rows = await testDatabase().raw(
        `SELECT hash, extract(epoch FROM expires_at - created_at) AS lifetime FROM refresh_tokens WHERE session_id = ?`,
        [alice.sessionId]
      )
      assert.equal(rows.rows.length, 1)
      const [{ hash, lifetime }] = rows.rows
      assert.deepEqual(hash, createHash('sha256').update(alice.refreshToken).digest())
      assert.equal(Math.round(Number(lifetime)), 30 * 24 * 60 * 60)
      const everything = JSON.stringify(
        await testDatabase().raw(
          `SELECT s.*, t.* FROM sessions s JOIN refresh_tokens t ON t.session_id = s.id`
        )
      )
      assert.ok(!everything.includes(alice.refreshToken), 'a refresh token in the database')
    })

    it('both lifetimes are configurable; an expired refresh token is a 401', async function () {
      this.timeout(20_000)
      const { settings } = testContext()
      const server = await startServer({
        ...settings,
        port: 0,
        authentication: {
          ...settings.authentication,
          jwtOptions: { ...settings.authentication.jwtOptions, expiresIn: '2h' },
          refresh: { expiresIn: '2s' }
        }
      })
      try {
        const alice = await signUp('Alice', server.url)
        const reply = await rest.login(alice, server.url)
        const { exp, iat } = reply.body.authentication.payload
        assert.equal(exp - iat, 2 * 60 * 60)
        const renewed = await rest.refresh(reply.body.refreshToken, server.url)
        assert.equal(renewed.status, 201)
        await sleep(2100)
        assert.equal((await rest.refresh(renewed.body.refreshToken, server.url)).status, 401)
        // An expired token ends nothing: the session's access token still works.
        assert.equal(await rest.whoAmI(alice, renewed.body.accessToken, server.url), 200)
      } finally {
        await server.stop()
      }
    })

    it('a refresh token is good for one use: of two concurrent refreshes, one succeeds and the session ends', async () => {
      const alice = await signUp('Alice')
      const replies = await Promise.all([
        rest.refresh(alice.refreshToken, baseUrl()),
        rest.refresh(alice.refreshToken, baseUrl())
      ])
      assert.deepEqual(replies.map(({ status }) => status).sort(), [201, 401])
      const winner = replies.find(({ status }) => status === 201)!
      assert.equal(await rest.whoAmI(alice, winner.body.accessToken, baseUrl()), 401)
      assert.equal((await rest.refresh(winner.body.refreshToken, baseUrl())).status, 401)
    })

    it('a socket logging in with its access token stays in the session the token names', async () => {
      const alice = await signUp('Alice')
      const before = await rest.sessions(alice.token, baseUrl())
      const socket = await connectSocket(alice.token)
      const again = await socket.authenticate(alice.token)
      assert.equal(again.refreshToken, undefined)
      assert.equal(again.authentication.payload.sid, alice.sessionId)
      const after = await rest.sessions(alice.token, baseUrl())
      assert.deepEqual(after.body.data, before.body.data)
    })

    it('an access token that names no session (no `sid`, or not a UUID) is a 401', async () => {
      const alice = await signUp('Alice')
      const authentication = testContext().server.app.service('authentication')
      for (const payload of [{ sub: alice.id }, { sub: alice.id, sid: 'x' }, { sub: alice.id, sid: 42 }]) {
        const token = await authentication.createAccessToken(payload)
        assert.equal(await rest.whoAmI(alice, token, baseUrl()), 401, JSON.stringify(payload))
        assert.equal(await sockets.whoAmI(alice, token, baseUrl()), 401, JSON.stringify(payload))
      }
    })
  })

  describe('a rejected removal of a user', () => {
    it('ends no session: tokens, sockets and the audit trail are untouched on every instance', async () => {
      const alice = await signUp('Alice', pair[0].url)
      const other = await logIn(alice, pair[1].url)
      const socket = await connectSocket(other.token, pair[1].url)
      const rejected: Array<[string, number]> = [
        ['?bogus=1', 400],
        ['?$limit=abc', 400],
        ['?name=nomatch', 404]
      ]
      for (const [query, status] of rejected) {
        const reply = await http('DELETE', `/users/${alice.id}${query}`, {
          token: alice.token,
          baseUrl: pair[0].url
        })
        assert.equal(reply.status, status, `${query}: ${JSON.stringify(reply.body)}`)
      }
      // Longer than the other instance's poll: an end it found would have been acted on by now.
      await sleep(1000)
      for (const { token } of [alice, other]) {
        for (const url of [pair[0].url, pair[1].url]) {
          assert.equal(await rest.whoAmI(alice, token, url), 200)
        }
      }
      assert.equal((await socket.client.service('users').get(alice.id)).id, alice.id)
      for (const session of [alice.sessionId, other.sessionId]) {
        assert.deepEqual(await auditOfSession(session), [['login', 'authentication']])
      }
      const open = await testDatabase()('sessions').where({ userId: alice.id }).whereNull('endedAt')
      assert.equal(open.length, 2)
      assert.equal((await rest.refresh(other.refreshToken, pair[0].url)).status, 201)
    })
  })

  describe('a login with the old password racing a password change', () => {
    /** Waits until a statement opening a session waits for a lock (at most `ms`). */
    async function sessionInsertWaiting(ms: number) {
      const deadline = performance.now() + ms
      while (performance.now() < deadline) {
        const { rows } = await testDatabase().raw(
          `SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO sessions%'`
        )
        if (rows.length > 0) return true
        await sleep(5)
      }
      return false
    }

    it('a login whose password changes before its session opens answers 401 and opens none', async () => {
      const alice = await signUp('Alice')
      const db = testDatabase()
      const change = await db.transaction()
      try {
        await change.raw('UPDATE users SET password = ? WHERE id = ?', ['changed meanwhile', alice.id])
        const login = rest.login(alice, pair[0].url)
        assert.ok(await sessionInsertWaiting(3000), 'the login never waited at its session insert')
        await change.commit()
        const reply = await login
        assert.equal(reply.status, 401, JSON.stringify(reply.body))
        assert.equal(reply.body.name, 'NotAuthenticated')
      } finally {
        if (!change.isCompleted()) await change.rollback()
      }
      const open = await db('sessions').where({ userId: alice.id }).whereNull('endedAt').pluck('id')
      assert.deepEqual(open, [alice.sessionId])
    })

    it('a login whose session opened first: the change ends it', async () => {
      const alice = await signUp('Alice')
      for (let round = 0; round < 12; round++) {
        const password = `new passphrase ${round}`
        const login = rest.login(alice, pair[0].url)
        await sleep((round * 40) / 11)
        const changed = await rest.changePassword(alice, alice.token, password, pair[1].url)
        assert.equal(changed.status, 200, JSON.stringify(changed.body))
        const reply = await login
        alice.password = password
        if (reply.status !== 201) {
          assert.equal(reply.status, 401, JSON.stringify(reply.body))
          continue
        }
        const { token, refreshToken } = tokensOf(reply)
        await refusedWithin(rest, alice, token, pair[1].url, performance.now())
        assert.equal((await rest.refresh(refreshToken, pair[0].url)).status, 401)
      }
      const open = await testDatabase()('sessions')
        .where({ userId: alice.id })
        .whereNull('endedAt')
        .pluck('id')
      assert.deepEqual(open, [alice.sessionId])
    })
  })

  it('a session keeps the address and User-Agent of its login, whoever refreshes it', async () => {
    const alice = await signUp('Alice')
    const login = await http('POST', '/api/auth/login', {
      body: { email: alice.email, password: alice.password },
      headers: { 'user-agent': 'the login browser' }
    })
    assert.equal(login.status, 201, JSON.stringify(login.body))
    const refreshed = await http('POST', '/api/auth/refresh', {
      body: { refreshToken: login.body.refreshToken },
      headers: { 'user-agent': 'somebody else' }
    })
    assert.equal(refreshed.status, 201, JSON.stringify(refreshed.body))
    const list = await http('GET', '/api/auth/sessions', { token: refreshed.body.accessToken })
    const session = list.body.data.find(({ current }: { current: boolean }) => current)
    assert.deepEqual([session.userAgent, session.ip], ['the login browser', '127.0.0.1'])
  })

  it('the ended sessions an instance remembers are bounded; one it forgot is still refused', async () => {
    const alice = await signUp('Alice')
    const ended = await logIn(alice)
    assert.equal((await rest.logout(ended.token, baseUrl())).status, 200)
    const registry = testContext().server.app.get('sessionRegistry') as any
    for (let batch = 0; batch < 101; batch++) {
      registry.haveEnded(
        Array.from({ length: 1000 }, () => randomUUID()),
        { logOff: false }
      )
    }
    assert.equal(registry.ended.size, 100_000)
    assert.equal(registry.ended.has(ended.sessionId), false)
    assert.equal(await rest.whoAmI(alice, ended.token, baseUrl()), 401)
    assert.equal(await rest.whoAmI(alice, alice.token, baseUrl()), 200)
  })

  describe('forged access tokens, signed with our secret', () => {
    it('a random, another user’s, or an uppercased ended session is a 401 over REST and sockets', async () => {
      const alice = await signUp('Alice')
      const bob = await signUp('Bob')
      const ended = await logIn(alice)
      assert.equal((await rest.logout(ended.token, baseUrl())).status, 200)
      const authentication = testContext().server.app.service('authentication')
      for (const sid of [randomUUID(), bob.sessionId, ended.sessionId.toUpperCase()]) {
        const token = await authentication.createAccessToken({ sub: alice.id, sid })
        for (const url of [baseUrl(), pair[1].url]) {
          assert.equal(await rest.whoAmI(alice, token, url), 401, sid)
          assert.equal(await sockets.whoAmI(alice, token, url), 401, sid)
        }
      }
      assert.equal(await rest.whoAmI(alice, alice.token, pair[1].url), 200)
    })
  })

  describe('how an end reaches the other instances', () => {
    it('the check costs no query: an authenticated request runs only its own statement', async () => {
      const alice = await signUp('Alice')
      await http('GET', `/users/${alice.id}`, { token: alice.token })
      const db = testDatabase()
      const statements: string[] = []
      const record = ({ sql }: { sql: string }) => statements.push(sql)
      db.on('query', record)
      try {
        assert.equal((await http('GET', `/users/${alice.id}`, { token: alice.token })).status, 200)
      } finally {
        db.off('query', record)
      }
      assert.ok(!statements.some((sql) => /sessions|audit/.test(sql)), statements.join('\n'))
    })

    describe('when the Redis message is lost: the poll of the other instance', () => {
      let proxy: Awaited<ReturnType<typeof startRedisProxy>>
      let deaf: RunningServer

      before(async () => {
        proxy = await startRedisProxy(new URL(REDIS_URL))
        deaf = await startServer({ ...testContext().settings, port: 0, redisUrl: proxy.url })
      })

      after(async () => {
        await deaf?.stop()
        await proxy?.close()
      })

      afterEach(() => proxy.restore())

      it('a logout: the token is refused within a second and the socket logged off', async () => {
        const alice = await signUp('Alice', pair[0].url)
        const [onDeaf, withoutRedis] = await Promise.all([
          connectSocket(alice.token, deaf.url),
          connectSocket(alice.token)
        ])
        assert.equal(await rest.whoAmI(alice, alice.token, deaf.url), 200)
        proxy.freeze()

        assert.equal((await rest.logout(alice.token, pair[0].url)).status, 200)
        const since = performance.now()
        await refusedWithin(rest, alice, alice.token, deaf.url, since)
        await refusedWithin(sockets, alice, alice.token, deaf.url, since)
        await loggedOffWithin(deaf, alice, since)
        // An instance without Redis at all (the test server) learns of it the same way.
        await refusedWithin(rest, alice, alice.token, baseUrl(), since)
        await loggedOffWithin(testContext().server, alice, since)
        assert.equal(await onDeaf.disconnectReason(), 'io server disconnect')
        assert.equal(await withoutRedis.disconnectReason(), 'io server disconnect')
      })

      it('a removed user: every token refused within a second, without the `users removed` event', async () => {
        const alice = await signUp('Alice', pair[0].url)
        assert.equal(await rest.whoAmI(alice, alice.token, deaf.url), 200) // now in its user cache
        proxy.freeze()

        assert.equal((await rest.removeUser(alice, alice.token, pair[0].url)).status, 200)
        await refusedWithin(rest, alice, alice.token, deaf.url, performance.now())
      })

      it('a patched user: served from the database again within a second, without the `users patched` event', async () => {
        const alice = await signUp('Alice', pair[0].url)
        const whoAmI = () => http('GET', '/api/auth/sessions', { token: alice.token, baseUrl: deaf.url })
        assert.equal((await whoAmI()).status, 200) // the user is in its cache now
        proxy.freeze()

        const renamed = await http('PATCH', `/users/${alice.id}`, {
          token: alice.token,
          body: { name: 'Renamed' },
          baseUrl: pair[0].url
        })
        assert.equal(renamed.status, 200)
        const since = performance.now()
        const cache = deaf.app.service('authentication').getStrategy('jwt') as any
        for (;;) {
          if (cache.entities.get(alice.id) === undefined) break
          assert.ok(performance.now() - since < WITHIN_MS, 'the user is still served from the cache')
          await sleep(10)
        }
        assert.equal((await whoAmI()).status, 200)
        assert.equal(cache.entities.get(alice.id).entity.name, 'Renamed')
      })
    })

    it('an instance started after the end refuses the token from its first request', async () => {
      const alice = await signUp('Alice')
      assert.equal((await rest.logout(alice.token, baseUrl())).status, 200)
      const later = await startServer({ ...testContext().settings, port: 0 })
      try {
        assert.equal(await rest.whoAmI(alice, alice.token, later.url), 401)
        assert.equal(await sockets.whoAmI(alice, alice.token, later.url), 401)
      } finally {
        await later.stop()
      }
    })
  })
})
