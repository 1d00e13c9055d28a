import type { RealTimeConnection } from '@feathersjs/feathers'
import type { Application } from '../../declarations'
import { logger, outageLog } from '../../logger'
import type { Ending, SessionStore, Which } from './store'

/**
 * Which sessions have ended, known to every instance within a second, without a query per request.
 *
 * An access token names its session (`sid`). Each instance keeps the ids of the sessions that ended
 * within the last access-token lifetime in a Map, which the JWT strategy consults on every request
 * and socket call: one lookup (a token of a session that ended earlier than that has expired anyway).
 * The Map is filled
 *
 * - at start, from the database: the ends of the last access-token lifetime;
 * - when this instance ends a session (logout, `DELETE /api/auth/sessions/:id`, a reused refresh
 *   token, a password change, a removed user): at once, before it answers;
 * - with REDIS_URL, from the deployment's events stream: the instance that ended sessions appends
 *   their ids there behind its service events, so every other instance learns of them a round trip
 *   later, in order with the events (src/realtime/event-sync.ts);
 * - every `POLL_MS`, from the database: the safety net for a message that never arrived (Redis
 *   restarted, an instance without Redis). It reads the session ends written since the last poll from
 *   the audit trail (every end writes its record there in the same statement, and the trail outlives
 *   removed users, whose sessions go with them), along a partial index: no rows most of the time.
 *
 * A session's sockets (tracked here from their login) are logged off on each instance as soon as it
 * learns of the end: they leave every channel and lose their authentication, and a second later
 * they are closed, as on token expiry. The same poll reads the users changed since, and the JWT strategy forgets them: a patched
 * or removed user is no longer served from its 10 s cache on an instance that missed the event.
 */

/**
 * 500 ms: an end whose message was lost is picked up within 0.5 s plus a query, inside the one
 * second the contract allows with room for a busy event loop. The poll is one indexed statement that
 * finds nothing most of the time: two a second per instance, against thousands of requests.
 */
export const POLL_MS = 500
/**
 * Each poll reads again what ended in the last few seconds: an end whose statement committed late
 * (it waited for a lock) carries an earlier time than the poll before saw. Users' `updatedAt` is the
 * instances' clock, which may differ from the database's a little.
 */
const OVERLAP_MS = 5000
/**
 * A poll logs off the sockets of sessions that ended at least this long ago: long enough for the
 * events stream to deliver first what came before the end (a removed user's `users removed` event).
 */
const SETTLE_MS = 200
/** Kept beyond the access-token lifetime for clocks that differ between instances. */
const CLOCK_MARGIN_MS = 60_000
const PRUNE_EVERY_MS = 60_000
/**
 * How long a logged-off socket stays open: long enough for the answers (401) to the calls it sent
 * before it learnt of the end. A Feathers socket client without `ackTimeout` would wait forever for
 * the answer to a call that the closing of its socket cut off.
 */
const CLOSE_AFTER_MS = 1000
/** Expired refresh tokens are deleted about this often. */
const PRUNE_TOKENS_EVERY_MS = 10 * 60_000

/** Sessions known ended, per instance: the oldest are forgotten first past this. */
const MAX_ENDED = 100_000

/** Sessions known open, per instance: some thousands of users' worth. */
const OPEN_CACHE_SIZE = 10_000

export interface SessionRegistryOptions {
  store: SessionStore
  /** How long an access token is valid: how long an ended session must be remembered. */
  accessLifetimeMs: number
  /** With REDIS_URL: tells the deployment's other instances of ended sessions. */
  publish?: (ids: string[]) => Promise<void>
  pollMs?: number
}

export class SessionRegistry {
  readonly store: SessionStore
  /** Ended session id → when it may be forgotten (ms): in the order they were learnt. */
  private readonly ended = new Map<string, number>()
  /** Session id → its user, for sessions found open: in the order they were last used. */
  private readonly open = new Map<string, { userId: string; expires: number }>()
  private readonly connections = new Map<string, Set<RealTimeConnection>>()
  private readonly sessionOfConnection = new WeakMap<RealTimeConnection, string>()
  private readonly userListeners: Array<(userId: string, updatedAt: Date) => void> = []
  private readonly outage = outageLog(
    'Could not read ended sessions; trying again',
    'Reading ended sessions again',
    'warn'
  )
  private readonly pruneOutage = outageLog(
    'Could not delete expired refresh tokens; trying again later',
    'Deleting expired refresh tokens again',
    'warn'
  )
  private timer?: NodeJS.Timeout
  private polling?: Promise<void>
  private stopped = false
  private sessionsSince = new Date(0)
  private usersSince = new Date(0)
  private lastPrune = 0
  private lastTokenPrune = Date.now()

