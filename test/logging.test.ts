import assert from 'node:assert/strict'
import { testContext } from './setup'
import { captureLogs, http, signUp } from './helpers'

const requestLines = (lines: Record<string, any>[]) => lines.filter((line) => line.message === 'request')

describe('logs', () => {
  it('one JSON line per request: request id, method, path, status, ms and the caller', async () => {
    const alice = await signUp('Alice')
    const lines = await captureLogs(async () => {
      await http('GET', '/api/patients?$limit=1', { token: alice.token, headers: { 'X-Request-Id': 'trace-42' } })
    })
    const [line] = requestLines(lines)
    assert.equal(requestLines(lines).length, 1)
    assert.deepEqual(Object.keys(line).sort(), ['level', 'message', 'method', 'ms', 'path', 'requestId', 'status', 'time', 'userId'])
    assert.deepEqual(
      { level: line.level, requestId: line.requestId, method: line.method, path: line.path, status: line.status, userId: line.userId },
      { level: 'info', requestId: 'trace-42', method: 'GET', path: '/api/patients', status: 200, userId: alice.id }
    )
    assert.equal(typeof line.ms, 'number')
  })

  it('an anonymous or refused request is logged with its status and no caller', async () => {
    const lines = await captureLogs(async () => {
      await http('GET', '/api/patients')
    })
    const [line] = requestLines(lines)
    assert.deepEqual([line.status, line.userId], [401, null])
  })

  it('never logs passwords or tokens', async () => {
    const alice = await signUp('Alice')
    let token = ''
    const lines = await captureLogs(async () => {
      const login = await http('POST', '/api/auth/login', { body: { email: alice.email, password: alice.password } })
      token = login.body.accessToken
      await http('GET', `/users/${alice.id}?password=${encodeURIComponent(alice.password)}`, { token })
      await http('POST', '/api/auth/login', { body: { email: alice.email, password: 'a wrong password' } })
    })
    assert.equal(requestLines(lines).length, 3)
    const text = JSON.stringify(lines)
    for (const secret of [alice.password, 'a wrong password', token, alice.token]) {
      assert.ok(!text.includes(secret), `a secret in the log: ${secret.slice(0, 12)}…`)
    }
    assert.doesNotMatch(text, /\$argon2|Bearer|"password"/)
  })

  it('a 500 is logged as an error with the request id the client was given', async () => {
    const { app } = testContext().server
    app.use('failing-for-log' as any, {
      async find() {
        throw new Error('something broke deep inside')
      }
    })
    let requestId: string | null = null
    const lines = await captureLogs(async () => {
      const reply = await http('GET', '/failing-for-log')
      assert.equal(reply.status, 500)
      assert.equal(reply.body.message, 'Internal Server Error')
      requestId = reply.headers.get('x-request-id')
    })
    const error = lines.find((line) => line.level === 'error')
    assert.ok(error, JSON.stringify(lines))
    assert.equal(error.message, 'Unexpected error')
    assert.equal(error.requestId, requestId)
    assert.equal(error.error.message, 'something broke deep inside')
    const [request] = requestLines(lines)
    assert.deepEqual([request.requestId, request.status], [requestId, 500])
  })
})
