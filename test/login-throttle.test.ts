import assert from 'node:assert/strict'
import { createClient } from 'redis'
import { deploymentId } from '../src/database/deployment'
import type { ApplicationConfiguration } from '../src/configuration'
import { startServer } from '../src/server'
import type { RunningServer } from '../src/server'
import { testContext } from './setup'
import {
  assertError,
  baseUrl,
  http,
  signUp,
  startOtherDeployment,
  testDatabase,
  uniqueEmail
} from './helpers'
import type { Reply, TestUser } from './helpers'
import { closeSockets, connectSocket, rawSocket } from './sockets'

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0'
const LIMITS = { maxFailuresPerEmail: 3, maxFailuresPerIp: 5, windowSeconds: 60 }

/** A server on the test database with its own login limits; it trusts X-Forwarded-For so tests can be "elsewhere". */
function startThrottledServer(
  loginThrottle: Partial<ApplicationConfiguration['loginThrottle']>,
  redisUrl?: string
) {
  const { settings } = testContext()
  return startServer({
    ...settings,
    redisUrl,
    http: { ...settings.http, trustProxy: true },
    loginThrottle: { ...settings.loginThrottle, ...LIMITS, ...loginThrottle }
  })
}

const login = (server: RunningServer, email: string, password: string, ip = '198.51.100.1') =>
  http('POST', '/api/auth/login', {
    baseUrl: server.url,
    body: { email, password },
    headers: { 'X-Forwarded-For': ip }
  })

/** A login on a socket of its own, whose handshake carries `forwardedFor` as X-Forwarded-For. */
async function socketLogin(url: string, email: string, password: string, forwardedFor: string) {
  const socket = await rawSocket(url, { 'X-Forwarded-For': forwardedFor })
  try {
    return await new Promise<{ error?: any; result?: any }>((resolve) =>
      socket.emit(
        'create',
        'authentication',
        { strategy: 'local', email, password },
        (error: any, result: any) => resolve({ error, result })
      )
    )
  } finally {
    socket.close()
  }
}

/** The addresses of the user's sessions, as `GET /api/auth/sessions` lists them. */
async function sessionAddresses(url: string, accessToken: string) {
  const reply = await http('GET', '/api/auth/sessions', { baseUrl: url, token: accessToken })
  assert.equal(reply.status, 200, JSON.stringify(reply.body))
  return reply.body.data.map((session: { ip: string }) => session.ip)
}

function assertThrottled(reply: Reply, windowSeconds = LIMITS.windowSeconds) {
  assertError(reply, 429, 'TooManyRequests')
  assert.equal(reply.body.className, 'too-many-requests')
  assert.equal(reply.body.message, 'Too many failed logins, try again later')
  const retryAfter = Number(reply.headers.get('Retry-After'))
  assert.ok(
    retryAfter >= 1 && retryAfter <= windowSeconds,
    `Retry-After: ${reply.headers.get('Retry-After')}`
  )
  assert.equal(reply.body.data.retryAfter, retryAfter)
}

/** `attempts` logins for `user` sent all at once, spread over `servers`, the right password last. */
async function guessAllAtOnce(servers: RunningServer[], user: TestUser, attempts: number, ip: string) {
  const replies = await Promise.all(
    Array.from({ length: attempts }, (_, index) =>
      login(
        servers[index % servers.length],
        user.email,
        index === attempts - 1 ? user.password : `wrong guess ${index}`,
        ip
      )
    )
  )
  const statuses: Record<number, number> = {}
  for (const { status } of replies) statuses[status] = (statuses[status] ?? 0) + 1
  return statuses
}

/** Exactly `limit` attempts were answered after a password check (401 or 201); all others 429. */
function assertOnlyLimitChecked(statuses: Record<number, number>, attempts: number, limit: number) {
  assert.equal((statuses[401] ?? 0) + (statuses[201] ?? 0), limit, JSON.stringify(statuses))
  assert.equal(statuses[429], attempts - limit, JSON.stringify(statuses))
}

async function redisKeys(pattern: string) {
  const redis = createClient({ url: REDIS_URL })
  await redis.connect()
  try {
    return await redis.keys(pattern)
  } finally {
    await redis.close()
  }
}

