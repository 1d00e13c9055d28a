import assert from 'node:assert/strict'
import { startServer } from '../src/server'
import type { RunningServer } from '../src/server'
import { testContext } from './setup'
import { UUID, http, rawExchange } from './helpers'

describe('HTTP hardening', () => {
  it('sends security headers and hides the framework', async () => {
    const reply = await http('GET', '/health')
    assert.equal(reply.status, 200)
    assert.equal(reply.headers.get('x-content-type-options'), 'nosniff')
    assert.equal(reply.headers.get('x-frame-options'), 'SAMEORIGIN')
    assert.match(reply.headers.get('strict-transport-security') ?? '', /max-age=\d+/)
    assert.match(reply.headers.get('content-security-policy') ?? '', /default-src 'self'/)
    assert.equal(reply.headers.get('referrer-policy'), 'no-referrer')
    assert.equal(reply.headers.get('x-powered-by'), null)
  })

  it('sends the security headers on errors too', async () => {
    const reply = await http('GET', '/api/patients')
    assert.equal(reply.status, 401)
    assert.equal(reply.headers.get('x-content-type-options'), 'nosniff')
  })

  it('allows the configured CORS origins only', async () => {
    const [allowed] = testContext().settings.origins
    const preflight = (origin: string) =>
      http('OPTIONS', '/api/patients', {
        headers: { Origin: origin, 'Access-Control-Request-Method': 'POST' }
      })
    const ok = await preflight(allowed)
    assert.equal(ok.status, 204)
    assert.equal(ok.headers.get('access-control-allow-origin'), allowed)
    const other = await preflight('https://evil.example')
    assert.equal(other.headers.get('access-control-allow-origin'), null)
    const get = await http('GET', '/health', { headers: { Origin: 'https://evil.example' } })
    assert.equal(get.headers.get('access-control-allow-origin'), null)
  })

  it('gives every response a request id, keeping a well-formed one from the client', async () => {
    const made = await http('GET', '/health')
    assert.match(made.headers.get('x-request-id') ?? '', UUID)
    const kept = await http('GET', '/health', { headers: { 'X-Request-Id': 'lb-1234.abc' } })
    assert.equal(kept.headers.get('x-request-id'), 'lb-1234.abc')
    const replaced = await http('GET', '/health', { headers: { 'X-Request-Id': 'bad id with spaces' } })
    assert.match(replaced.headers.get('x-request-id') ?? '', UUID)
  })

  describe('request timeouts', () => {
    let server: RunningServer
    before(async () => {
      const { settings } = testContext()
      server = await startServer({
        ...settings,
        http: { ...settings.http, headersTimeoutMs: 500, requestTimeoutMs: 1000 }
      })
    })
    after(async () => {
      await server?.stop()
    })

    it('answers 408 to a client that never finishes its headers, and closes the connection', async () => {
      const { text, ms } = await rawExchange(server.url, (socket) =>
        socket.write('GET /health HTTP/1.1\r\nHost: x\r\n')
      )
      assert.match(text, /^HTTP\/1\.1 408 /)
      assert.match(text, /\r\nX-Content-Type-Options: nosniff\r\n/i)
      const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4))
      assert.deepEqual(body, {
        name: 'RequestTimeout',
        message: 'Request Timeout',
        code: 408,
        className: 'request-timeout'
      })
      assert.ok(ms < 5000, `${ms} ms`)
    })

    it('answers 408 to a client that never finishes its body', async () => {
      const { text, ms } = await rawExchange(server.url, (socket) =>
        socket.write(
          'POST /api/auth/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name":'
        )
      )
      assert.match(text, /^HTTP\/1\.1 408 /)
      assert.ok(ms < 5000, `${ms} ms`)
    })
  })
})
