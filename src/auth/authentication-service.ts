import { createSecretKey } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { AuthenticationService } from '@feathersjs/authentication'
import type {
  AuthenticationParams,
  AuthenticationResult,
  AuthenticationRequest,
  ConnectionEvent
} from '@feathersjs/authentication'
import type { LocalStrategy } from '@feathersjs/authentication-local'
import { NotAuthenticated } from '@feathersjs/errors'
import type { Params, RealTimeConnection } from '@feathersjs/feathers'
import type { Application } from '../declarations'
import { isUuid } from '../declarative/fields'
import { clientAddress } from '../hooks/audit-trail'
import { VERIFIED_HASH } from './local-strategy'
import type { RenewedSession } from './sessions/refresh-strategy'
import type { SessionRegistry } from './sessions/registry'

const VERIFIED_TOKEN_CACHE_SIZE = 10_000

// jsonwebtoken's option and secret types, as the authentication service takes them.
type SignOptions = Parameters<AuthenticationService['createAccessToken']>[1]
type VerifyOptions = Parameters<AuthenticationService['verifyAccessToken']>[1]
type Secret = Parameters<AuthenticationService['verifyAccessToken']>[2]

/**
 * Signs and verifies with a KeyObject: given the secret as a string, jsonwebtoken first tries
 * createPublicKey() on it, which throws on every call before it falls back (about a third of the
 * CPU of an authenticated request, measured here).
 */
export class KeyedAuthenticationService extends AuthenticationService {
  private key?: KeyObject
  private merged?: { settings: unknown; configuration: AuthenticationService['configuration'] }

  /**
   * The library merges its defaults into the settings on every read, several times per request;
   * the merge is made again only when the settings object is replaced (`app.set`). Frozen, so that
   * no caller can change what the next one reads.
   */
  get configuration() {
    const settings: unknown = this.app.get(this.configKey)
    if (this.merged === undefined || this.merged.settings !== settings) {
      this.merged = { settings, configuration: Object.freeze(super.configuration) }
    }
    return this.merged.configuration
  }

  private secretKey() {
    return (this.key ??= createSecretKey(Buffer.from(this.configuration.secret)))
  }

  async createAccessToken(payload: string | Buffer | object, options?: SignOptions, secret?: Secret) {
    return super.createAccessToken(payload, options, secret ?? this.secretKey())
  }

  async verifyAccessToken(accessToken: string, options?: VerifyOptions, secret?: Secret) {
    const cacheable = !options && !secret
    const known = cacheable ? this.verified.get(accessToken) : undefined
    if (known && known.exp * 1000 > Date.now()) {
      return { ...known }
    }
    const payload = await super.verifyAccessToken(accessToken, options, secret ?? this.secretKey())
    // Every token this server issues expires; one that never does was not made by it.
    if (typeof payload?.exp !== 'number') {
      throw new NotAuthenticated('Invalid access token')
    }
    if (cacheable) this.rememberVerified(accessToken, payload)
    return payload
  }

  // A token is immutable: once its signature, audience and issuer check out, only its expiry
  // can change the answer, so repeated requests skip the HMAC and the JSON parsing.
  private verified = new Map<string, { exp: number }>()

  private rememberVerified(accessToken: string, payload: { exp: number }) {
    if (this.verified.size >= VERIFIED_TOKEN_CACHE_SIZE) {
      this.verified.delete(this.verified.keys().next().value as string)
    }
    this.verified.set(accessToken, payload)
  }
}

/** The session an authenticated call's access token belongs to (its `sid` claim). */
export const sessionIdOf = (params: Params): string | undefined => {
  const sid: unknown = (params.authentication as { payload?: { sid?: unknown } } | undefined)?.payload?.sid
  return isUuid(sid) ? sid : undefined
}

/**
 * Logging in opens a session and refreshing renews one: each answers an access token naming its
 * session (`sid`) and a refresh token (src/sessions). Logging out ends the session of the token.
 */
