/**
 * Exactly once, in order: what an instance keeps to deliver each event of the stream once to its
 * sockets, notice the ones it missed, and never deliver an older version of a record after a newer one.
 */

/** Instances remembered (each process start is a new one); the least recently heard from go first. */
const MAX_ORIGINS = 10_000
/** Records whose last delivered version is remembered; the least recently changed go first. */
const MAX_RECORDS = 50_000

export type Admission = 'next' | 'duplicate' | 'after-gap'

/**
 * The last number seen from each instance. Every instance numbers what it sends from 1 without
 * gaps and writes it in that order, so a number not above the last one seen is a duplicate (a
 * resend after a reconnect) and a jump means that what lies between is lost: trimmed off the
 * stream, dropped by the sender past its bound, or gone with a restarted Redis.
 */
export class OriginSequences {
  private readonly last = new Map<string, number>()

  /** `boot`: when this instance started (ms). */
  constructor(private readonly boot: number) {}

  admit(origin: string, seq: number, boot: number): Admission {
    const last = this.last.get(origin)
    if (last !== undefined && seq <= last) {
      return 'duplicate'
    }
    remember(this.last, origin, seq, MAX_ORIGINS)
    if (last === undefined) {
      // An instance that started after this one was heard from its first message on, unless some
      // were lost. One that started before may have sent any number before this one listened.
      return boot > this.boot && seq > 1 ? 'after-gap' : 'next'
    }
    return seq === last + 1 ? 'next' : 'after-gap'
  }
}

interface Versioned {
  id: string
  version: number
}

const isVersioned = (record: unknown): record is Versioned =>
  typeof (record as Versioned)?.id === 'string' && Number.isSafeInteger((record as Versioned).version)

/**
 * The last version of each record delivered here (patients and doctors carry `version`): an
 * event with a version not above it is not delivered. Two changes of one record made on two
 * instances can reach a third in either order, and an event queued through an outage can arrive
 * after a later one made here.
 */
export class RecordVersions {
  private readonly delivered = new Map<string, number>()

  admit(path: string, record: unknown): boolean {
    if (!isVersioned(record)) {
      return true
    }
    const key = `${path}/${record.id}`
    const last = this.delivered.get(key)
    if (last !== undefined && record.version <= last) {
      return false
    }
    remember(this.delivered, key, record.version, MAX_RECORDS)
    return true
  }
}

/** Sets `key` as the most recent entry of `map`, forgetting the oldest past `max`. */
function remember<V>(map: Map<string, V>, key: string, value: V, max: number) {
  map.delete(key)
  map.set(key, value)
  if (map.size > max) {
    map.delete(map.keys().next().value as string)
  }
}
