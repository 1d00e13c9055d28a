import type { RealTimeConnection } from '@feathersjs/feathers'
import type { AuthenticationResult } from '@feathersjs/authentication'
import { CombinedChannel } from '@feathersjs/transport-commons'
import type { Channel } from '@feathersjs/transport-commons'
import { isClosed } from './connections'
import type { Application, HookContext } from '../declarations'

/**
 * Who receives which event. A connection joins channels only by logging in: its user's channel
 * and the channel of every authenticated connection. Anonymous connections are in no channel, and
 * a service without a publisher sends nothing: nothing is published "to everyone".
 *
 * Leaving is Feathers' own: on logout, on disconnect and when the JWT of the connection expires
 * (JWTStrategy then emits `disconnect`, which closes the socket), the connection leaves every channel.
 */
export const AUTHENTICATED_CHANNEL = 'authenticated'

export const userChannel = (userId: string) => `users/${userId}`

type OwnerOf<T> = (record: T) => string | null | undefined
type Publisher = (record: unknown, context: HookContext) => Channel | undefined

// The publishers made here, with the owner each reads off a record (none for the authenticated
// channel): what they publish may be shared with other instances (see event-sync.ts).
const declaredPublishers = new WeakMap<Publisher, OwnerOf<unknown> | null>()

const declared = (publisher: Publisher, ownerOf: OwnerOf<unknown> | null = null) => {
  declaredPublishers.set(publisher, ownerOf)
  return publisher
}

export const isDeclaredPublisher = (publisher: unknown) => declaredPublishers.has(publisher as Publisher)

/**
 * Who owns the record of an event, read on the instance where it happened, from the record as it is
 * stored: another instance gets the payload after the external resolvers, which may hide the owner
 * (a mapping's `userId`), so the owner travels beside it.
 */
export function ownerOfEvent(publisher: unknown, record: unknown): string | undefined {
  const ownerOf = declaredPublishers.get(publisher as Publisher)
  const owner = ownerOf && record ? ownerOf(record) : undefined
  return typeof owner === 'string' ? owner : undefined
}

// Where @feathersjs/transport-commons keeps the app's channels by name (its `keys.CHANNELS`, not
// exported by the package). Its public `app.channels` lists the names, a new array on every call.
const CHANNELS = Symbol.for('@feathersjs/transport-commons/channels')

/**
 * The channel if someone is in it. `app.channel(name)` would create it, and an empty channel is
 * only dropped when its last connection leaves: one would pile up for every user who ever had an
 * event while offline, and every logout and disconnect goes through all channels.
 * (test/unit/library-internals.test.ts checks where the channels are kept.)
 */
const existingChannel = (app: Application, name: string): Channel | undefined =>
  (app as { [CHANNELS]?: Record<string, Channel> })[CHANNELS]?.[name]

/**
 * A publisher that sends an event to the connections of the user who owns the record; the owner is
 * read from the record itself (or, for an event from another instance, sent with it), so internal
 * calls and calls from other instances publish right too. Events are emitted one record at a time,
 * whatever the method returned.
 */
export const publishToOwner = <T>(ownerOf: OwnerOf<T>) => {
  // The service's records are `T`s.
  const ownerOfRecord: OwnerOf<unknown> = (record) => ownerOf(record as T)
  return declared((record, context) => {
    const sent = (context as { owner?: unknown }).owner
    const owner = sent !== undefined ? sent : record ? ownerOfRecord(record) : undefined
    return typeof owner === 'string' ? existingChannel(context.app, userChannel(owner)) : undefined
  }, ownerOfRecord)
}

/** A publisher that sends an event to every authenticated connection. */
export const publishToAuthenticated = () =>
  declared((record, context) => (record ? existingChannel(context.app, AUTHENTICATED_CHANNEL) : undefined))

/**
 * Sends `event` (not a service's: no path) with `payload` to every authenticated connection of this
 * instance, through Feathers' dispatcher as service events go: the app's `publish` event, which
 * @feathersjs/transport-commons sends to each socket of the channel as `<context.path> <event>` with
 * `context.dispatch`. Undocumented; test/unit/library-internals.test.ts checks it.
 */
export function sendToAuthenticated(app: Application, event: string, payload: Record<string, unknown>) {
  const channel = existingChannel(app, AUTHENTICATED_CHANNEL)
  if (channel && channel.length > 0) {
    app.emit('publish', event, new CombinedChannel([channel]), { path: '', dispatch: payload }, payload)
  }
}

function joinUserChannels(
  app: Application,
  authResult: AuthenticationResult,
  connection?: RealTimeConnection
) {
  const userId = authResult?.user?.id
  if (!connection || isClosed(connection) || typeof userId !== 'string') {
    return
  }
  // Logging in again on the same socket, possibly as someone else, starts from no channel.
  // (`app.channel([])` throws: a fresh instance has no channel before its first login or event.)
  if (app.channels.length > 0) {
    app.channel(app.channels).leave(connection)
  }
  app.channel(userChannel(userId), AUTHENTICATED_CHANNEL).join(connection)
}

/**
 * A removed user's connections are logged off as on token expiry: they leave every channel, lose
 * their authentication and their sockets close. Deferred to the end of this turn of the event loop
 * so that the caller's own answer and the `users removed` event still reach the user first.
 */
function logOffRemovedUser(app: Application, user: { id?: unknown }) {
  if (typeof user?.id !== 'string') {
    return
  }
  const connections = [...(existingChannel(app, userChannel(user.id))?.connections ?? [])]
  setImmediate(() => connections.forEach((connection) => app.emit('disconnect', connection)))
}

export const channels = (app: Application) => {
  app.on('login', (authResult: AuthenticationResult, { connection }: { connection?: RealTimeConnection }) =>
    joinUserChannels(app, authResult, connection)
  )
  app.service('users').on('removed', (user: { id?: unknown }) => logOffRemovedUser(app, user))
}
