// Sockets: raw Socket.io calls (hostile events, paths, ids, argument lists, queries), and the
// checks of every acknowledgement and event.
import assert from 'node:assert/strict'
import type { Socket } from 'socket.io-client'
import { rawSocket } from '../sockets'
import type { Failures } from './failures'
import { excerptOf } from './failures'
import type { Fixtures } from './fixtures'
import { acceptedIds } from './fixtures'
import { ACK_TIMEOUT_MS, MAX_ERROR_BYTES, TRACE } from './generator'
import type { Random } from './generator'
import type { LeakRule } from './leaks'
import { leaksIn } from './leaks'
import {
  HOSTILE_SOCKET_IDS,
  HOSTILE_SOCKET_PATHS,
  NON_METHOD_EVENTS,
  SERVICE_PATHS,
  SOCKET_METHODS,
  hostileSocketData,
  hostileSocketQueries,
  validBodyFor
} from './pieces'
import { collectStrings, idsFor, malformedPage } from './rest'

export interface SocketCall {
  event: string
  /** The arguments before the acknowledgement callback. */
  args: unknown[]
  authenticated: boolean
  /** An event that is no service method: there is no one to answer it, the socket must survive it. */
  fireAndForget?: boolean
  label: string
}

export interface Ack {
  answered: boolean
  error?: any
  result?: any
}

export function emitWithAck(socket: Socket, event: string, args: unknown[]): Promise<Ack> {
  return new Promise((resolve) => {
    socket
      .timeout(ACK_TIMEOUT_MS)
      .emit(event, ...args, (timeout: Error | null, error?: unknown, result?: unknown) =>
        resolve(timeout ? { answered: false } : { answered: true, error, result })
      )
  })
}

/** A raw socket, anonymous or logged in with the owner's token, reopened if the server closes it. */
export class RawSocket {
  private socket?: Socket
  closedBy: string[] = []
  /** Every event the server pushed to this socket. */
  events: Array<{ event: string; payload: unknown }> = []

  constructor(private readonly accessToken?: string) {}

  async ready(): Promise<Socket> {
    if (this.socket?.connected) {
      return this.socket
    }
    this.socket?.close()
    const socket = await rawSocket()
    socket.onAny((event: string, payload: unknown) => this.events.push({ event, payload }))
    if (this.accessToken) {
      const login = await emitWithAck(socket, 'create', [
        'authentication',
        { strategy: 'jwt', accessToken: this.accessToken }
      ])
      assert.ok(login.answered && !login.error, `socket login: ${JSON.stringify(login)}`)
    }
    this.socket = socket
    return socket
  }

  close() {
    this.socket?.close()
  }
}

export function socketServiceFor(path: unknown) {
  return typeof path === 'string' && SERVICE_PATHS.includes(path) ? path : 'patients'
}

/** The arguments of `method` on `path` (before the ack): some missing, too many, or of the wrong type. */
export function socketArgs(method: string, path: unknown, f: Fixtures, random: Random): unknown[] {
  const service = socketServiceFor(path)
  const ids =
    service === 'users' && method === 'remove'
      ? [f.other.id]
      : idsFor(service, f, method === 'remove' ? 'DELETE' : 'GET')
  const id = random.chance(0.4) ? random.pick(ids) : random.pick(HOSTILE_SOCKET_IDS(f))
  const data = random.chance(0.3) ? validBodyFor(service, f, random) : hostileSocketData(service, f, random)
  const query = random.chance(0.4) ? {} : random.pick(hostileSocketQueries(f))
  const full: Record<string, unknown[]> = {
    find: [query],
    get: [id, query],
    create: [data, query],
    update: [id, data, query],
    patch: [id, data, query],
    remove: [id, query]
  }
  const args = full[method] ?? [id, data, query]
  const shape = random.int(10)
  if (shape === 0) return args.slice(0, random.int(args.length))
  if (shape === 1) return [...args, random.pick(hostileSocketQueries(f)), 'extra']
  return args
}

/** A logout on the owner's socket would be a success that ends the owner's session for the rest of the run. */
export const socketLogsOut = (method: string, path: unknown) =>
  method === 'remove' && typeof path === 'string' && /^\/*authentication\b/.test(path)

export function randomSocketCall(random: Random, f: Fixtures): SocketCall {
  let authenticated = random.chance(0.6)
  if (random.chance(0.06)) {
    const event = random.pick(NON_METHOD_EVENTS)
    return {
      event,
      args: [random.pick(SERVICE_PATHS), {}],
      authenticated,
      fireAndForget: true,
      label: `emit('${event}')`
    }
  }
  const method = random.pick(SOCKET_METHODS)
  const path = random.chance(0.2) ? random.pick(HOSTILE_SOCKET_PATHS) : random.pick(SERVICE_PATHS)
  const args = socketArgs(method, path, f, random)
  authenticated &&= !socketLogsOut(method, path)
  return {
    event: method,
    args: [path, ...args],
    authenticated,
    label: `emit('${method}', ${describePath(path)}, …${args.length})`
  }
}

export const describePath = (path: unknown) =>
  typeof path === 'string'
    ? `'${path.length > 40 ? `${path.slice(0, 20)}…` : path}'`
    : (JSON.stringify(path) ?? String(path))

/** Each listed socket hole at least once, whatever the seed. */

