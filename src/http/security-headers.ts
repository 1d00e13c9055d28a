import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import helmet from 'koa-helmet'
import type { Server as SocketIoServer } from 'socket.io'

export type Headers = ReadonlyArray<readonly [string, string]>

type KoaContext = Parameters<ReturnType<typeof helmet>>[0]

/**
 * The headers the app's `helmet()` middleware sets, read off a response it is run on: a context
 * of no more than koa-helmet reads (`req`, `res`) and a response of no more than helmet calls
 * (`setHeader`, `removeHeader`), as test/unit/library-internals.test.ts checks. A real response
 * would give the names in lower case only.
 */
export async function securityHeaders(): Promise<Headers> {
  const headers = new Map<string, string>()
  const res = {
    setHeader: (name: string, value: unknown) => headers.set(name, String(value)),
    removeHeader: (name: string) => headers.delete(name)
  }
  await helmet()({ req: {}, res } as unknown as KoaContext, async () => undefined)
  return [...headers]
}

/**
 * Every answer of the HTTP server carries the security headers, also those that never reach Koa:
 * Socket.io answers its own requests (`/socket.io/…`, its handshake and its errors) before the app.
 * Koa's helmet sets the same headers again on the app's answers.
 */
export function sendSecurityHeaders(server: Server, headers: Headers) {
  server.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => {
    for (const [name, value] of headers) res.setHeader(name, value)
  })
}

/**
 * The `101 Switching Protocols` of a Socket.io WebSocket is written by ws, with the headers set by
 * Socket.io's middlewares: the security headers are among them.
 */
export function sendSecurityHeadersOnHandshakes(io: SocketIoServer, headers: Headers) {
  io.engine.use((_req: IncomingMessage, res: ServerResponse, next: () => void) => {
    for (const [name, value] of headers) res.setHeader(name, value)
    next()
  })
}
