import { createSecretKey } from 'node:crypto'
import type { EventEmitter } from 'node:events'
import { availableParallelism } from 'node:os'
import type { KeyObject } from 'node:crypto'
import { AuthenticationService, JWTStrategy } from '@feathersjs/authentication'
import type {
  AuthenticationParams,
  AuthenticationRequest,
  AuthenticationResult,
  ConnectionEvent
} from '@feathersjs/authentication'
import { LocalStrategy } from '@feathersjs/authentication-local'
import { NotAuthenticated, NotFound } from '@feathersjs/errors'
import type { Params, RealTimeConnection } from '@feathersjs/feathers'
import { hooks as schemaHooks } from '@feathersjs/schema'
import { Type } from '@feathersjs/typebox'
import { hash, verify } from '@node-rs/argon2'
import { durationSeconds } from './configuration'
import type { Application, HookContext, NextFunction } from './declarations'
import { auditLoginFailures, clientAddress } from './hooks/audit'
import { loginThrottle } from './login-throttle'
import { serviceDocs } from './docs/service-docs'
import { users } from './resources/users'
import { isClosed } from './connections'
import { isUuid, MAX_EMAIL_LENGTH, normalisedEmail } from './schemas/common'
import { RefreshTokenStrategy } from './sessions/refresh-strategy'
import { compileQueryValidator } from './validators'
import type { RenewedSession } from './sessions/refresh-strategy'
import { SessionRegistry } from './sessions/registry'
import { SessionStore } from './sessions/store'

/** The form our sessions' ids take: another spelling of one would miss the ended sessions. */
const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

const VERIFIED_TOKEN_CACHE_SIZE = 10_000
const ENTITY_CACHE_MS = 10_000
const ENTITY_CACHE_SIZE = 10_000

/**
 * Runs at most `limit` tasks at once, the rest in arrival order. Password hashing is CPU-bound:
 * unbounded, eight parallel logins took both cores and the p99 of every other request went from
 * 7 ms to 111 ms (measured here); bounded, logins queue and everything else keeps a core.
 */
export function concurrencyLimit(limit: number) {
  let running = 0
  const waiting: Array<() => void> = []
  const release = () => {
    running--
    waiting.shift()?.()
  }
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (running >= limit) {
      await new Promise<void>((resolve) => waiting.push(resolve))
    }
    running++
    try {
      return await task()
    } finally {
      release()
    }
  }
}

const passwordWork = concurrencyLimit(Math.max(1, availableParallelism() - 1))

// @node-rs/argon2 hashes with argon2id by default, on libuv's thread pool rather than the event loop.
const hashPassword = (password: string) => passwordWork(() => hash(password))
const verifyPassword = (stored: string, password: string) => passwordWork(() => verify(stored, password))

// Verified when the email is unknown, so both failures cost the same time.
const dummyHash = hashPassword('not-a-real-password-only-for-equal-timing')

/**
 * The password hash a local login verified, on its result (a symbol: never serialised, never sent),
 * so that its session opens only while the hash is unchanged (src/sessions/store.ts).
 */
export const VERIFIED_HASH = Symbol('verifiedHash')

export class Argon2LocalStrategy extends LocalStrategy {
  async hashPassword(password: string, _params: Params) {
    return hashPassword(password)
  }

  async comparePassword(entity: any, password: string) {
    const { entityPasswordField, errorMessage } = this.configuration
    const stored = entity?.[entityPasswordField]
    const matches = typeof stored === 'string' && (await verifyPassword(stored, password).catch(() => false))
    if (!matches) {
      throw new NotAuthenticated(errorMessage)
    }
    return entity
  }

  async findEntity(username: unknown, params: Params) {
    const email = typeof username === 'string' ? normalisedEmail(username) : username
    try {
      // No user has an address this long: a failed login (counted by the throttle), not a 400.
      if (typeof email === 'string' && email.length > MAX_EMAIL_LENGTH) {
        throw new NotAuthenticated(this.configuration.errorMessage)
      }
      return await super.findEntity(email as string, params)
    } catch (error) {
      await verifyPassword(await dummyHash, 'x').catch(() => false)
      throw error
    }
  }

