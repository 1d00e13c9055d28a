import { createHmac, timingSafeEqual } from 'node:crypto'
import { getDispatch } from '@feathersjs/schema'
import { isUuid } from '../declarative/fields'
import { logger } from '../logger'

/**
 * What goes on the deployment's Redis stream, and how what comes back is checked.
 *
 * An entry is three fields: `o` the instance that wrote it (a random id per process), `m` the
 * message (JSON) and `s` the signature of both (HMAC-SHA256 with a key made from the JWT secret
 * and the deployment's namespace). Whoever else can write to the stream (another deployment, a
 * stray script, an attacker who reached Redis) cannot make an entry that an instance delivers or
 * counts: anything unsigned or malformed is dropped with a warning (see `dropWarnings`).
 *
 * Events and ended sessions carry their number on their instance (`seq`, from 1, no gaps) and
 * when that instance started (`boot`): receivers drop what they have seen and notice what they
 * missed (event-order.ts). Only what the publishers and the sockets need is sent: the path, the
 * event, the payload after the external resolvers and the owner. Never the hook context (it
 * carries the raw record with the password hash, the caller's params and request headers).
 */

export const SERVICE_EVENTS: ReadonlySet<string> = new Set(['created', 'updated', 'patched', 'removed'])
export const MAX_MESSAGE_BYTES = 1024 * 1024
/** Ended sessions per message: a user's many sessions go in several. */
export const MAX_ENDED_SESSIONS = 1000
const DROP_WARNING_INTERVAL_MS = 1000

export interface SyncedEvent {
  event: string
  path: string
  data: unknown
  /** The owner of the record, when its publisher sends to the owner (see channels.ts `ownerOfEvent`). */
  owner?: string
}

/** Where a numbered message comes from: its instance's start (ms) and its number there. */
export interface Sequence {
  boot: number
  seq: number
}

export type Message =
  | ({ kind: 'event'; origin: string; data: Record<string, unknown> } & Sequence & Omit<SyncedEvent, 'data'>)
  | ({ kind: 'sessions-ended'; origin: string; ids: string[] } & Sequence)
  | { kind: 'heartbeat'; origin: string; sentAt: number }
  /** An entry this instance wrote: delivered here when it was made. */
  | { kind: 'own' }
  | { kind: 'dropped'; reason: string }

/** The payload the sockets get: the record as the external resolvers left it. */
const publicPayload = (data: unknown) => getDispatch(data) ?? data

/** An event as it is sent: never throws (the row is already written; the call must not fail). */
export function serializeEvent({ event, path, data, owner }: SyncedEvent, { boot, seq }: Sequence): string {
  try {
    // (JSON leaves `owner` out when it is undefined.)
    return JSON.stringify({ seq, boot, event, path, data: publicPayload(data), owner })
  } catch (error) {
    logger.error({ path, event, err: error }, 'An event could not be serialized; sent without payload')
    return JSON.stringify({ seq, boot, event, path, data: null })
  }
}

export const serializeEndedSessions = (ids: string[], sequence: Sequence) =>
  JSON.stringify({ ...sequence, sessionsEnded: ids })

export const serializeHeartbeat = (sentAt: number) => JSON.stringify({ heartbeat: sentAt })

/** Signs and checks the entries of one deployment. */
export class EntrySigner {
  private readonly key: Buffer

  constructor(secret: string, namespace: string) {
    this.key = createHmac('sha256', secret).update(`realtime events of ${namespace}`).digest()
  }

  /** The fields of a stream entry: `o`, `m` and `s`, in that order. */
  entry(origin: string, message: string): string[] {
    return ['o', origin, 'm', message, 's', this.signature(origin, message)]
  }

  verify(origin: string, message: string, signature: string) {
    const expected = Buffer.from(this.signature(origin, message))
    const given = Buffer.from(signature)
    return given.length === expected.length && timingSafeEqual(given, expected)
  }

