import type { Server } from 'node:http'
import type { Duplex } from 'node:stream'

// Requests that Node's HTTP parser refuses (an over-long URL or headers, garbage) never reach Koa;
// answer them with a Feathers-shaped JSON error too, instead of Node's empty reply.
function reply(socket: Duplex, code: number, name: string, className: string, message: string) {
  const body = JSON.stringify({ name, message, code, className })
  socket.end(
    `HTTP/1.1 ${code} ${message}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  )
}

export function answerClientErrorsAsJson(server: Server) {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (!socket.writable) {
      socket.destroy()
      return
    }
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      // The request (headers or body) did not arrive within http.headersTimeoutMs / requestTimeoutMs.
      reply(socket, 408, 'RequestTimeout', 'request-timeout', 'Request Timeout')
    } else if (error.code === 'HPE_HEADER_OVERFLOW') {
      reply(socket, 431, 'RequestHeaderFieldsTooLarge', 'request-header-fields-too-large', 'Request Header Fields Too Large')
    } else {
      reply(socket, 400, 'BadRequest', 'bad-request', 'Bad Request')
    }
  })
}