async function deleteKeys(pattern: string) {
  const keys = await redisKeys(pattern)
  if (keys.length === 0) return
  const redis = createClient({ url: REDIS_URL })
  await redis.connect()
  await redis.del(keys)
  await redis.close()
}

async function failLogins(server: RunningServer, email: string, times: number, ip?: string) {
  for (let attempt = 0; attempt < times; attempt++) {
    assertError(await login(server, email, 'not the password', ip), 401, 'NotAuthenticated')
  }
}

describe('login throttling', () => {
  describe('with counters in memory', () => {
    let server: RunningServer
    before(async () => {
      server = await startThrottledServer({})
    })
    after(async () => {
      await server?.stop()
    })
    afterEach(closeSockets)

    it('answers 429 with Retry-After once an email has too many failures, even with the right password', async () => {
      const alice = await signUp('Alice')
      await failLogins(server, alice.email, LIMITS.maxFailuresPerEmail, '198.51.100.10')
      assertThrottled(await login(server, alice.email, 'not the password', '198.51.100.10'))
      // From elsewhere too: the email is what is being guessed.
      assertThrottled(await login(server, alice.email, alice.password, '198.51.100.11'))
    })

    it('leaves the logins of other users from the same address alone', async () => {
      const alice = await signUp('Alice')
      const bob = await signUp('Bob')
      await failLogins(server, alice.email, LIMITS.maxFailuresPerEmail, '198.51.100.20')
      assertThrottled(await login(server, alice.email, alice.password, '198.51.100.20'))
      const reply = await login(server, bob.email, bob.password, '198.51.100.20')
      assert.equal(reply.status, 201, JSON.stringify(reply.body))
      assert.equal(reply.body.user.id, bob.id)
    })

    it('counts an email case-insensitively', async () => {
      const alice = await signUp('Alice')
      await failLogins(server, alice.email.toUpperCase(), LIMITS.maxFailuresPerEmail, '198.51.100.30')
      assertThrottled(await login(server, ` ${alice.email} `, alice.password, '198.51.100.30'))
    })

    it('counts an email padded with any amount of whitespace as the email the login looks up', async () => {
      const alice = await signUp('Alice')
      await failLogins(server, alice.email, LIMITS.maxFailuresPerEmail, '198.51.100.31')
      const padding = ' '.repeat(400)
      assertThrottled(await login(server, `${padding}${alice.email}`, alice.password, '198.51.100.32'))
      assertThrottled(await login(server, `${alice.email}${padding}`, alice.password, '198.51.100.33'))
      assertThrottled(await login(server, `\t\n${padding}${alice.email}`, alice.password, '198.51.100.34'))
    })

    it('counts failures with a padded email against the email, and over a socket too', async () => {
      const alice = await signUp('Alice')
      await failLogins(
        server,
        `${' '.repeat(400)}${alice.email}`,
        LIMITS.maxFailuresPerEmail,
        '198.51.100.35'
      )
      assertThrottled(await login(server, alice.email, alice.password, '198.51.100.36'))
      const socket = await connectSocket(undefined, server.url)
      const padded = `${' '.repeat(400)}${alice.email.toUpperCase()}`
      await assert.rejects(
        socket.client.authenticate({ strategy: 'local', email: padded, password: alice.password }),
        (error: any) => error.code === 429 && error.name === 'TooManyRequests'
      )
    })

    it('counts an email still too long after trimming: it is a guess too', async () => {
      const email = `${'x'.repeat(400)}@example.org`
      await failLogins(server, email, LIMITS.maxFailuresPerEmail, '198.51.100.37')
      assertThrottled(await login(server, email, 'not the password', '198.51.100.38'))
    })

    it('a successful login starts the email’s count over', async () => {
      const alice = await signUp('Alice')
      await failLogins(server, alice.email, LIMITS.maxFailuresPerEmail - 1, '198.51.100.40')
      assert.equal((await login(server, alice.email, alice.password, '198.51.100.40')).status, 201)
      await failLogins(server, alice.email, LIMITS.maxFailuresPerEmail - 1, '198.51.100.40')
      assert.equal((await login(server, alice.email, alice.password, '198.51.100.40')).status, 201)
    })

    it('answers 429 to an address with too many failures, whichever email it tries next', async () => {
      const alice = await signUp('Alice')
      for (let index = 0; index < LIMITS.maxFailuresPerIp; index++) {
        await failLogins(server, uniqueEmail('guess'), 1, '203.0.113.7')
      }
      assertThrottled(await login(server, alice.email, alice.password, '203.0.113.7'))
      assert.equal((await login(server, alice.email, alice.password, '203.0.113.8')).status, 201)
    })

    it('takes the address the proxy appended, not one the client put before it', async () => {
      const alice = await signUp('Alice')
      for (let index = 0; index < LIMITS.maxFailuresPerIp; index++) {
        await failLogins(server, uniqueEmail('guess'), 1, `10.9.9.${index}, 203.0.113.9`)
      }
      assertThrottled(await login(server, alice.email, alice.password, '10.0.0.1, 203.0.113.9'))
    })

    it('simultaneous guesses for one email: only the limit reaches a password check, the right one included', async () => {
      const alice = await signUp('Alice')
      const statuses = await guessAllAtOnce([server], alice, 100, '198.51.100.60')
      assertOnlyLimitChecked(statuses, 100, LIMITS.maxFailuresPerEmail)
    })

    it('simultaneous guesses from one address: only its limit reaches a password check', async () => {
      const replies = await Promise.all(
        Array.from({ length: 4 * LIMITS.maxFailuresPerIp }, () =>
          login(server, uniqueEmail('guess'), 'wrong guess', '203.0.113.60')
        )
      )
      const refused = replies.filter(({ status }) => status === 429).length
      assert.equal(refused, 3 * LIMITS.maxFailuresPerIp, JSON.stringify(replies.map(({ status }) => status)))
    })

    it('records a throttled attempt as a failed login', async () => {
      const alice = await signUp('Alice')
      await failLogins(server, alice.email, LIMITS.maxFailuresPerEmail, '198.51.100.50')
      assertThrottled(await login(server, alice.email, alice.password, '198.51.100.50'))
      const db = testDatabase()
      const actions = await db('audit').where({ userId: alice.id }).orderBy('createdAt').pluck('action')
      assert.deepEqual(actions, ['login', ...Array(LIMITS.maxFailuresPerEmail + 1).fill('login-failed')])
    })
  })

  describe('over a socket', () => {
    let server: RunningServer
    before(async () => {
      server = await startThrottledServer({})
    })
    after(async () => {
      await server?.stop()
    })

    it('behind the proxy, a socket login counts and records the address the proxy appended', async () => {
      const alice = await signUp('Alice')
      for (let index = 0; index < LIMITS.maxFailuresPerIp; index++) {
        const guess = await socketLogin(
          server.url,
          uniqueEmail('guess'),
          'wrong',
          `10.9.9.${index}, 203.0.113.77`
        )
        assert.equal(guess.error?.code, 401, JSON.stringify(guess))
      }
      const throttled = await socketLogin(server.url, alice.email, alice.password, '10.0.0.1, 203.0.113.77')
      assert.equal(throttled.error?.code, 429, JSON.stringify(throttled))
      const elsewhere = await socketLogin(
        server.url,
        alice.email,
        alice.password,
        '203.0.113.77, 203.0.113.78'
      )
      assert.equal(elsewhere.error, null, JSON.stringify(elsewhere.error))
      // The other session is signUp's REST login, without a proxy.
      const addresses = await sessionAddresses(server.url, elsewhere.result.accessToken)
      assert.deepEqual(addresses.sort(), ['127.0.0.1', '203.0.113.78'])
    })

    it('without TRUST_PROXY, a socket’s X-Forwarded-For is ignored', async () => {
      const alice = await signUp('Alice')
      const login = await socketLogin(baseUrl(), alice.email, alice.password, '203.0.113.79')
      assert.equal(login.error, null, JSON.stringify(login.error))
      const addresses = await sessionAddresses(baseUrl(), login.result.accessToken)
      assert.equal(addresses.length, 2)
      assert.ok(
        addresses.every((ip: string) => ip === '127.0.0.1'),
        JSON.stringify(addresses)
      )
    })
  })

  describe('when the window ends', () => {
    let server: RunningServer
    before(async () => {
      server = await startThrottledServer({ windowSeconds: 1 })
    })
    after(async () => {
      await server?.stop()
    })

    it('logins are allowed again', async () => {
      const alice = await signUp('Alice')
      await failLogins(server, alice.email, LIMITS.maxFailuresPerEmail)
      assertThrottled(await login(server, alice.email, alice.password), 1)
      await new Promise((resolve) => setTimeout(resolve, 1100))
      assert.equal((await login(server, alice.email, alice.password)).status, 201)
    })
  })

  describe(`with counters in Redis (pending unless Redis answers at ${REDIS_URL}: TEST_REDIS_URL)`, () => {
    let first: RunningServer
    let second: RunningServer
    let namespace: string
    before(async function () {
      const redis = createClient({ url: REDIS_URL, socket: { reconnectStrategy: false } })
      redis.on('error', () => undefined)
      const reachable = await redis.connect().then(
        () => true,
        () => false
      )
      if (reachable) await redis.close()
      // Pending, not failed, without Redis: the suite's title says where it was looked for.
      if (!reachable) this.skip()
      namespace = `healthcare-api:${await deploymentId(testDatabase())}`
      first = await startThrottledServer({}, REDIS_URL)
      second = await startThrottledServer({}, REDIS_URL)
    })
    after(async () => {
      await first?.stop()
      await second?.stop()
      if (namespace) await deleteKeys(`${namespace}:login-*`)
    })

    it('instances share the counts: failures on one throttle the other', async () => {
      const alice = await signUp('Alice')
      await failLogins(first, alice.email, LIMITS.maxFailuresPerEmail - 1, '192.0.2.1')
      await failLogins(second, alice.email, 1, '192.0.2.1')
      assertThrottled(await login(first, alice.email, alice.password, '192.0.2.1'))
      assertThrottled(await login(second, alice.email, alice.password, '192.0.2.1'))
    })

    it('keys are the deployment’s and hold no email address', async () => {
      const alice = await signUp('Alice')
      await failLogins(first, alice.email, 1, '192.0.2.3')
      const keys = await redisKeys(`${namespace}:login-*`)
      assert.ok(keys.includes(`${namespace}:login-ip:192.0.2.3`), keys.join(', '))
      assert.ok(
        keys.some((key) => key.startsWith(`${namespace}:login-email:`)),
        keys.join(', ')
      )
      assert.ok(!keys.some((key) => key.includes(alice.email)), 'an email address in a Redis key')
    })

    it('a success on one instance starts the count over for both', async () => {
      const alice = await signUp('Alice')
      await failLogins(first, alice.email, LIMITS.maxFailuresPerEmail - 1, '192.0.2.2')
      assert.equal((await login(second, alice.email, alice.password, '192.0.2.2')).status, 201)
      await failLogins(first, alice.email, LIMITS.maxFailuresPerEmail - 1, '192.0.2.2')
      assert.equal((await login(first, alice.email, alice.password, '192.0.2.2')).status, 201)
    })

    it('simultaneous guesses for one email on both instances: only the limit reaches a password check', async () => {
      const alice = await signUp('Alice')
      const statuses = await guessAllAtOnce([first, second], alice, 100, '192.0.2.4')
      assertOnlyLimitChecked(statuses, 100, LIMITS.maxFailuresPerEmail)
    })

    it('another deployment on the same Redis keeps counts of its own', async () => {
      const alice = await signUp('Alice')
      const other = await startOtherDeployment({
        ...testContext().settings,
        redisUrl: REDIS_URL,
        http: { ...testContext().settings.http, trustProxy: true },
        loginThrottle: { ...testContext().settings.loginThrottle, ...LIMITS }
      })
      try {
        await failLogins(first, alice.email, LIMITS.maxFailuresPerEmail, '192.0.2.5')
        assertThrottled(await login(first, alice.email, alice.password, '192.0.2.5'))
        // The same email and address elsewhere: an unknown user there, and no throttle.
        assertError(await login(other, alice.email, alice.password, '192.0.2.5'), 401, 'NotAuthenticated')
      } finally {
        await other.stop()
      }
    })
  })
})