  /** LocalStrategy's, keeping the hash it verified on the result. */
  async authenticate(data: AuthenticationRequest, params: Params) {
    const { usernameField, passwordField, entityPasswordField, entity, errorMessage } = this.configuration
    const username: unknown = data[usernameField]
    const password: unknown = data[passwordField]
    // Anything but two strings is an invalid login, not a database error.
    if (typeof username !== 'string' || typeof password !== 'string' || password === '') {
      throw new NotAuthenticated(errorMessage)
    }
    const { provider: _provider, ...paramsWithoutProvider } = params
    const found = await this.findEntity(username, paramsWithoutProvider)
    await this.comparePassword(found, password)
    return {
      authentication: { strategy: this.name as string },
      [entity]: await this.getEntity(found, params),
      [VERIFIED_HASH]: found[entityPasswordField] as string
    }
  }
}

/**
 * Signs and verifies with a KeyObject: given the secret as a string, jsonwebtoken first tries
 * createPublicKey() on it, which throws on every call before it falls back (about a third of the
 * CPU of an authenticated request, measured here).
 */
export class KeyedAuthenticationService extends AuthenticationService {
  private key?: KeyObject

  private secretKey() {
    return (this.key ??= createSecretKey(Buffer.from(this.configuration.secret)))
  }

  async createAccessToken(payload: string | Buffer | object, options?: any, secret?: string) {
    return super.createAccessToken(payload, options, secret ?? (this.secretKey() as any))
  }

