import type { EventEmitter } from 'node:events'
import { JWTStrategy } from '@feathersjs/authentication'
import type { AuthenticationParams, AuthenticationResult, ConnectionEvent } from '@feathersjs/authentication'
import { NotAuthenticated, NotFound } from '@feathersjs/errors'
import type { Params, RealTimeConnection } from '@feathersjs/feathers'
import { isUuid } from '../declarative/fields'
import { isClosed } from '../realtime/connections'
import type { User } from '../services/users'
import type { SessionRegistry } from './sessions/registry'

/** The form our sessions' ids take: another spelling of one would miss the ended sessions. */
const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

const ENTITY_CACHE_MS = 10_000
const ENTITY_CACHE_SIZE = 10_000

/**
 * Keeps the authenticated user (without the password hash) for a few seconds instead of loading
 * it on every request; a patched or removed user is forgotten at once (on every instance when
 * service events are shared, else by the sessions' poll within a second), and the short lifetime
 * bounds staleness otherwise. A token of a session that has ended is refused: one lookup in the
 * ended sessions this instance knows of (src/auth/sessions/registry.ts), no query.
 */
export class CachedEntityJWTStrategy extends JWTStrategy {
  private entities = new Map<string, { entity: Omit<User, 'password'>; expires: number }>()
  private merged?: { settings: unknown; configuration: JWTStrategy['configuration'] }

  /** Built again only when the authentication's configuration is (see KeyedAuthenticationService). */
  get configuration() {
    const settings: unknown = this.authentication?.configuration
    if (this.merged === undefined || this.merged.settings !== settings) {
      this.merged = { settings, configuration: Object.freeze(super.configuration) }
    }
    return this.merged.configuration
  }

  constructor(private readonly registry: SessionRegistry) {
    super()
  }

  async setup() {
    const forget = (user: { id?: string }) => user?.id && this.entities.delete(user.id)
    const users = this.entityService as unknown as EventEmitter
    users.on('patched', forget)
    users.on('removed', forget)
    // Only a cached record older than the change is stale: the poll hears of each change for a few
    // seconds, and of changes this instance made or has already read.
    this.registry.onUserChanged((id, updatedAt) => {
      const cached = this.entities.get(id)
      if (cached && !(new Date(cached.entity.updatedAt).getTime() >= updatedAt.getTime())) {
        this.entities.delete(id)
      }
    })
  }

  /**
   * A login that completes after its socket has gone gets no expiry timer: the connection will not
   * disconnect again to clear it, and the timer would hold it (and the process) until the token expires.
   */
  async handleConnection(
    event: ConnectionEvent,
    connection: RealTimeConnection,
    authResult?: AuthenticationResult
  ) {
    if (event === 'login' && isClosed(connection)) return
    await super.handleConnection(event, connection, authResult)
  }

  /**
   * A credential names a user (`sub`) and an open session (`sid`): a token without them, even one
   * signed with our secret, is none, and neither is one of a session that has ended.
   */
  async getEntityId(authResult: AuthenticationResult, params: Params) {
    const sub: unknown = await super.getEntityId(authResult, params)
    const sid: unknown = authResult.authentication?.payload?.sid
    if (!isUuid(sub) || typeof sid !== 'string' || !CANONICAL_UUID.test(sid)) {
      throw new NotAuthenticated('Invalid access token')
    }
    if (!(await this.registry.isOpenSessionOf(sid, sub))) {
      throw new NotAuthenticated('The session has ended')
    }
    return sub
  }

  async getEntity(id: string, params: AuthenticationParams) {
    const cached = this.entities.get(id)
    if (cached && cached.expires > Date.now()) {
      return cached.entity
    }
    const user: User = await super.getEntity(id, params).catch((error) => {
      // A valid token of a user who no longer exists is no longer a credential.
      throw error instanceof NotFound ? new NotAuthenticated('Not authenticated') : error
    })
    const { password: _hash, ...entity } = user
    this.entities.delete(id)
    if (this.entities.size >= ENTITY_CACHE_SIZE) {
      this.entities.delete(this.entities.keys().next().value as string)
    }
    this.entities.set(id, { entity, expires: Date.now() + ENTITY_CACHE_MS })
    return entity
  }
}
