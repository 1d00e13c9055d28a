import type { Server } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Headers } from './security-headers'

// Requests that Node's HTTP parser refuses (an over-long URL or headers, garbage) never reach Koa;
// answer them with a Feathers-shaped JSON error too, instead of Node's empty reply, and with the
// same security headers as every other answer. An answer to HEAD has no body.
function reply(
  socket: Duplex,
  request: Request,
  code: number,
  name: string,
  className: string,
  message: string
) {
  const body = request.head ? '' : JSON.stringify({ name, message, code, className })
  socket.end(
    `HTTP/1.1 ${code} ${message}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${request.headers}Connection: close\r\n\r\n${body}`
  )
}

interface Request {
  headers: string
  head: boolean
}

export function answerClientErrorsAsJson(server: Server, securityHeaders: Headers) {
  const headers = securityHeaders.map(([name, value]) => `${name}: ${value}\r\n`).join('')
  server.on('clientError', (error: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Duplex) => {
    const request = { headers, head: error.rawPacket?.subarray(0, 5).toString('latin1') === 'HEAD ' }
    if (!socket.writable) {
      socket.destroy()
      return
    }
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      // The request (headers or body) did not arrive within http.headersTimeoutMs / requestTimeoutMs.
      reply(socket, request, 408, 'RequestTimeout', 'request-timeout', 'Request Timeout')
    } else if (error.code === 'HPE_HEADER_OVERFLOW') {
      reply(
        socket,
        request,
        431,
        'RequestHeaderFieldsTooLarge',
        'request-header-fields-too-large',
        'Request Header Fields Too Large'
      )
    } else {
      reply(socket, request, 400, 'BadRequest', 'bad-request', 'Bad Request')
    }
  })
}
