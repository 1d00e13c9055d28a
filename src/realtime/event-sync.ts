import { randomUUID } from 'node:crypto'
import { isDeclaredPublisher, ownerOfEvent, sendToAuthenticated } from './channels'
import {
  EntrySigner,
  MAX_ENDED_SESSIONS,
  SERVICE_EVENTS,
  dropWarnings,
  parseEntry,
  serializeEndedSessions,
  serializeEvent,
  serializeHeartbeat
} from './event-messages'
import type { Message, ParseContext, SyncedEvent } from './event-messages'
import { OriginSequences, RecordVersions } from './event-order'
import { StreamReader, StreamWriter } from './event-stream'
import type { Application, ApplicationByPath } from '../declarations'
import { logger, outageLog } from '../logger'
import type { SharedRedis } from '../database/redis'

/**
 * Scale-out: with REDIS_URL, the instances of a deployment share their service events through a
 * Redis Stream (event-stream.ts).
 *
 * - An event reaches the sockets of the instance where it happened at once, through the service's
 *   own publishers, whatever state Redis is in; it is also appended to the stream (event-messages.ts
 *   says what crosses Redis, and how it is signed and checked).
 * - Every instance reads the stream and emits the events of the other instances on its own
 *   services, so that their publishers (and every other listener: the log-off of a removed user,
 *   the authentication cache) run here as for a local event. Its own it skips: they were delivered.
 * - Each event is delivered at most once per instance, so once per socket (event-order.ts: numbered
 *   per instance, duplicates dropped), and never an older version of a record after a newer one.
 * - While Redis is away, events for the other instances wait in a bounded queue and are written
 *   once it is back (readers resume from their last entry, or read a stream that Redis began again
 *   from its start). Past the bound they are dropped; an instance that notices a gap in what it
 *   read sends its authenticated sockets a `resync` event: refetch, events were missed.
 */

export type EventDelivery = 'ok' | 'down'

export interface EventSync {
  /** The Redis stream the events go through. */
  stream: string
  /** Resolves once this instance writes and reads the stream; rejects when Redis cannot be reached. */
  ready: Promise<void>
  /** Whether this instance's own heartbeat came back through Redis lately. */
  delivery(): EventDelivery
  /**
   * Tells every other instance of the deployment that these sessions have ended: on the events
   * stream, so they arrive in order with the events this instance sends.
   */
  publishEndedSessions(ids: string[]): Promise<void>
  /** `listener` hears of the sessions other instances reported ended. */
  onEndedSessions(listener: (ids: string[]) => void): void
  close(): Promise<void>
}

/** What a socket receives when events meant for it were lost: refetch what it shows. */
export const RESYNC_EVENT = 'resync'

// A heartbeat is overdue, and delivery down, after this many intervals without one coming back.
const MISSED_HEARTBEATS = 3
/**
 * How long an event written to Redis is kept to be written again after a reconnect: Redis may
 * have lost it in a restart before every instance had read it (they read within milliseconds,
 * or within seconds after an outage of their own connection).
 */
const REPLAY_MS = 10_000
/** How long a stopping instance waits for its queued events to reach Redis. */
const CLOSE_WAIT_MS = 2000

// Where @feathersjs/transport-commons keeps the publishers of a service and of the app, by event
// (its `keys.PUBLISHERS`, not exported by the package): no public API lists them
// (test/unit/library-internals.test.ts checks where they are kept).
const PUBLISHERS = Symbol.for('@feathersjs/transport-commons/publishers')

type WithPublishers = { [PUBLISHERS]?: Record<PropertyKey, unknown> }

const declaredPublishersOf = (target: unknown) => {
  const publishers = (target as WithPublishers | undefined)?.[PUBLISHERS] ?? {}
  return Reflect.ownKeys(publishers)
    .map((key) => publishers[key])
    .filter(isDeclaredPublisher)
}

const declaresPublisher = (target: unknown) => declaredPublishersOf(target).length > 0

const servicesOf = (app: Application) => (app as ApplicationByPath).services

/** The owner of an event's record, read by the service's own publisher. */
function ownerOf(app: Application, path: string, data: unknown) {
  return declaredPublishersOf(servicesOf(app)[path])
    .map((publisher) => ownerOfEvent(publisher, data))
    .find((owner) => owner !== undefined)
}

/**
 * Only events published by the publishers of channels.ts are shared. The others stay inside this
 * instance, above all `authentication created`, which carries the access token: the
 * authentication service registers a publisher of its own that publishes nothing.
 */
const hasPublisher = (app: Application, service: unknown) =>
  declaresPublisher(service) || declaresPublisher(app)

