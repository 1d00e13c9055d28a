import { randomUUID } from 'node:crypto'
import { getDispatch } from '@feathersjs/schema'
// Types only: feathers-sync is loaded with the Redis client, only with REDIS_URL (`loadRedis` in src/app.ts).
import type * as FeathersSync from 'feathers-sync'
import { isDeclaredPublisher, ownerOfEvent } from './channels'
import type { Application, HookContext, NextFunction } from '../declarations'
import { logger } from '../logger'
import { closeRedis } from '../database/redis'
import { isUuid } from '../declarative/fields'
import type { RedisClient, SharedRedis } from '../database/redis'

/**
 * Scale-out: with REDIS_URL, every published service event goes through Redis (feathers-sync) and
 * each instance runs the same publishers on it for its own connections. Only what the publishers
 * and the sockets need crosses Redis: the path, the event and the payload after the external
 * resolvers. Never the hook context (circular in Feathers 5, and it carries the raw record with the
 * password hash, the caller's params and request headers).
 *
 * What comes back from Redis is checked before anything runs on it: the channel is shared with the
 * other instances of the deployment, and anyone else who can publish on it. A message that is not
 * an event of a published service of this app is dropped with a warning, and delivery goes on.
 */

export type EventDelivery = 'ok' | 'down'

export interface EventSync {
  /** The Redis Pub/Sub channel the events go through. */
  channel: string
  /** Resolves once this instance is subscribed; rejects when Redis cannot be reached. */
  ready: Promise<void>
  /** Whether this instance's own heartbeat came back through Redis lately. */
  delivery(): EventDelivery
  /**
   * Tells every instance of the deployment, this one included, that these sessions have ended: on
   * the events channel, so they arrive in order with the events this instance publishes.
   */
  publishEndedSessions(ids: string[]): Promise<void>
  /** `listener` hears of the sessions any instance reported ended. */
  onEndedSessions(listener: (ids: string[]) => void): void
  close(): Promise<void>
}

export interface SyncedEvent {
  event: string
  path: string
  data: unknown
  /** The owner of the record, when its publisher sends to the owner (see channels.ts `ownerOfEvent`). */
  owner?: string
}

const SERVICE_EVENTS = new Set(['created', 'updated', 'patched', 'removed'])
const MAX_MESSAGE_BYTES = 1024 * 1024
/** Ended sessions per message: a user's many sessions go in several. */
const MAX_ENDED_SESSIONS = 1000
// A heartbeat is overdue, and delivery down, after this many intervals without one coming back.
const MISSED_HEARTBEATS = 3
const DROP_WARNING_INTERVAL_MS = 1000

/** The payload the sockets get: the record as the external resolvers left it. */
const publicPayload = (data: unknown) => getDispatch(data) ?? data

/**
 * feathers-sync hands over `{ event, path, data, context }`; what is sent is the path, the event,
 * the payload as the external resolvers left it, and the record's owner when its publisher needs it.
 */
export function serializeEvent({ event, path, data, owner }: SyncedEvent): string {
  try {
    return JSON.stringify({ event, path, data: publicPayload(data), ...(owner && { owner }) })
  } catch (error) {
    // Never fail the service call that emitted the event: the row is already written.
    logger.error({ path, event, err: error }, 'An event could not be serialized; sent without payload')
    return JSON.stringify({ event, path, data: null })
  }
}

// Where @feathersjs/transport-commons keeps the publishers of a service and of the app.
const PUBLISHERS = Symbol.for('@feathersjs/transport-commons/publishers')

const declaredPublishersOf = (target: any) => {
  const publishers = target?.[PUBLISHERS] ?? {}
  return Reflect.ownKeys(publishers)
    .map((key) => publishers[key])
    .filter(isDeclaredPublisher)
}

const declaresPublisher = (target: any) => declaredPublishersOf(target).length > 0

/** The owner of an event's record, read by the service's own publisher. */
function ownerOf(app: Application, path: string, data: unknown) {
  const service = servicesOf(app)[path]
  return declaredPublishersOf(service)
    .map((publisher) => ownerOfEvent(publisher, data))
    .find((owner) => owner !== undefined)
}