  constructor(
    private readonly app: Application,
    private readonly options: SessionRegistryOptions
  ) {
    this.store = options.store
  }

  /**
   * Whether `id` is an open session of `userId`, asked by the JWT strategy on every request: not
   * if it is known ended, else from the sessions this instance knows open, else
   * one query, whose answer is kept for an access-token lifetime (at most OPEN_CACHE_SIZE, least
   * recently used first out) or until the session ends.
   */
  async isOpenSessionOf(id: string, userId: string): Promise<boolean> {
    if (this.ended.has(id)) return false
    const known = this.open.get(id)
    if (known && known.expires > Date.now()) {
      this.open.delete(id)
      this.open.set(id, known)
      return known.userId === userId
    }
    const open = await this.store.isOpen(id, userId)
    // An end learnt while the query ran wins.
    if (!open || this.ended.has(id)) return false
    if (this.open.size >= OPEN_CACHE_SIZE) this.open.delete(this.open.keys().next().value as string)
    this.open.set(id, { userId, expires: Date.now() + this.options.accessLifetimeMs })
    return true
  }

  /**
   * `listener` hears of users changed (found by the poll), with the time of their last change. Each
   * poll reads again the last few seconds, so a change may be heard of more than once.
   */
  onUserChanged(listener: (userId: string, updatedAt: Date) => void) {
    this.userListeners.push(listener)
  }

  /**
   * Ends the open sessions `which` names (with their audit records) and makes every instance refuse
   * their tokens and log off their sockets. `logOff: false` leaves the sockets to someone else: a
   * removed user's get the `users removed` event first, then src/realtime/channels.ts logs them off.
   */
  async end(which: Which, ending: Ending, { logOff = true } = {}) {
    const ended = await this.store.end(which, ending)
    this.haveEnded(
      ended.map(({ id }) => id),
      { logOff }
    )
    return ended
  }

  /** Sessions ended by `store.end` in a transaction, once it has committed: as `end` goes on. */
  haveEnded(ids: string[], { logOff = true } = {}) {
    if (ids.length > 0) {
      this.learn(ids, Date.now(), logOff)
      if (logOff) this.announce(ids)
    }
  }

  /** Ended sessions reported on the events stream by another instance. */
  received(ids: string[]) {
    this.learn(ids, Date.now(), true)
  }

  /** A socket logged in with an access token of session `id`. */
  track(connection: RealTimeConnection, id: string) {
    this.untrack(connection)
    if (this.ended.has(id)) {
      this.logOff([connection])
      return
    }
    this.sessionOfConnection.set(connection, id)
    let connections = this.connections.get(id)
    if (!connections) {
      connections = new Set()
      this.connections.set(id, connections)
    }
    connections.add(connection)
  }

  /** A socket logged out, logged in again or disconnected. */
  untrack(connection: RealTimeConnection) {
    const id = this.sessionOfConnection.get(connection)
    if (id === undefined) {
      return
    }
    this.sessionOfConnection.delete(connection)
    const connections = this.connections.get(id)
    connections?.delete(connection)
    if (connections?.size === 0) {
      this.connections.delete(id)
    }
  }

  /** Reads the ends of the last access-token lifetime, then polls; call before serving. */
  async start() {
    const now = Date.now()
    this.sessionsSince = new Date(now - this.options.accessLifetimeMs - CLOCK_MARGIN_MS)
    this.usersSince = new Date(now)
    await this.poll()
    this.schedule()
  }

  async stop() {
    this.stopped = true
    clearTimeout(this.timer)
    await this.polling
  }

  private schedule() {
    if (!this.stopped) {
      this.timer = setTimeout(() => void this.pollOnce(), this.options.pollMs ?? POLL_MS)
      this.timer.unref()
    }
  }

