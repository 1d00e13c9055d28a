import { getDispatch } from '@feathersjs/schema'
import { createClient } from 'redis'
import { SYNC, redis as redisSync } from 'feathers-sync'
import { isDeclaredPublisher } from './channels'
import type { Application, HookContext, NextFunction } from './declarations'
import { describeError, logger } from './logger'

/**
 * Scale-out: with REDIS_URL, every published service event goes through Redis (feathers-sync) and
 * each instance runs the same publishers on it for its own connections. Only what the publishers
 * and the sockets need crosses Redis: the path, the event and the payload after the external
 * resolvers. Never the hook context (circular in Feathers 5, and it carries the raw record with the
 * password hash, the caller's params and request headers).
 */

export interface EventSync {
  /** The Redis Pub/Sub channel the events go through. */
  channel: string
  /** Resolves once this instance is subscribed; rejects when Redis cannot be reached. */
  ready: Promise<void>
  close(): Promise<void>
}

export interface SyncedEvent {
  event: string
  path: string
  data: unknown
}

type RedisClient = ReturnType<typeof createClient>

/** The payload the sockets get: the record as the external resolvers left it. */
const publicPayload = (data: unknown) => getDispatch(data) ?? data

/** feathers-sync hands over `{ event, path, data, context }`; only three fields are sent. */
export function serializeEvent({ event, path, data }: SyncedEvent): string {
  try {
    return JSON.stringify({ event, path, data: publicPayload(data) })
  } catch (error) {
    // Never fail the service call that emitted the event: the row is already written.
    logger.error('An event could not be serialized; sent without payload', { path, event, ...describeError(error) })
    return JSON.stringify({ event, path, data: null })
  }
}

/** Turns a message back into what publishers and the socket dispatcher read from a hook context. */
export function deserializeEvent(message: string) {
  const { event, path, data } = JSON.parse(message) as SyncedEvent
  return { event, path, data, context: { path, event, dispatch: data, result: data } }
}

// Where @feathersjs/transport-commons keeps the publishers of a service and of the app.
const PUBLISHERS = Symbol.for('@feathersjs/transport-commons/publishers')

function declaresPublisher(target: any) {
  const publishers = target?.[PUBLISHERS] ?? {}
  return Reflect.ownKeys(publishers).some((key) => isDeclaredPublisher(publishers[key]))
}

const hasPublisher = (app: Application, context: HookContext) => declaresPublisher(context.service) || declaresPublisher(app)

/**
 * Only events published by the publishers of channels.ts go through Redis. The others stay inside
 * this instance (feathers-sync passes an event through locally when its context says so), above
 * all `authentication created`, which carries the access token: the authentication service
 * registers a publisher of its own that publishes nothing.
 */
const keepUnpublishedEventsLocal = (app: Application) => async (context: HookContext, next: NextFunction) => {
  if (!hasPublisher(app, context)) {
    ;(context as any)[SYNC] = false
  }
  await next()
}

export interface DatabaseIdentity {
  host?: string
  port?: string | number
  database?: string
}

/** Instances share events when they share a database: the Redis channel is named after it. */
export function eventChannelFor({ host, port, database }: DatabaseIdentity) {
  return `healthcare-api:events:${host ?? 'localhost'}:${port ?? 5432}/${database ?? ''}`
}

async function closeClient(client: RedisClient) {
  try {
    if (client.isOpen) {
      await client.close()
    } else {
      client.destroy()
    }
  } catch {
    // already closed
  }
}

/** One line when Redis goes away and one when it is back, not one per reconnection attempt. */
function outageLog() {
  let down = false
  return {
    onError(error: unknown) {
      if (!down) {
        down = true
        logger.error('Redis (events) unreachable: events wait until it is back', describeError(error))
      }
    },
    onReady() {
      if (down) {
        down = false
        logger.info('Redis (events) connected again')
      }
    }
  }
}

/** Configures feathers-sync on Redis; call before the services are registered. */
export const eventSync = (redisUrl: string, channel: string) => (app: Application) => {
  const publisher: RedisClient = createClient({ url: redisUrl })
  const outages = outageLog()
  // Before feathers-sync: it gives the subscriber the publisher's error listeners (else its own, which print).
  publisher.on('error', outages.onError)

  app.configure(
    redisSync({
      uri: redisUrl,
      key: channel,
      redisClient: publisher,
      serialize: serializeEvent,
      deserialize: deserializeEvent
    })
  )
  app.hooks({ around: { all: [keepUnpublishedEventsLocal(app)] } })

  const { sub: subscriber, ready } = (app as any).sync as { sub: RedisClient; ready: Promise<unknown> }
  publisher.on('ready', outages.onReady)
  subscriber.on('ready', outages.onReady)
  const subscribed = ready.then(() => undefined)
  subscribed.catch(() => undefined) // awaited by startServer; not an unhandled rejection meanwhile
  app.set('eventSync', {
    channel,
    ready: subscribed,
    close: async () => {
      await Promise.all([closeClient(subscriber), closeClient(publisher)])
    }
  })
}
