import { TooManyRequests } from '@feathersjs/errors'
import type { RealTimeConnection } from '@feathersjs/feathers'
import type { ApplicationConfiguration } from '../configuration'
import { isClosed } from './connections'
import type { Application } from '../declarations'

export type SocketLimits = ApplicationConfiguration['sockets']

/** Whom a socket counts for: its user while it is authenticated, else the address it came from. */
type Counted = { user: string } | { address: string }

/** How many sockets each key holds; a key at zero is forgotten. */
class Tally {
  private readonly counts = new Map<string, number>()

  of(key: string) {
    return this.counts.get(key) ?? 0
  }

  add(key: string) {
    this.counts.set(key, this.of(key) + 1)
  }

  remove(key: string) {
    const count = this.of(key) - 1
    if (count > 0) this.counts.set(key, count)
    else this.counts.delete(key)
  }
}

const ADDRESS_UNKNOWN = 'unknown'

/**
 * The caps on Socket.io connections (`sockets` settings), per instance: every socket counts once,
 * for its user while it is authenticated (`perUser`), else for the address it came from
 * (`unauthenticatedPerAddress`; behind a trusted proxy, the client's). A login that would take a
 * user past the cap is refused (429) and changes no count; a new socket from an address at its cap
 * is refused at the handshake. Sockets count down when they close, and move back to their address
 * when they lose their authentication (logout, an ended session) but stay connected.
 */
export class SocketCaps {
  private readonly users = new Tally()
  private readonly addresses = new Tally()
  private readonly counted = new WeakMap<RealTimeConnection, Counted>()

  constructor(readonly limits: SocketLimits) {}

  /** The error of a handshake refused by `admitGuest`: sent to the client as its `connect_error`. */
  guestRefusal() {
    const { unauthenticatedPerAddress: limit } = this.limits
    const refusal = new TooManyRequests(
      `Too many unauthenticated sockets from this address: at most ${limit} at once; authenticate or close one first`,
      { limit }
    )
    return Object.assign(new Error(refusal.message), { data: refusal.toJSON() })
  }

  /**
   * A socket at its handshake: counted for its address, unless that address holds its cap of
   * unauthenticated sockets (false). One authenticated at the handshake already counts as its user's.
   */
  admitGuest(connection: RealTimeConnection, address = ADDRESS_UNKNOWN): boolean {
    if (this.counted.has(connection)) return true
    if (this.addresses.of(address) >= this.limits.unauthenticatedPerAddress) return false
    this.count(connection, { address })
    return true
  }

  /**
   * A socket logging in as `userId`: counted as that user's from now on, or refused (429) when the
   * user holds the cap already. Returns what undoes it, for a login that fails after all.
   */
  authenticate(connection: RealTimeConnection, userId: string): () => void {
    const before = this.counted.get(connection)
    if (isClosed(connection) || (before && 'user' in before && before.user === userId)) {
      return () => undefined
    }
    const { perUser: limit } = this.limits
    if (this.users.of(userId) >= limit) {
      throw new TooManyRequests(
        `Too many sockets logged in as this user: at most ${limit} at once; log out or close one first`,
        { limit }
      )
    }
    const now: Counted = { user: userId }
    this.count(connection, now)
    return () => {
      if (this.counted.get(connection) === now) this.count(connection, before)
    }
  }

  /** A socket that lost its authentication but is still connected: its address's again. */
  unauthenticated(connection: RealTimeConnection & { ip?: string }) {
    const counted = this.counted.get(connection)
    if (counted && 'user' in counted && !isClosed(connection)) {
      this.count(connection, { address: connection.ip ?? ADDRESS_UNKNOWN })
    }
  }

  /** A socket that has gone: no longer counted. */
  release(connection: RealTimeConnection) {
    this.count(connection, undefined)
  }

  private count(connection: RealTimeConnection, next: Counted | undefined) {
    const previous = this.counted.get(connection)
    if (previous) {
      if ('user' in previous) this.users.remove(previous.user)
      else this.addresses.remove(previous.address)
    }
    if (!next) {
      this.counted.delete(connection)
      return
    }
    this.counted.set(connection, next)
    if ('user' in next) this.users.add(next.user)
    else this.addresses.add(next.address)
  }
}

/** The app's `socketCaps`, which src/realtime/socket.ts and the authentication service consult. */
export const socketCaps = (app: Application) => {
  const caps = new SocketCaps(app.get('sockets'))
  app.set('socketCaps', caps)
  app.on('disconnect', (connection: RealTimeConnection) => caps.release(connection))
}

declare module '../declarations' {
  interface Configuration {
    /** The per-instance caps on sockets per user and per address. */
    socketCaps: SocketCaps
  }
}
