import assert from 'node:assert/strict'
import { assertError, baseUrl, http, rawExchange } from '../helpers'
import { eachRow } from './support'

// What the layers below the app answer themselves, to bytes that are no HTTP, to headers too large
// and to what Socket.io's engine refuses: a status, the security headers and (but to a HEAD) a
// Feathers error, like every answer of the app.

interface RawRequest {
  name: string
  /** Written as is on a new connection. */
  bytes: string
  status: number
  /** The answer's body, a Feathers error (none for a HEAD). */
  body: Record<string, unknown> | ''
}

const bigHeader = `X-Big: ${'x'.repeat(20_000)}\r\n`

const RAW_REQUESTS: RawRequest[] = [
  {
    name: 'bytes that are no HTTP: a 400',
    bytes: 'NOT HTTP AT ALL\r\n\r\n',
    status: 400,
    body: { name: 'BadRequest', message: 'Bad Request', code: 400, className: 'bad-request' }
  },
  {
    name: 'headers over 16 kB: a 431',
    bytes: `GET /health HTTP/1.1\r\nHost: x\r\n${bigHeader}\r\n`,
    status: 431,
    body: {
      name: 'RequestHeaderFieldsTooLarge',
      message: 'Request Header Fields Too Large',
      code: 431,
      className: 'request-header-fields-too-large'
    }
  },
  {
    name: 'a HEAD with headers over 16 kB: a 431 without a body',
    bytes: `HEAD /health HTTP/1.1\r\nHost: x\r\n${bigHeader}\r\n`,
    status: 431,
    body: ''
  }
]

/** Requests Socket.io's engine answers itself. */
const SOCKET_IO: Array<{ name: string; path: string }> = [
  { name: 'a path under /socket.io/ that is no handshake', path: '/socket.io/x' },
  { name: 'a handshake with an unknown transport', path: '/socket.io/?EIO=4&transport=nope' }
]

describe('bad input: raw HTTP and headers', () => {
  describe('what the HTTP parser refuses: its status, the security headers, a Feathers error', () => {
    eachRow(RAW_REQUESTS, async ({ bytes, status, body }) => {
      const { text } = await rawExchange(baseUrl(), (socket) => socket.write(bytes))
      assert.match(text, new RegExp(`^HTTP/1\\.1 ${status} `))
      assert.match(text, /\r\nX-Content-Type-Options: nosniff\r\n/i)
      assert.match(text, /\r\nContent-Security-Policy: default-src 'self'/i)
      assert.match(text, /\r\nStrict-Transport-Security: max-age=\d+/i)
      const answered = text.slice(text.indexOf('\r\n\r\n') + 4)
      assert.deepEqual(answered === '' ? '' : JSON.parse(answered), body)
    })

    it('a HEAD that fetch sends with headers over 16 kB: a 431 without a body', async () => {
      const reply = await fetch(`${baseUrl()}/health`, {
        method: 'HEAD',
        headers: { 'x-big': 'x'.repeat(20_000) }
      })
      assert.equal(reply.status, 431)
      assert.equal(await reply.text(), '')
    })
  })

  describe("what Socket.io's engine refuses: a 400 Feathers error with the security headers", () => {
    eachRow(SOCKET_IO, async ({ path }) => {
      const reply = await http('GET', path)
      assertError(reply, 400, 'BadRequest')
      assert.equal(reply.headers.get('x-content-type-options'), 'nosniff')
    })

    it('and its handshake carries the security headers too', async () => {
      const handshake = await http('GET', '/socket.io/?EIO=4&transport=polling')
      assert.equal(handshake.status, 200)
      assert.match(handshake.headers.get('content-security-policy') ?? '', /default-src 'self'/)
    })
  })
})
