import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import socketio from '@feathersjs/socketio-client'
import { MemoryStorage } from '@feathersjs/authentication-client'
import { io } from 'socket.io-client'
import type { Socket } from 'socket.io-client'
import { createClient } from '../src/client'
import type { ClientApplication } from '../src/client'
import { baseUrl } from './helpers'

/**
 * A raw Socket.io connection, without the Feathers client: calls exactly as an attacker sends
 * them. `headers` go with the handshake (an X-Forwarded-For, say).
 */
export async function rawSocket(url = baseUrl(), headers?: Record<string, string>): Promise<Socket> {
  const socket = io(url, {
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
    extraHeaders: headers
  })
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('connect_error', reject))
  return socket
}

/** How long a socket must stay silent after the owner's socket has received the same event. */
export const SILENCE_MS = 300
const DELIVERY_TIMEOUT_MS = 5000

export interface Received {
  event: string
  payload: any
}

interface Waiter {
  event: string
  matches: (payload: any) => boolean
  resolve: (payload: any) => void
}

async function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} did not happen within ${DELIVERY_TIMEOUT_MS} ms`)),
      DELIVERY_TIMEOUT_MS
    )
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** A Feathers client on its own Socket.io connection that records every event it receives. */
export class TestSocket {
  readonly received: Received[] = []
  private waiters: Waiter[] = []
  private disconnected: Promise<string>

  constructor(
    readonly socket: Socket,
    readonly client: ClientApplication
  ) {
    socket.onAny((event: string, payload: unknown) => this.receive({ event, payload }))
    this.disconnected = this.nextDisconnect()
  }

  private nextDisconnect() {
    return new Promise<string>((resolve) => this.socket.once('disconnect', (reason) => resolve(reason)))
  }

  private receive(message: Received) {
    this.received.push(message)
    const waiting = this.waiters.filter(
      (waiter) => waiter.event === message.event && waiter.matches(message.payload)
    )
    this.waiters = this.waiters.filter((waiter) => !waiting.includes(waiter))
    waiting.forEach((waiter) => waiter.resolve(message.payload))
  }

  /** The payload of `event` (already received or still to come) that matches; fails after 5 s. */
  async delivered(event: string, matches: (payload: any) => boolean = () => true): Promise<any> {
    const earlier = this.received.find((message) => message.event === event && matches(message.payload))
    if (earlier) {
      return earlier.payload
    }
    return within(
      new Promise((resolve) => this.waiters.push({ event, matches, resolve })),
      `delivery of '${event}'`
    )
  }

  events(event?: string) {
    return this.received.filter((message) => event === undefined || message.event === event)
  }

  authenticate(accessToken: string) {
    return this.client.authenticate({ strategy: 'jwt', accessToken })
  }

  /** The reason of the next disconnect of this socket: 'io server disconnect' when the server closed it. */
  async disconnectReason() {
    const reason = await within(this.disconnected, 'disconnect')
    this.disconnected = this.nextDisconnect()
    return reason
  }

  connected() {
    return new Promise<void>((resolve) =>
      this.socket.connected ? resolve() : this.socket.once('connect', () => resolve())
    )
  }

  close() {
    this.socket.disconnect()
  }
}

const open = new Set<TestSocket>()

/** Connects a socket to the test server (or `url`), authenticated with `accessToken` if given. */
export async function connectSocket(accessToken?: string, url = baseUrl()): Promise<TestSocket> {
  const socket = io(url, { transports: ['websocket'], forceNew: true, reconnection: false })
  // Each client keeps its own token: the default storage is one object shared by every client.
  const client = createClient(socketio(socket), { storage: new MemoryStorage() })
  const testSocket = new TestSocket(socket, client)
  open.add(testSocket)
  await testSocket.connected()
  if (accessToken) {
    await testSocket.authenticate(accessToken)
  }
  return testSocket
}

export function closeSockets() {
  open.forEach((testSocket) => testSocket.close())
  open.clear()
}

/** Waits SILENCE_MS, then asserts that none of these sockets received anything at all. */
export async function assertSilent(...sockets: TestSocket[]) {
  await sleep(SILENCE_MS)
  for (const testSocket of sockets) {
    assert.deepEqual(testSocket.received, [], `socket ${testSocket.socket.id} received events`)
  }
}