  private signature(origin: string, message: string) {
    return createHmac('sha256', this.key).update(origin).update('\n').update(message).digest('base64url')
  }
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype

const isPositiveInteger = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value > 0

function sequenceOf(message: Record<string, unknown>): Sequence | undefined {
  const { seq, boot } = message
  return isPositiveInteger(seq) && isPositiveInteger(boot) ? { seq, boot } : undefined
}

export interface ParseContext {
  /** This instance's origin id. */
  self: string
  signer: EntrySigner
  /** Whether `path` is a service of this app that publishes its events. */
  isPublished(path: string): boolean
}

function parseEndedSessions(origin: string, message: Record<string, unknown>, sequence: Sequence): Message {
  const { sessionsEnded: ids, seq: _seq, boot: _boot, ...rest } = message
  const valid =
    Object.keys(rest).length === 0 &&
    Array.isArray(ids) &&
    ids.length > 0 &&
    ids.length <= MAX_ENDED_SESSIONS &&
    ids.every(isUuid)
  return valid
    ? { kind: 'sessions-ended', origin, ...sequence, ids: ids.map((id: string) => id.toLowerCase()) }
    : { kind: 'dropped', reason: 'not a list of session ids' }
}

function parseEvent(
  origin: string,
  message: Record<string, unknown>,
  sequence: Sequence,
  isPublished: (path: string) => boolean
): Message {
  const { event, path, data, owner, seq: _seq, boot: _boot, ...rest } = message
  if (Object.keys(rest).length > 0 || typeof event !== 'string' || !SERVICE_EVENTS.has(event)) {
    return { kind: 'dropped', reason: 'not a service event' }
  }
  if (owner !== undefined && !isUuid(owner)) {
    return { kind: 'dropped', reason: 'the owner is not a user id' }
  }
  if (typeof path !== 'string' || !isPublished(path)) {
    return { kind: 'dropped', reason: 'no such published service' }
  }
  if (!isPlainObject(data)) {
    return { kind: 'dropped', reason: 'the payload is not a record' }
  }
  return { kind: 'event', origin, ...sequence, event, path, data, owner }
}

/** The fields of an entry as the app writes them, or undefined. */
function fieldsOf(fields: unknown) {
  if (!Array.isArray(fields) || fields.length !== 6 || !fields.every((field) => typeof field === 'string')) {
    return undefined
  }
  const [o, origin, m, message, s, signature] = fields as string[]
  // The origin is a UUID: no separator inside it can move bytes between it and the message.
  return o === 'o' && m === 'm' && s === 's' && isUuid(origin) ? { origin, message, signature } : undefined
}

/** What an entry of the stream is, or why it is dropped. */
export function parseEntry(rawFields: unknown, { self, signer, isPublished }: ParseContext): Message {
  const fields = fieldsOf(rawFields)
  if (!fields) {
    return { kind: 'dropped', reason: 'not an entry of this app' }
  }
  const { origin, message: raw, signature } = fields
  if (raw.length > MAX_MESSAGE_BYTES) {
    return { kind: 'dropped', reason: 'too large' }
  }
  const own = origin === self
  if (own && !raw.startsWith('{"heartbeat":')) {
    return { kind: 'own' }
  }
  if (!signer.verify(origin, raw, signature)) {
    return { kind: 'dropped', reason: 'not signed by this deployment' }
  }
  let message: unknown
  try {
    message = JSON.parse(raw)
  } catch {
    return { kind: 'dropped', reason: 'not JSON' }
  }
  if (!isPlainObject(message)) {
    return { kind: 'dropped', reason: 'not an object' }
  }
  if (isPositiveInteger(message.heartbeat) && Object.keys(message).length === 1) {
    return { kind: 'heartbeat', origin, sentAt: message.heartbeat }
  }
  const sequence = sequenceOf(message)
  if (!sequence) {
    return { kind: 'dropped', reason: 'no sequence number' }
  }
  return 'sessionsEnded' in message
    ? parseEndedSessions(origin, message, sequence)
    : parseEvent(origin, message, sequence, isPublished)
}

/**
 * One warning a second at most: the first drop at once, the ones after it counted and warned of
 * together when the second is over, so junk cannot flood the log and none goes uncounted.
 */
export function dropWarnings() {
  let lastWarning = 0
  let dropped = 0
  let lastReason = ''
  let pending: NodeJS.Timeout | undefined
  const warn = () => {
    logger.warn(
      { reason: lastReason, dropped },
      'Dropped an entry on the events stream that is not an event of this deployment'
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