  async verifyAccessToken(accessToken: string, options?: any, secret?: string) {
    const cacheable = !options && !secret
    const known = cacheable ? this.verified.get(accessToken) : undefined
    if (known && known.exp * 1000 > Date.now()) {
      return { ...known }
    }
    const payload = await super.verifyAccessToken(accessToken, options, secret ?? (this.secretKey() as any))
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
   * connected counts for its address again (src/socket-caps.ts).
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

/**
 * Keeps the authenticated user (without the password hash) for a few seconds instead of loading
 * it on every request; a patched or removed user is forgotten at once (on every instance when
 * service events are shared, else by the sessions' poll within a second), and the short lifetime
 * bounds staleness otherwise. A token of a session that has ended is refused: one lookup in the
 * ended sessions this instance knows of (src/sessions/registry.ts), no query.
 */
export class CachedEntityJWTStrategy extends JWTStrategy {
  private entities = new Map<string, { entity: any; expires: number }>()

  constructor(private readonly registry: SessionRegistry) {
    super()
  }

  async setup() {
    const forget = (user: { id?: string }) => user?.id && this.entities.delete(user.id)
    const users = this.entityService as unknown as EventEmitter
    users.on('patched', forget)
    users.on('removed', forget)
    this.registry.onUserChanged((id) => this.entities.delete(id))
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
    const { password: _hash, ...entity } = await super.getEntity(id, params).catch((error) => {
      // A valid token of a user who no longer exists is no longer a credential.
      throw error instanceof NotFound ? new NotAuthenticated('Not authenticated') : error
    })
    this.entities.delete(id)
    if (this.entities.size >= ENTITY_CACHE_SIZE) {
      this.entities.delete(this.entities.keys().next().value as string)
    }
    this.entities.set(id, { entity, expires: Date.now() + ENTITY_CACHE_MS })
    return entity
  }
}

declare module './declarations' {
  interface ServiceTypes {
    authentication: SessionAuthenticationService
  }
}

/**
 * A socket call carries the user the connection is logged in as. Logging in again on that socket,
 * maybe as someone else, must look the new user up unscoped by the previous one.
 */
const withoutConnectionUser = async (context: HookContext, next: NextFunction) => {
  const { user: _previous, ...params } = context.params
  context.params = params
  await next()
}

/** Logging out needs a session to end: without a token it is a 401, not a failure inside Feathers. */
const requireSession = async (context: HookContext, next: NextFunction) => {
  if (typeof context.params.authentication?.accessToken !== 'string') {
    throw new NotAuthenticated('Not authenticated')
  }
  await next()
}

/**
 * Logging in and out take no query: a parameter there (`$ifMatch`, a condition nothing here
 * evaluates, or any other) is a 400 before anything runs, on every transport, as on every service.
 */
const withoutQuery = schemaHooks.validateQuery(
  compileQueryValidator(Type.Object({}, { additionalProperties: false }))
)

// Documentation only: the strategies check their own input.
export const authenticationDataSchema = Type.Object(
  {
    strategy: Type.Optional(
      Type.Union([Type.Literal('local'), Type.Literal('jwt'), Type.Literal('refresh')], {
        description: 'Required at /authentication; POST /api/auth/login defaults it to `local`'
      })
    ),
    email: Type.Optional(Type.String({ format: 'email', description: 'With `local`' })),
    password: Type.Optional(Type.String({ description: 'With `local`' })),
    accessToken: Type.Optional(Type.String({ description: 'With `jwt`' })),
    refreshToken: Type.Optional(Type.String({ description: 'With `refresh`' }))
  },
  { $id: 'AuthenticationData', examples: [{ email: 'ada@example.org', password: 'correct horse battery' }] }
)

export const refreshDataSchema = Type.Object(
  { refreshToken: Type.String({ description: 'The refresh token of the last login or refresh' }) },
  { $id: 'RefreshData', examples: [{ refreshToken: 'Jd0l1m4y3nQp-8y2s9K0c7b5Vx6Wz1Aa3Bb5Cc7Dd9E' }] }
)

export const authenticationSchema = Type.Object(
  {
    accessToken: Type.String({
      description: 'Send as `Authorization: Bearer <accessToken>`; valid 15 minutes by default'
    }),
    refreshToken: Type.Optional(
      Type.String({
        description:
          'For `POST /api/auth/refresh`, once; valid 30 days by default. Not sent when a socket logs in with its access token'
      })
    ),
    authentication: Type.Object({
      strategy: Type.String(),
      accessToken: Type.Optional(Type.String()),
      payload: Type.Optional(
        Type.Object(
          { sid: Type.Optional(Type.String({ format: 'uuid', description: 'The session' })) },
          { additionalProperties: true }
        )
      )
    }),
    user: Type.Ref(users.schemas.response)
  },
  { $id: 'Authentication' }
)

/**
 * The sessions' registry: which sessions ended (refused by the JWT strategy), which sockets belong
 * to which session, and the way ends reach the deployment's other instances.
 */
function sessionRegistry(app: Application) {
  const { jwtOptions, refresh } = app.get('authentication')
  const store = new SessionStore(app.get('postgresqlClient'), durationSeconds(refresh.expiresIn))
  const eventSync = app.get('eventSync')
  const registry = new SessionRegistry(app, {
    store,
    accessLifetimeMs: durationSeconds(jwtOptions.expiresIn) * 1000,
    publish: eventSync?.publishEndedSessions
  })
  eventSync?.onEndedSessions((ids) => registry.received(ids))
  // Which session a socket is in: to log it off when the session ends.
  app.on('login', (authResult: AuthenticationResult, { connection }: Params) => {
    const sid: unknown = authResult?.authentication?.payload?.sid
    if (connection && !isClosed(connection) && isUuid(sid)) registry.track(connection, sid)
  })
  app.on(
    'logout',
    (_authResult: unknown, { connection }: Params) => connection && registry.untrack(connection)
  )
  app.on('disconnect', (connection: any) => registry.untrack(connection))
  // Ended sessions are read before the first request and polled from then on.
  app.hooks({
    setup: [
      async (_context: HookContext, next: NextFunction) => {
        await registry.start()
        await next()
      }
    ],
    teardown: [
      async (_context: HookContext, next: NextFunction) => {
        await registry.stop()
        await next()
      }
    ]
  })
  return registry
}

export const authentication = (app: Application) => {
  const registry = sessionRegistry(app)
  app.set('sessionRegistry', registry)
  const authentication = new SessionAuthenticationService(app, registry)

  authentication.register('jwt', new CachedEntityJWTStrategy(registry))
  authentication.register('local', new Argon2LocalStrategy())
  authentication.register('refresh', new RefreshTokenStrategy(registry))

  app.use('authentication', authentication, {
    // `DELETE /authentication` logs out the session of the caller's token.
    methodsWithoutId: ['remove'],
    docs: serviceDocs({
      description:
        'Log in for an access token (JWT) and a refresh token; renew them with the refresh token (`strategy: "refresh"`)',
      schemas: { authenticationSchema, authenticationDataSchema, refreshDataSchema },
      authenticated: [],
      errors: { create: [401, 429] },
      docs: { operations: { create: { summary: 'Log in, or renew the tokens' }, remove: false } }
    })
  })

  app.service('authentication').hooks({
    // Throttled attempts are failed logins too, so the audit hook sits outside the throttle.
    around: {
      all: [withoutQuery],
      create: [auditLoginFailures(), loginThrottle(app.get('loginLimiters')), withoutConnectionUser],
      remove: [requireSession]
    }
  })
}
