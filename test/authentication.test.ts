import assert from 'node:assert/strict'
import { concurrencyLimit } from '../src/auth/passwords'
import { testContext } from './setup'
import { UUID, assertError, assertNoSecret, http, signUp, uniqueEmail } from './helpers'

describe('authentication', () => {
  it('POST /api/auth/login without a strategy answers 201 with tokens, authentication and user', async () => {
    const alice = await signUp('Alice')
    const reply = await http('POST', '/api/auth/login', {
      body: { email: alice.email, password: alice.password }
    })
    assert.equal(reply.status, 201)
    assert.deepEqual(Object.keys(reply.body).sort(), [
      'accessToken',
      'authentication',
      'refreshToken',
      'user'
    ])
    assert.match(reply.body.accessToken, /^[\w-]+\.[\w-]+\.[\w-]+$/)
    assert.match(reply.body.refreshToken, /^[\w-]{43}$/)
    assert.match(reply.body.authentication.payload.sid, UUID)
    assert.equal(reply.body.authentication.strategy, 'local')
    assert.equal(reply.body.authentication.payload.sub, alice.id)
    assert.equal(reply.body.authentication.payload.aud, 'healthcare-api')
    assert.equal(reply.body.authentication.payload.iss, 'healthcare-api')
    assert.ok(reply.body.authentication.payload.exp > reply.body.authentication.payload.iat)
    assert.deepEqual(Object.keys(reply.body.user).sort(), ['createdAt', 'email', 'id', 'name', 'updatedAt'])
    assert.equal(reply.body.user.id, alice.id)
    assertNoSecret(reply.body, alice.password)
  })

  it('POST /authentication with strategy local works the same', async () => {
    const alice = await signUp('Alice')
    const reply = await http('POST', '/authentication', {
      body: { strategy: 'local', email: alice.email, password: alice.password }
    })
    assert.equal(reply.status, 201)
    assert.equal(reply.body.user.id, alice.id)
    assertNoSecret(reply.body, alice.password)
  })

  it('accepts the email in any case and with surrounding spaces', async () => {
    const alice = await signUp('Alice')
    const reply = await http('POST', '/api/auth/login', {
      body: { email: `  ${alice.email.toUpperCase()} `, password: alice.password }
    })
    assert.equal(reply.status, 201)
    assert.equal(reply.body.user.id, alice.id)
  })

  it('gives a wrong password and an unknown email the same 401', async () => {
    const alice = await signUp('Alice')
    const wrongPassword = await http('POST', '/api/auth/login', {
      body: { email: alice.email, password: 'not the password' }
    })
    const unknownEmail = await http('POST', '/api/auth/login', {
      body: { email: uniqueEmail(), password: alice.password }
    })
    assertError(wrongPassword, 401, 'NotAuthenticated')
    assert.deepEqual(unknownEmail.body, wrongPassword.body)
    assert.equal(wrongPassword.body.message, 'Invalid login')
  })

  for (const [label, body] of [
    ['no password', { email: 'a@example.org' }],
    ['an object as email', { email: { $ne: null }, password: 'whatever1' }],
    ['an array as password', { email: 'a@example.org', password: ['x'] }],
    ['an empty body', {}]
  ] as const) {
    it(`answers 401, not 500, for ${label}`, async () => {
      assertError(await http('POST', '/api/auth/login', { body }), 401, 'NotAuthenticated')
    })
  }

  it('the access token authenticates later requests; a forged one does not', async () => {
    const alice = await signUp('Alice')
    const own = await http('GET', `/users/${alice.id}`, { token: alice.token })
    assert.equal(own.status, 200)
    const [header, payload] = alice.token.split('.')
    assertError(
      await http('GET', `/users/${alice.id}`, { token: `${header}.${payload}.forged` }),
      401,
      'NotAuthenticated'
    )
    assertError(await http('GET', `/users/${alice.id}`, { token: 'garbage' }), 401, 'NotAuthenticated')
  })

  it('an expired token is refused, also after it was accepted before', async () => {
    const alice = await signUp('Alice')
    const authentication = testContext().server.app.service('authentication')
    const token = await authentication.createAccessToken(
      { sub: alice.id, sid: alice.sessionId },
      { expiresIn: '2s' }
    )
    assert.equal((await http('GET', '/api/patients', { token })).status, 200)
    await new Promise((resolve) => setTimeout(resolve, 2100))
    assertError(await http('GET', '/api/patients', { token }), 401, 'NotAuthenticated')
  })
})

describe('password work limit', () => {
  it('runs at most the limit at once, the rest in arrival order', async () => {
    const limited = concurrencyLimit(2)
    let running = 0
    let peak = 0
    const finished: number[] = []
    const task = (index: number) =>
      limited(async () => {
        running++
        peak = Math.max(peak, running)
        await new Promise((resolve) => setTimeout(resolve, 5))
        running--
        finished.push(index)
        return index
      })
    const results = await Promise.all([0, 1, 2, 3, 4, 5].map(task))
    assert.deepEqual(results, [0, 1, 2, 3, 4, 5])
    assert.equal(peak, 2)
    assert.deepEqual(finished, [0, 1, 2, 3, 4, 5])
  })
})
