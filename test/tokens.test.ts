import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHmac } from 'node:crypto'
import path from 'node:path'
import { startServer } from '../src/server'
import { testContext } from './setup'
import { assertError, http, signUp } from './helpers'
import { connectSocket } from './sockets'

const ROOT = path.join(__dirname, '..')
const MINUTES = 60

const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')

/** An HS256 JWT made here, to try claims the server did not issue. */
function sign(payload: object, secret = testContext().settings.authentication.secret) {
  const unsigned = `${base64url({ alg: 'HS256', typ: 'access' })}.${base64url(payload)}`
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`
}

/** Starts the real entry point and resolves with its exit code and output. */
function runEntry(env: Record<string, string | undefined>) {
  return new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn(process.execPath, ['-r', 'tsx/cjs', 'src/index.ts'], {
      cwd: ROOT,
      env: { ...process.env, PORT: '0', ...env }
    })
    let output = ''
    child.stdout.on('data', (chunk) => (output += chunk))
    child.stderr.on('data', (chunk) => (output += chunk))
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, output })
    })
  })
}

describe('tokens and secrets', () => {
  it('access tokens carry audience, issuer and session, and expire after 15 minutes by default', async () => {
    assert.equal(testContext().settings.authentication.jwtOptions.expiresIn, '15m')
    const alice = await signUp('Alice')
    const payload = JSON.parse(Buffer.from(alice.token.split('.')[1], 'base64url').toString())
    assert.equal(payload.aud, 'healthcare-api')
    assert.equal(payload.iss, 'healthcare-api')
    assert.equal(payload.sub, alice.id)
    assert.equal(payload.sid, alice.sessionId)
    assert.equal(payload.exp - payload.iat, 15 * MINUTES)
  })

  it('the lifetime is configurable (JWT_EXPIRES_IN)', async () => {
    const { settings } = testContext()
    const { jwtOptions } = settings.authentication
    const server = await startServer({
      ...settings,
      authentication: { ...settings.authentication, jwtOptions: { ...jwtOptions, expiresIn: '2h' } }
    })
    try {
      const alice = await signUp('Alice')
      const login = await http('POST', '/api/auth/login', {
        baseUrl: server.url,
        body: { email: alice.email, password: alice.password }
      })
      assert.equal(login.status, 201)
      const { exp, iat } = login.body.authentication.payload
      assert.equal(exp - iat, 2 * 60 * 60)
    } finally {
      await server.stop()
    }
  })

  it('refuses a token for another audience, from another issuer, expired, or signed with another secret', async () => {
    const alice = await signUp('Alice')
    const now = Math.floor(Date.now() / 1000)
    const valid = {
      sub: alice.id,
      sid: alice.sessionId,
      aud: 'healthcare-api',
      iss: 'healthcare-api',
      iat: now,
      exp: now + 60
    }
    // The forged-claims tokens below are checked against this one: same secret, same shape, accepted.
    assert.equal((await http('GET', `/users/${alice.id}`, { token: sign(valid) })).status, 200)
    for (const token of [
      sign({ ...valid, aud: 'another-api' }),
      sign({ ...valid, iss: 'someone-else' }),
      sign({ ...valid, iat: now - 120, exp: now - 60 }),
      sign(valid, 'x'.repeat(48))
    ]) {
      assertError(await http('GET', `/users/${alice.id}`, { token }), 401, 'NotAuthenticated')
    }
  })

  it('refuses a token signed with our secret that never expires', async () => {
    const alice = await signUp('Alice')
    const now = Math.floor(Date.now() / 1000)
    const forever = sign({
      sub: alice.id,
      sid: alice.sessionId,
      aud: 'healthcare-api',
      iss: 'healthcare-api',
      iat: now
    })
    assertError(await http('GET', `/users/${alice.id}`, { token: forever }), 401, 'NotAuthenticated')
  })

  it('refuses a token signed with our secret whose subject is missing or not a user id: 401 over REST and sockets', async () => {
    const now = Math.floor(Date.now() / 1000)
    const claims = { aud: 'healthcare-api', iss: 'healthcare-api', iat: now, exp: now + 60 }
    for (const token of [
      sign(claims),
      sign({ ...claims, sub: 'not-a-uuid' }),
      sign({ ...claims, sub: 42 }),
      sign({ ...claims, sub: {} })
    ]) {
      assertError(await http('GET', '/api/patients', { token }), 401, 'NotAuthenticated')
      const socket = await connectSocket()
      await assert.rejects(
        socket.authenticate(token),
        (error: any) => error.code === 401 && error.name === 'NotAuthenticated'
      )
      socket.close()
    }
  })

  describe('the real entry point in production', function () {
    this.timeout(60_000)
    const production = {
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none',
      HOST: '127.0.0.1'
    }

    it('refuses to start without JWT_SECRET', async () => {
      const { code, output } = await runEntry({ ...production, JWT_SECRET: undefined })
      assert.equal(code, 1, output)
      assert.match(
        output,
        /Could not start the server: Invalid configuration: authentication\.secret: set JWT_SECRET to a secret of at least 32 bytes/
      )
    })

    it('refuses a short JWT_SECRET', async () => {
      const { code, output } = await runEntry({ ...production, JWT_SECRET: 'short-secret' })
      assert.equal(code, 1, output)
      assert.match(output, /authentication\.secret/)
    })

    it('gets past the secret check with a long one (and fails only on the unreachable database)', async () => {
      const { code, output } = await runEntry({ ...production, JWT_SECRET: 'a'.repeat(32) })
      assert.equal(code, 1, output)
      assert.doesNotMatch(output, /authentication\.secret/)
      assert.match(output, /Could not start the server: .*ECONNREFUSED/)
    })
  })
})