const hasPublisher = (app: Application, service: unknown) =>
  declaresPublisher(service) || declaresPublisher(app)

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype

const servicesOf = (app: Application) => app.services as unknown as Record<string, any>

/** The service that may publish `path`'s events here, if this app has one. */
function publishingService(app: Application, path: unknown) {
  if (typeof path !== 'string' || !Object.hasOwn(app.services, path)) {
    return undefined
  }
  const service = servicesOf(app)[path]
  return hasPublisher(app, service) ? service : undefined
}

type Message =
  | { kind: 'event'; event: string; path: string; data: Record<string, unknown>; owner?: string }
  | { kind: 'heartbeat'; from: string }
  | { kind: 'sessions-ended'; ids: string[] }

/** What a message from the channel is, or why it is dropped. */
export function parseMessage(
  app: Application,
  raw: Buffer | string
): Message | { kind: 'dropped'; reason: string } {
  if (raw.length > MAX_MESSAGE_BYTES) {
    return { kind: 'dropped', reason: 'too large' }
  }
  let message: unknown
  try {
    message = JSON.parse(raw.toString())
  } catch {
    return { kind: 'dropped', reason: 'not JSON' }
  }
  if (!isPlainObject(message)) {
    return { kind: 'dropped', reason: 'not an object' }
  }
  if (typeof message.heartbeat === 'string' && Object.keys(message).length === 1) {
    return { kind: 'heartbeat', from: message.heartbeat }
  }
  if ('sessionsEnded' in message) {
    const ids = message.sessionsEnded
    const valid =
      Object.keys(message).length === 1 &&
      Array.isArray(ids) &&
      ids.length > 0 &&
      ids.length <= MAX_ENDED_SESSIONS &&
      ids.every(isUuid)
    return valid
      ? { kind: 'sessions-ended', ids: ids.map((id: string) => id.toLowerCase()) }
      : { kind: 'dropped', reason: 'not a list of session ids' }
  }
  const { event, path, data, owner, ...rest } = message
  if (Object.keys(rest).length > 0 || typeof event !== 'string' || !SERVICE_EVENTS.has(event)) {
    return { kind: 'dropped', reason: 'not a service event' }
  }
  if (owner !== undefined && !isUuid(owner)) {
    return { kind: 'dropped', reason: 'the owner is not a user id' }
  }
  if (!publishingService(app, path)) {
    return { kind: 'dropped', reason: 'no such published service' }
  }
  if (!isPlainObject(data)) {
    return { kind: 'dropped', reason: 'the payload is not a record' }
  }
  return { kind: 'event', event, path: path as string, data, owner }
}

/**
 * Only events published by the publishers of channels.ts go through Redis. The others stay inside
 * this instance (feathers-sync passes an event through locally when its context says so), above
 * all `authentication created`, which carries the access token: the authentication service
 * registers a publisher of its own that publishes nothing.
 */
const keepUnpublishedEventsLocal =
  (app: Application, SYNC: symbol) => async (context: HookContext, next: NextFunction) => {
    if (!hasPublisher(app, context.service)) {
      ;(context as any)[SYNC] = false
    }
    await next()
  }

/**
 * One warning a second at most: the first drop at once, the ones after it counted and warned of
 * together when the second is over, so junk cannot flood the log and none goes uncounted.
 */
function dropWarnings() {
  let lastWarning = 0
  let dropped = 0
  let lastReason = ''
  let pending: NodeJS.Timeout | undefined
  const warn = () => {
    logger.warn(
      { reason: lastReason, dropped },
      'Dropped a message on the events channel that is not an event of this app'
    )
    lastWarning = Date.now()
    dropped = 0
    pending = undefined
  }
  return (reason: string) => {
    dropped++
    lastReason = reason
    const wait = lastWarning + DROP_WARNING_INTERVAL_MS - Date.now()
    if (wait <= 0) {
      warn()
    } else {
      pending ??= setTimeout(warn, wait).unref()
    }
  }
}