/** A service as Feathers registers it (what a mixin is given). */
type RegisteredService = Parameters<Application['mixins'][number]>[0]

type Emit = (this: unknown, event: string | symbol, ...args: unknown[]) => boolean

/** The emit of a service as Feathers made it, and what an event of the stream is emitted with there. */
interface Emitter {
  service: RegisteredService
  emit: Emit
}

function emitSafely({ service, emit }: Emitter, event: string, data: unknown, context: unknown) {
  try {
    return emit.call(service, event, data, context)
  } catch (error) {
    // A listener that throws must not fail the call whose change is already written.
    logger.error(
      { err: error, event, path: (context as { path?: string })?.path },
      'An event listener failed'
    )
    return true
  }
}

/**
 * Wraps the `emit` of every service registered from now on: a service event of a published
 * service is delivered here (in version order) and handed to `share`. Answers the emitters by
 * path, to emit what comes from the stream. Feathers sends every service event through the `emit`
 * of the service its mixins were given, once per record, as `(event, record, context)`; no public
 * hook sees them all before the publishers do (test/unit/library-internals.test.ts checks it).
 */
function interceptServiceEvents(
  app: Application,
  versions: RecordVersions,
  share: (event: SyncedEvent) => void
) {
  const emitters = new Map<string, Emitter>()
  app.mixins.push((service, path) => {
    const emitter: Emitter = { service, emit: service.emit }
    emitters.set(path, emitter)
    service.emit = function (event: string | symbol, data: unknown, context: unknown) {
      if (typeof event !== 'string' || !SERVICE_EVENTS.has(event) || !hasPublisher(app, service)) {
        return emitter.emit.call(this, event, data, context)
      }
      if (!versions.admit(path, data)) {
        return false
      }
      const delivered = emitSafely(emitter, event, data, context)
      share({ event, path, data, owner: ownerOf(app, path, data) })
      return delivered
    }
  })
  /** The emitter of `path` if it is a service of this app that publishes its events. */
  return (path: string) => {
    const emitter = Object.hasOwn(app.services, path) ? emitters.get(path) : undefined
    return emitter && emitter.service === servicesOf(app)[path] && hasPublisher(app, emitter.service)
      ? emitter
      : undefined
  }
}

/**
 * Every `heartbeatMs` the instance writes a heartbeat on the stream; delivery is down while its
 * connections are not ready or the last heartbeat written did not come back in time. That covers
 * a broken connection as well as a silent one.
 */
function heartbeats(send: (message: string) => void, heartbeatMs: number) {
  let lastEcho = Date.now()
  let timer: NodeJS.Timeout | undefined
  const beat = () => send(serializeHeartbeat(Date.now()))
  return {
    start() {
      lastEcho = Date.now()
      timer = setInterval(beat, heartbeatMs).unref()
      beat()
    },
    stop: () => clearInterval(timer),
    /** A heartbeat of this instance, written at `sentAt`, came back. */
    echo(sentAt: number) {
      lastEcho = Math.max(lastEcho, sentAt)
    },
    overdue: () => Date.now() - lastEcho > MISSED_HEARTBEATS * heartbeatMs
  }
}

type EventMessage = Extract<Message, { kind: 'event' }>

interface ReceiverOptions {
  context: ParseContext
  /** When this instance started. */
  boot: number
  versions: RecordVersions
  emitterOf(path: string): Emitter | undefined
  /** A heartbeat of this instance, sent at `sentAt`, came back. */
  echo(sentAt: number): void
  endedSessions(ids: string[]): void
}

/**
 * What an instance does with the entries it reads: the other instances' events emitted on its own
 * services, each once and in version order; its own skipped; junk dropped with a warning; and its
 * authenticated sockets told to resync (once a batch) when another instance's numbers jump.
 */
class StreamReceiver {
  private readonly sequences: OriginSequences
  private readonly dropped = dropWarnings()

  constructor(
    private readonly app: Application,
    private readonly options: ReceiverOptions
  ) {
    this.sequences = new OriginSequences(options.boot)
  }

  receive(entries: Array<[string, unknown]>) {
    let resynced = false
    for (const [, fields] of entries) {
      const message = parseEntry(fields, this.options.context)
      if (message.kind === 'heartbeat') {
        if (message.origin === this.options.context.self) this.options.echo(message.sentAt)
        continue
      }
      if (message.kind === 'dropped') {
        this.dropped(message.reason)
        continue
      }
      if (message.kind === 'own') {
        continue
      }
      const admission = this.sequences.admit(message.origin, message.seq, message.boot)
      if (admission === 'duplicate') {
        continue
      }
      if (admission === 'after-gap' && !resynced) {
        resynced = true
        this.resync(message.origin)
      }
      try {
        if (message.kind === 'sessions-ended') this.options.endedSessions(message.ids)
        else this.deliver(message)
      } catch (error) {
        logger.error({ err: error }, 'An event from Redis could not be delivered')
      }
    }
  }