export class SessionAuthenticationService extends KeyedAuthenticationService {
  constructor(
    app: Application,
    private readonly registry: SessionRegistry
  ) {
    super(app)
  }

  async create(data: AuthenticationRequest, params: AuthenticationParams = {}) {
    const strategies = params.authStrategies || this.configuration.authStrategies
    const {
      session: renewed,
      [VERIFIED_HASH]: verifiedHash,
      ...authResult
    } = (await this.authenticate(data, params, ...strategies)) as AuthenticationResult & {
      [VERIFIED_HASH]?: string
    }
    // A socket logging in counts for its user from here (or is refused, 429): before any session opens.
    const { connection } = params
    const uncount = connection
      ? this.app.get('socketCaps').authenticate(connection, authResult.user.id)
      : undefined
    try {
      return await this.sessionOf(authResult, renewed, verifiedHash, params)
    } catch (error) {
      uncount?.()
      throw error
    }
  }

  /** The login's new session, the refresh's renewed one, or, for a socket's access token, its own. */
  private async sessionOf(
    authResult: AuthenticationResult,
    renewed: RenewedSession | undefined,
    verifiedHash: string | undefined,
    params: AuthenticationParams
  ) {
    // A socket logging in with its access token goes on in the session the token names.
    if (authResult.accessToken) {
      return authResult
    }
    const session: RenewedSession =
      renewed ?? (await this.openSession(authResult.user.id, verifiedHash, params))
    const [payload, jwtOptions] = await Promise.all([
      this.getPayload(authResult, params),
      this.getTokenOptions(authResult, params)
    ])
    const accessToken = await this.createAccessToken(
      { ...payload, sid: session.id },
      jwtOptions,
      params.secret
    )
    return {
      accessToken,
      refreshToken: session.refreshToken,
      ...authResult,
      authentication: { ...authResult.authentication, payload: await this.verifyAccessToken(accessToken) }
    }
  }

  /**
   * A socket that loses its authentication (logout, an ended session, an expired token) but stays
   * connected counts for its address again (src/realtime/socket-caps.ts).
   */
  async handleConnection(
    event: ConnectionEvent,
    connection: RealTimeConnection,
    authResult?: AuthenticationResult
  ) {
    await super.handleConnection(event, connection, authResult)
    if (!connection.authentication) this.app.get('socketCaps').unauthenticated(connection)
  }

  /** A login's session; a 401 like a wrong password if the password changed since it was verified. */
  private async openSession(userId: string, verifiedHash: unknown, params: AuthenticationParams) {
    const origin = { ip: clientAddress(params.ip), userAgent: params.headers?.['user-agent'] }
    const session =
      typeof verifiedHash === 'string'
        ? await this.registry.store.open(userId, verifiedHash, origin)
        : undefined
    if (!session) {
      throw new NotAuthenticated((this.getStrategy('local') as LocalStrategy).configuration.errorMessage)
    }
    return session
  }

  /** Logging out ends the session of the access token (on every instance): its tokens are refused. */
  async remove(id: string | null, params: AuthenticationParams = {}) {
    const authResult = await super.remove(id, params)
    const sessionId = authResult.authentication?.payload?.sid as string
    const { connection } = params
    // The socket that logs out stays connected, as a guest; the session's other sockets are logged off.
    if (connection) this.registry.untrack(connection)
    const ending = { action: 'logout', service: 'authentication', reason: 'logout' } as const
    const ended = await this.registry
      .end({ id: sessionId }, { ...ending, ip: clientAddress(params.ip) })
      .catch((error: unknown) => {
        if (connection) this.registry.track(connection, sessionId)
        throw error
      })
    if (ended.length === 0) {
      throw new NotAuthenticated('The session has ended')
    }
    return authResult
  }
}

declare module '../declarations' {
  interface ServiceTypes {
    authentication: SessionAuthenticationService
  }
}
