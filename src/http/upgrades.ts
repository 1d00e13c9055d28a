import type { IncomingMessage, Server } from 'node:http'
import type { Duplex } from 'node:stream'
import { headerLines, rawAnswer } from './client-errors'
import type { RawError } from './client-errors'
import type { Headers } from './security-headers'

type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => void

/** A WebSocket handshake on Socket.io's path (`/socket.io/`), the only upgrade served here. */
const isSocketIoWebSocket = (path: string, req: IncomingMessage) =>
  req.url?.startsWith(path) === true && req.headers.upgrade?.trim().toLowerCase() === 'websocket'

/** The request's head again, without `Upgrade` and without `upgrade` among its `Connection` options. */
function headWithoutUpgrade(req: IncomingMessage): Buffer {
  const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`]
  const raw = req.rawHeaders
  for (let index = 0; index < raw.length; index += 2) {
    const [name, value] = [raw[index], raw[index + 1]]
    const lowerCase = name.toLowerCase()
    if (lowerCase === 'connection') {
      const options = value
        .split(',')
        .map((option) => option.trim())
        .filter((option) => option !== '' && option.toLowerCase() !== 'upgrade')
      if (options.length > 0) lines.push(`${name}: ${options.join(', ')}`)
    } else if (lowerCase !== 'upgrade') {
      lines.push(`${name}: ${value}`)
    }
  }
  // Header values arrive as latin1 strings (one character a byte) and go back as the same bytes.
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1')
}

/**
 * A server may ignore an upgrade it does not support and answer the request as usual (RFC 9110
 * §7.8). Node hands every request with `Connection: upgrade` to the `upgrade` listeners with its
 * raw socket, body unread, so the request is given back to the HTTP server: its head without the
 * upgrade, then what followed it, on the same socket, parsed again as a new connection (Node
 * documents emitting `connection` for this). Its answer, and any later request on the connection,
 * are the app's as usual.
 */
function answerAsPlainRequest(server: Server, req: IncomingMessage, socket: Duplex, head: Buffer) {
  socket.unshift(Buffer.concat([headWithoutUpgrade(req), head]))
  server.emit('connection', socket)
}

/** Socket.io's refusal of a handshake, as every error is answered: 403 for a refusal, else 400. */
const socketIoRefusal = (status: number): RawError =>
  status === 403
    ? { name: 'Forbidden', message: 'Bad Socket.io request', code: 403, className: 'forbidden' }
    : { name: 'BadRequest', message: 'Bad Socket.io request', code: 400, className: 'bad-request' }

/**
 * engine.io and ws refuse a WebSocket handshake by writing an answer of their own on the socket
 * (text, none of the security headers): the first thing written there, when it is such a refusal,
 * is replaced by the API's JSON error with the security headers. The `101` passes as it is. How
 * they write it is not documented (test/unit/library-internals.test.ts checks it).
 */
function refusalsAsJson(socket: Duplex, lines: string) {
  const { write, end } = socket
  const reshaped = (chunk: unknown) => {
    const text =
      typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('latin1', 0, 16) : ''
    const refused = /^HTTP\/1\.[01] ([45]\d\d) /.exec(text)
    return refused ? rawAnswer(lines, socketIoRefusal(Number(refused[1]))) : chunk
  }
  const restore = () => {
    socket.write = write
    socket.end = end
  }
  socket.write = ((chunk: unknown, ...rest: unknown[]) => {
    restore()
    return (write as (...args: unknown[]) => boolean).call(socket, reshaped(chunk), ...rest)
  }) as typeof socket.write
  socket.end = ((chunk?: unknown, ...rest: unknown[]) => {
    restore()
    const first = chunk === undefined || typeof chunk === 'function' ? chunk : reshaped(chunk)
    return (end as (...args: unknown[]) => Duplex).call(socket, first, ...rest)
  }) as typeof socket.end
}

/**
 * After Socket.io has attached itself (as the server's one `upgrade` listener): its WebSocket
 * handshakes go to it (its refusals answered as JSON with the security headers), every other
 * upgrade request is answered as a plain request. Without this, Socket.io leaves any other upgrade
 * unanswered and closes it after a second.
 */
export function answerOtherUpgradesAsRequests(server: Server, socketIoPath: string, headers: Headers) {
  const socketIo = server.listeners('upgrade') as UpgradeListener[]
  const path = `${socketIoPath.replace(/\/$/, '')}/`
  const lines = headerLines(headers)
  server.removeAllListeners('upgrade')
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (isSocketIoWebSocket(path, req)) {
      refusalsAsJson(socket, lines)
      socketIo.forEach((listener) => listener.call(server, req, socket, head))
    } else {
      answerAsPlainRequest(server, req, socket, head)
    }
  })
}

/**
 * `CONNECT` asks for a tunnel, which only a proxy makes: Node closes it unanswered unless the
 * server listens for it. It is answered 501, as JSON with the security headers.
 */
export function answerConnectAsJson(server: Server, headers: Headers) {
  const answer = rawAnswer(headerLines(headers), {
    name: 'NotImplemented',
    message: 'CONNECT is not served: this server is no proxy',
    code: 501,
    className: 'not-implemented'
  })
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    socket.on('error', () => socket.destroy())
    socket.end(answer)
  })
}