  private deliver({ event, path, data, owner }: EventMessage) {
    if (this.options.versions.admit(path, data)) {
      const emitter = this.options.emitterOf(path)!
      const { service } = emitter
      const context = { app: this.app, service, path, event, dispatch: data, result: data, owner }
      emitSafely(emitter, event, data, context)
    }
  }

  private resync(origin: string) {
    logger.warn({ origin }, 'Events of another instance were lost: sockets told to resync')
    sendToAuthenticated(this.app, RESYNC_EVENT, { reason: 'events-lost' })
  }
}

export interface EventSyncOptions {
  redis: SharedRedis
  heartbeatMs: number
  queueMaxEvents: number
  queueMaxBytes: number
  streamMaxLength: number
}

const warnOverflow =
  ({ queueMaxEvents, queueMaxBytes }: EventSyncOptions) =>
  (dropped: number) => {
    if (dropped > 0) {
      logger.warn(
        { dropped, queueMaxEvents, queueMaxBytes },
        'Events for the other instances past the queue bound were dropped: their sockets will be told to resync'
      )
    }
  }

/** Configures the event sync on the app's Redis; call before the services are registered. */
export const eventSync = (options: EventSyncOptions) => (app: Application) => {
  const { redis } = options
  const self = randomUUID()
  const boot = Date.now()
  let seq = 0
  const stream = `${redis.namespace}:events`
  const signer = new EntrySigner(app.get('authentication').secret, redis.namespace)
  const outage = outageLog(
    "Redis unreachable: events reach this instance's sockets only; the other instances get them once it is back",
    'Events stream on Redis reachable again'
  )
  const connection = { redis: redis.client, key: stream, onReady: outage.recovered, onError: outage.failed }
  const writer = new StreamWriter({
    ...connection,
    maxLength: options.streamMaxLength,
    maxEntries: options.queueMaxEvents,
    maxBytes: options.queueMaxBytes,
    replayMs: REPLAY_MS,
    fieldsOf: (message) => signer.entry(self, message),
    onOverflow: warnOverflow(options)
  })
  const send = (message: string, numbered: boolean) =>
    writer.push({ message, bytes: Buffer.byteLength(message), numbered })
  const sequence = () => ({ boot, seq: ++seq })

  const versions = new RecordVersions()
  const emitterOf = interceptServiceEvents(app, versions, (event) =>
    send(serializeEvent(event, sequence()), true)
  )
  const heartbeat = heartbeats((message) => {
    if (writer.connected) send(message, false)
  }, options.heartbeatMs)
  const endedSessionListeners: Array<(ids: string[]) => void> = []
  const receiver = new StreamReceiver(app, {
    context: { self, signer, isPublished: (path) => emitterOf(path) !== undefined },
    boot,
    versions,
    emitterOf,
    echo: heartbeat.echo,
    endedSessions: (ids) => endedSessionListeners.forEach((listener) => listener(ids))
  })
  const reader = new StreamReader({ ...connection, onEntries: (entries) => receiver.receive(entries) })

  // The shared client (the login throttle's counts) reconnects by itself; the writer and reader
  // tell whether Redis can be reached.
  redis.client.connect().catch(() => undefined)
  const ready = Promise.all([writer.firstConnection(), reader.start()]).then(() => heartbeat.start())
  ready.catch(() => undefined) // awaited by startServer; not an unhandled rejection meanwhile

  app.set('eventSync', {
    stream,
    ready,
    delivery: () => (writer.connected && reader.connected && !heartbeat.overdue() ? 'ok' : 'down'),
    publishEndedSessions: async (ids) => {
      for (let start = 0; start < ids.length; start += MAX_ENDED_SESSIONS) {
        send(serializeEndedSessions(ids.slice(start, start + MAX_ENDED_SESSIONS), sequence()), true)
      }
    },
    onEndedSessions: (listener) => endedSessionListeners.push(listener),
    close: async () => {
      heartbeat.stop()
      await reader.stop()
      const unsent = await writer.close(writer.connected ? CLOSE_WAIT_MS : 0)
      if (unsent > 0) {
        logger.error(
          { unsent },
          "Stopped before these events reached Redis: the other instances' sockets miss them"
        )
      }
    }
  })
}

declare module '../declarations' {
  interface Configuration {
    /** Set when REDIS_URL is: events shared with the deployment's other instances. */
    eventSync?: EventSync
  }
}