  private async pollOnce() {
    this.polling = this.poll()
      .then(() => this.outage.recovered())
      .catch((error: unknown) => this.outage.failed(error))
    await this.polling
    this.polling = undefined
    await this.pruneTokens()
    this.schedule()
  }

  private async poll() {
    const { now, sessions, users } = await this.store.changes(this.sessionsSince, this.usersSince)
    const since = new Date(now.getTime() - OVERLAP_MS)
    this.sessionsSince = since > this.sessionsSince ? since : this.sessionsSince
    this.usersSince = since > this.usersSince ? since : this.usersSince
    for (const { id, endedAt } of sessions) {
      const settled = now.getTime() - endedAt.getTime() >= SETTLE_MS
      this.learn([id], endedAt.getTime(), settled)
    }
    for (const { id, updatedAt } of users) {
      this.userListeners.forEach((listener) => listener(id, updatedAt))
    }
    this.forgetExpired()
  }

  /** Once in a while, one instance or another deletes expired refresh tokens. */
  private async pruneTokens() {
    const now = Date.now()
    if (this.stopped || now - this.lastTokenPrune < PRUNE_TOKENS_EVERY_MS) {
      return
    }
    this.lastTokenPrune = now
    await this.store
      .prune()
      .then(() => this.pruneOutage.recovered())
      .catch((error: unknown) => this.pruneOutage.failed(error))
  }

  private learn(ids: string[], endedAt: number, logOff: boolean) {
    const forgetAt = endedAt + this.options.accessLifetimeMs + CLOCK_MARGIN_MS
    for (const id of ids) {
      this.open.delete(id)
      if (!this.ended.has(id)) {
        this.ended.set(id, forgetAt)
      }
    }
    // Bounded whatever the events stream carries: a session forgotten here is not in `open`
    // either, so its next token is looked up, and the database says it has ended.
    for (const id of this.ended.keys()) {
      if (this.ended.size <= MAX_ENDED) break
      this.ended.delete(id)
    }
    if (logOff) {
      this.logOff(ids.flatMap((id) => [...(this.connections.get(id) ?? [])]))
    }
  }

  /**
   * Logged off: they leave every channel at once, so they receive nothing more, not even the event
   * of the change that ended their session (a password change); at the end of this turn of the
   * event loop (the caller's own answer goes first) they lose their authentication, so a call
   * already on its way is answered 401. `CLOSE_AFTER_MS` later their sockets are closed, as on
   * token expiry, so that a client notices; not one that logged in again meanwhile. (The JWT
   * strategy's `disconnect` takes the authentication off a connection, and the app's `disconnect`
   * event closes its socket: what Feathers does on token expiry, undocumented and checked by
   * test/unit/library-internals.test.ts.)
   */
  private logOff(connections: RealTimeConnection[]) {
    connections.forEach((connection) => this.untrack(connection))
    if (connections.length === 0) {
      return
    }
    const { app } = this
    if (app.channels.length > 0) {
      connections.forEach((connection) => app.channel(app.channels).leave(connection))
    }
    setImmediate(() => {
      for (const connection of connections) {
        void app.service('authentication').handleConnection('disconnect', connection)
      }
      setTimeout(() => {
        connections
          .filter((connection) => !this.sessionOfConnection.has(connection) && !connection.authentication)
          .forEach((connection) => app.emit('disconnect', connection))
      }, CLOSE_AFTER_MS).unref()
    })
  }

  /**
   * Not awaited: while Redis is away the message waits in the event sync's queue, and the answer does
   * not wait for it (the other instances' polls find the end meanwhile).
   */
  private announce(ids: string[]) {
    this.options.publish?.(ids).catch((error: unknown) => {
      logger.error({ err: error }, 'Could not publish ended sessions')
    })
  }

  /** Sessions that ended more than an access-token lifetime ago: their tokens have expired. */
  private forgetExpired() {
    const now = Date.now()
    if (now - this.lastPrune < PRUNE_EVERY_MS) {
      return
    }
    this.lastPrune = now
    for (const [id, forgetAt] of this.ended) {
      if (forgetAt > now) break
      this.ended.delete(id)
    }
  }
}

declare module '../../declarations' {
  interface Configuration {
    /** Which sessions have ended and which sockets are in which session. */
    sessionRegistry: SessionRegistry
  }
}