/**
 * Every `heartbeatMs` the instance publishes a heartbeat of its own on the channel; delivery is
 * down while the subscriber is not connected or the last one did not come back in time. That
 * covers a broken connection as well as a silent one.
 */
function heartbeats(publisher: RedisClient, channel: string, heartbeatMs: number) {
  const instance = randomUUID()
  let lastEcho = Date.now()
  const beat = () => {
    if (publisher.isReady) {
      publisher.publish(channel, JSON.stringify({ heartbeat: instance })).catch(() => undefined)
    }
  }
  let timer: NodeJS.Timeout | undefined
  return {
    start() {
      lastEcho = Date.now()
      timer = setInterval(beat, heartbeatMs).unref()
      beat()
    },
    stop: () => clearInterval(timer),
    received(from: string) {
      if (from === instance) lastEcho = Date.now()
    },
    overdue: () => Date.now() - lastEcho > MISSED_HEARTBEATS * heartbeatMs
  }
}

/** Replaces feathers-sync's handler of incoming messages, which trusts them (and throws on junk). */
function receiveMessages(
  app: Application,
  onHeartbeat: (from: string) => void,
  onEndedSessions: (ids: string[]) => void
) {
  const dropped = dropWarnings()
  app.removeAllListeners('sync-in')
  app.on('sync-in', (raw: Buffer | string) => {
    try {
      const message = parseMessage(app, raw)
      if (message.kind === 'heartbeat') {
        onHeartbeat(message.from)
      } else if (message.kind === 'sessions-ended') {
        onEndedSessions(message.ids)
      } else if (message.kind === 'dropped') {
        dropped(message.reason)
      } else {
        const { event, path, data, owner } = message
        const service = servicesOf(app)[path]
        service._emit(event, data, { app, service, path, event, dispatch: data, result: data, owner })
      }
    } catch (error) {
      logger.error({ err: error }, 'An event from Redis could not be delivered')
    }
  })
}

export interface EventSyncOptions {
  redis: SharedRedis
  heartbeatMs: number
  /** The feathers-sync package, loaded with the Redis client. */
  feathersSync: Pick<typeof FeathersSync, 'redis' | 'SYNC'>
}

/** Configures feathers-sync on the app's Redis client; call before the services are registered. */
export const eventSync =
  ({ redis, heartbeatMs, feathersSync }: EventSyncOptions) =>
  (app: Application) => {
    const channel = `${redis.namespace}:events`
    const publisher = redis.client
    app.configure(
      feathersSync.redis({
        key: channel,
        redisClient: publisher,
        serialize: (event: SyncedEvent) =>
          serializeEvent({ ...event, owner: ownerOf(app, event.path, event.data) })
      })
    )
    app.hooks({ around: { all: [keepUnpublishedEventsLocal(app, feathersSync.SYNC)] } })

    const { sub: subscriber, ready } = (app as any).sync as { sub: RedisClient; ready: Promise<unknown> }
    publisher.listeners('ready').forEach((listener) => subscriber.on('ready', listener as () => void))
    const heartbeat = heartbeats(publisher, channel, heartbeatMs)
    const endedSessionListeners: Array<(ids: string[]) => void> = []
    receiveMessages(app, heartbeat.received, (ids) =>
      endedSessionListeners.forEach((listener) => listener(ids))
    )
    const subscribed = ready.then(() => heartbeat.start())
    subscribed.catch(() => undefined) // awaited by startServer; not an unhandled rejection meanwhile
    app.set('eventSync', {
      channel,
      ready: subscribed,
      delivery: () => (publisher.isReady && subscriber.isReady && !heartbeat.overdue() ? 'ok' : 'down'),
      publishEndedSessions: async (ids) => {
        for (let start = 0; start < ids.length; start += MAX_ENDED_SESSIONS) {
          const sessionsEnded = ids.slice(start, start + MAX_ENDED_SESSIONS)
          await publisher.publish(channel, JSON.stringify({ sessionsEnded }))
        }
      },
      onEndedSessions: (listener) => endedSessionListeners.push(listener),
      close: async () => {
        heartbeat.stop()
        await closeRedis(subscriber)
      }
    })
  }