export function socketSentStrings(call: SocketCall): string[] {
  const pieces: string[] = [call.event]
  collectStrings(call.args, pieces)
  return pieces
}

export function checkAck(
  call: SocketCall,
  ack: Ack,
  rules: LeakRule[],
  keep: Set<string>,
  failures: Failures
) {
  const where = `${call.authenticated ? 'authenticated' : 'anonymous'} ${call.label}`
  failures.checked++
  if (!ack.answered) {
    failures.add('no answer', where, 'none', `no acknowledgement within ${ACK_TIMEOUT_MS} ms`)
    return
  }
  const error = ack.error
  const status = error ? String(error.code ?? 'no code') : 'ok'
  const answerText = JSON.stringify([error ?? null, ack.result ?? null]) ?? ''
  if (error) {
    if (
      typeof error.code !== 'number' ||
      typeof error.name !== 'string' ||
      typeof error.message !== 'string'
    ) {
      failures.add('not a Feathers error', where, status, excerptOf(JSON.stringify(error)))
    }
    if (typeof error.code === 'number' && error.code >= 500) {
      failures.add('5xx', where, status, excerptOf(JSON.stringify(error)))
    }
    const bytes = Buffer.byteLength(JSON.stringify(error))
    if (bytes > MAX_ERROR_BYTES) {
      failures.add(
        'an oversized error answer',
        where,
        status,
        `${bytes} bytes: ${excerptOf(JSON.stringify(error))}`
      )
    }
  }
  if (!error && malformedPage(ack.result)) {
    failures.add('a page with impossible numbers', where, status, excerptOf(answerText))
  }
  for (const { kind, excerpt } of leaksIn(answerText, socketSentStrings(call), rules, keep)) {
    failures.add(`leak: ${kind}`, where, status, excerpt)
  }
}

export async function runSocketCall(
  call: SocketCall,
  sockets: { anonymous: RawSocket; owner: RawSocket },
  accepted: Set<string>
) {
  const raw = call.authenticated ? sockets.owner : sockets.anonymous
  const socket = await raw.ready()
  if (call.fireAndForget) {
    socket.emit(call.event, ...call.args)
    // The socket must still answer a plain call afterwards.
    return emitWithAck(socket, 'find', ['doctors', { $limit: 1 }])
  }
  const ack = await emitWithAck(socket, call.event, call.args)
  if (ack.answered && !ack.error && call.event !== 'find' && call.event !== 'get') {
    acceptedIds(ack.result, accepted)
  }
  if (TRACE) {
    console.log(
      `${call.authenticated ? 'authenticated' : 'anonymous'} ${call.label}: ${excerptOf(JSON.stringify([ack.error ?? null, ack.result ?? null]) ?? '')}`
    )
  }
  if (!socket.connected) {
    raw.closedBy.push(call.label)
  }
  return ack
}

/** A hostile event that no method answers must leave the socket answering the next call. */
export function checkAlive(call: SocketCall, ack: Ack, failures: Failures) {
  failures.checked++
  const alive = ack.answered && (!ack.error || (typeof ack.error.code === 'number' && ack.error.code < 500))
  if (!alive)
    failures.add('socket unusable after a hostile event', call.label, '', JSON.stringify(ack.error ?? null))
}

/** No socket closed by the server; no event for the anonymous one; the owner's events leak nothing. */
export function checkSockets(
  sockets: { anonymous: RawSocket; owner: RawSocket },
  rules: LeakRule[],
  keep: Set<string>,
  failures: Failures
) {
  for (const label of [...sockets.anonymous.closedBy, ...sockets.owner.closedBy]) {
    failures.add('the server closed the socket', label, '', '')
  }
  for (const { event } of sockets.anonymous.events) {
    failures.add('an anonymous socket received an event', event, '', '')
  }
  for (const { event, payload } of sockets.owner.events) {
    for (const { kind, excerpt } of leaksIn(JSON.stringify(payload) ?? '', [], rules, keep)) {
      failures.add(`leak in an event: ${kind}`, event, '', excerpt)
    }
  }
}
