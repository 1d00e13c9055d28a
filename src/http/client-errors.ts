import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import helmet from 'koa-helmet'

/** The headers the app's `helmet()` middleware sets, read off a response it is run on. */
export async function securityHeaders(): Promise<string> {
  const headers = new Map<string, string>()
  const res = {
    setHeader: (name: string, value: unknown) => headers.set(name, String(value)),
    removeHeader: (name: string) => headers.delete(name)
  }
  await helmet()({ req: {} as IncomingMessage, res: res as unknown as ServerResponse } as any, async () => undefined)
  return [...headers].map(([name, value]) => `${name}: ${value}\r\n`).join('')
}

// Requests that Node's HTTP parser refuses (an over-long URL or headers, garbage) never reach Koa;
// answer them with a Feathers-shaped JSON error too, instead of Node's empty reply, and with the
// same security headers as every other answer.
function reply(socket: Duplex, headers: string, code: number, name: string, className: string, message: string) {
  const body = JSON.stringify({ name, message, code, className })
  socket.end(
    `HTTP/1.1 ${code} ${message}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${headers}Connection: close\r\n\r\n${body}`
  )
}

export function answerClientErrorsAsJson(server: Server, headers: string) {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (!socket.writable) {
      socket.destroy()
      return
    }
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      // The request (headers or body) did not arrive within http.headersTimeoutMs / requestTimeoutMs.
      reply(socket, headers, 408, 'RequestTimeout', 'request-timeout', 'Request Timeout')
    } else if (error.code === 'HPE_HEADER_OVERFLOW') {
      reply(socket, headers, 431, 'RequestHeaderFieldsTooLarge', 'request-header-fields-too-large', 'Request Header Fields Too Large')
    } else {
      reply(socket, headers, 400, 'BadRequest', 'bad-request', 'Bad Request')
    }
  })
}
