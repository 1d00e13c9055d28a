import { STATUS_CODES } from 'node:http'
import type { Server } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Headers } from './security-headers'

/** A Feathers error as JSON: what every answer that is an error carries. */
export interface RawError {
  name: string
  message: string
  code: number
  className: string
}

/** The security headers as header lines, for answers written on the socket itself. */
export const headerLines = (headers: Headers) =>
  headers.map(([name, value]) => `${name}: ${value}\r\n`).join('')

/**
 * A whole answer for a request that never reaches Koa, written on its socket: the Feathers-shaped
 * JSON error, the same security headers as every other answer (`headerLines`), and
 * `Connection: close`. An answer to HEAD has no body.
 */
export function rawAnswer(headerLines: string, error: RawError, head = false) {
  const body = head ? '' : JSON.stringify(error)
  return `HTTP/1.1 ${error.code} ${STATUS_CODES[error.code]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${headerLines}Connection: close\r\n\r\n${body}`
}

// Requests that Node's HTTP parser refuses (an over-long URL or headers, garbage) never reach Koa;
// answer them with a Feathers-shaped JSON error too, instead of Node's empty reply.
export function answerClientErrorsAsJson(server: Server, securityHeaders: Headers) {
  const headers = headerLines(securityHeaders)
  server.on('clientError', (error: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Duplex) => {
    const head = error.rawPacket?.subarray(0, 5).toString('latin1') === 'HEAD '
    const reply = (code: number, name: string, className: string, message: string) =>
      socket.end(rawAnswer(headers, { name, message, code, className }, head))
    if (!socket.writable) {
      socket.destroy()
      return
    }
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      // The request (headers or body) did not arrive within http.headersTimeoutMs / requestTimeoutMs.
      reply(408, 'RequestTimeout', 'request-timeout', 'Request Timeout')
    } else if (error.code === 'HPE_HEADER_OVERFLOW') {
      reply(
        431,
        'RequestHeaderFieldsTooLarge',
        'request-header-fields-too-large',
        'Request Header Fields Too Large'
      )
    } else {
      reply(400, 'BadRequest', 'bad-request', 'Bad Request')
    }
  })
}
