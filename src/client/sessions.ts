// A Feathers authentication client that keeps its session: used by src/client/index.ts, and with its
// types removed by the browser page of test/browser (so it imports nothing at run time: the
// client class it extends is handed to it).
import type { AuthenticationRequest, AuthenticationResult } from '@feathersjs/authentication'
import type { AuthenticationClient, AuthenticationClientOptions } from '@feathersjs/authentication-client'
import type { HookContext, NextFunction, Params } from '@feathersjs/feathers'

export interface SessionClientOptions extends AuthenticationClientOptions {
  /**
   * Renew the access token once this share of its lifetime has passed (default 0.75: a 15 minute
   * token after 11¼ minutes, a 3 second one after 2¼ seconds); `0` renews only on a 401.
   */
  renewAt: number
}

// A mixin's base: a constructor of an AuthenticationClient (app, options). TypeScript accepts no
// other type for the arguments of a mixin's base (TS2545).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type ClientClass = new (...args: any[]) => AuthenticationClient

const DEFAULT_RENEW_AT = 0.75
/** The retried call carries this, so that it is not retried again. */
const RETRIED = Symbol('retried after renewal')
const WITH_ID = ['get', 'update', 'patch', 'remove']
const WITH_DATA = ['create', 'update', 'patch']

const notAuthenticated = (message: string) =>
  Object.assign(new Error(message), { name: 'NotAuthenticated', code: 401, className: 'not-authenticated' })

const stripSlashes = (path: string) => path.replace(/^\/+|\/+$/g, '')

/** An error's `code` (the HTTP status of a Feathers error), whatever was thrown. */
const codeOf = (error: unknown) =>
  typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined

/** What the client needs of its Socket.io socket. */
interface ClientSocket {
  on(event: 'disconnect', listener: (reason: string) => void): unknown
  connect(): unknown
}

/** The arguments of a call again, with other params: for its retry. */
function argumentsOf(context: HookContext, params: Params) {
  const { method } = context
  const standard = WITH_ID.includes(method) || WITH_DATA.includes(method) || method === 'find'
  return [
    ...(WITH_ID.includes(method) ? [context.id] : []),
    ...(WITH_DATA.includes(method) || !standard ? [context.data] : []),
    params
  ]
}

/**
 * `Base` (the `AuthenticationClient` of @feathersjs/authentication-client) that keeps itself logged
 * in with the refresh token of its login:
 *
 * - it keeps the refresh token in its storage beside the access token (`<storageKey>-refresh`);
 * - it renews both (`{ strategy: 'refresh' }`) once `renewAt` of the access token's lifetime has
 *   passed; on a socket this also authenticates the socket with the new token before the server
 *   logs it off at the old one's expiry;
 * - a call answered 401 is retried once after a renewal (or after the renewal another call started);
 * - `reAuthenticate()` falls back to the refresh token when the stored access token is refused, and
 *   a socket that lost its connection (or that the server closed) logs in again so;
 * - `logout()` ends the session on the server and forgets both tokens.
 *
 * Renewals never overlap: a refresh token is good for one use, and a second use ends the session.
 * When a renewal is refused (the session has ended), both tokens are forgotten and the client is
 * logged out; the call that needed it answers the 401.
 */
export function withSessions<B extends ClientClass>(Base: B) {
  return class SessionClient extends Base {
    renewal?: Promise<AuthenticationResult>
    renewalTimer?: ReturnType<typeof setTimeout>
    /** One more on every login or renewal: a 401 of a call made before one needs no new renewal. */
    generation = 0

    // As its base (ClientClass).
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    constructor(...args: any[]) {
      super(...args)
      // Before authentication-client's own hooks, so around them: a retry starts from the caller's params.
      this.app.hooks({ around: { all: [this.renewOnNotAuthenticated()] } })
    }

    get refreshTokenKey() {
      return `${this.options.storageKey}-refresh`
    }

    /** The client's storage, as the base class wraps it: every method there, answering promises. */
    get tokens() {
      return this.storage as {
        getItem(key: string): Promise<string | null | undefined>
        setItem(key: string, value: string): Promise<unknown>
        removeItem(key: string): Promise<unknown>
      }
    }

    /**
     * Instead of the base class's: when a logged-in socket loses its connection it logs in again
     * once connected, going on with the refresh token if the access token is refused; one the server
     * closed (its token expired, or its session ended) is connected again first.
     */
    handleSocket(socket: ClientSocket) {
      socket.on('disconnect', (reason: string) => {
        if (!this.authenticated || reason === 'io client disconnect') {
          return
        }
        if (reason === 'io server disconnect') {
          socket.connect()
        }
        this.reAuthenticate(true).catch(() => undefined)
      })
    }

    async authenticate(
      authentication?: AuthenticationRequest,
      params?: Params
    ): Promise<AuthenticationResult> {
      if (!authentication) {
        return this.reAuthenticate()
      }
      try {
        const result = await super.authenticate(authentication, params)
        this.generation++
        if (typeof result.refreshToken === 'string') {
          await this.tokens.setItem(this.refreshTokenKey, result.refreshToken)
        }
        this.scheduleRenewal(result)
        return result
      } catch (error) {
        if (authentication.strategy === 'refresh' && codeOf(error) === 401) {
          await this.forgetSession()
        }
        throw error
      }
    }

    reAuthenticate(force = false, strategy?: string, authParams?: Params): Promise<AuthenticationResult> {
      const current = this.app.get('authentication')
      if (current && !force) {
        return current
      }
      const attempt = super.reAuthenticate(true, strategy, authParams).catch(async (error: unknown) => {
        if (codeOf(error) !== 401 || !(await this.tokens.getItem(this.refreshTokenKey))) {
          throw error
        }
        return this.renew()
      })
      this.app.set('authentication', attempt)
      return attempt
    }

    /** New tokens for the session, with the stored refresh token; one renewal at a time. */
    renew(): Promise<AuthenticationResult> {
      this.renewal ??= (async () => {
        const refreshToken = await this.tokens.getItem(this.refreshTokenKey)
        if (!refreshToken) {
          throw notAuthenticated('No refresh token')
        }
        return this.authenticate({ strategy: 'refresh', refreshToken })
      })().finally(() => {
        this.renewal = undefined
      })
      return this.renewal
    }

    async logout(): Promise<AuthenticationResult | null> {
      // A renewal under way would store new tokens after they were forgotten: let it finish first.
      await this.renewal?.catch(() => undefined)
      try {
        return await super.logout()
      } finally {
        await this.forgetSession()
      }
    }

    async forgetSession() {
      clearTimeout(this.renewalTimer)
      this.renewalTimer = undefined
      await this.tokens.removeItem(this.refreshTokenKey)
    }

    /** A timer for the renewal, at `renewAt` of the token's lifetime and before it expires by this clock. */
    scheduleRenewal(result: AuthenticationResult) {
      clearTimeout(this.renewalTimer)
      const { exp, iat } = result.authentication?.payload ?? {}
      const renewAt = (this.options as Partial<SessionClientOptions>).renewAt ?? DEFAULT_RENEW_AT
      if (typeof exp !== 'number' || typeof iat !== 'number' || !(renewAt > 0)) {
        return
      }
      const lifetime = (exp - iat) * 1000
      const delay = Math.max(
        0,
        Math.min(lifetime * renewAt, exp * 1000 - Date.now() - lifetime * (1 - renewAt))
      )
      this.renewalTimer = setTimeout(() => void this.renew().catch(() => undefined), delay)
      ;(this.renewalTimer as { unref?: () => void }).unref?.()
    }

    /** An app hook: a call answered 401 is made once more with renewed tokens. */
    renewOnNotAuthenticated() {
      return async (context: HookContext, next: NextFunction) => {
        const { path, method, params } = context
        if ((path === stripSlashes(this.options.path) && method === 'create') || RETRIED in params) {
          return next()
        }
        const generation = this.generation
        try {
          await next()
        } catch (error) {
          if (codeOf(error) !== 401 || !(await this.tokens.getItem(this.refreshTokenKey))) {
            throw error
          }
          if (this.generation === generation) {
            await this.renew().catch(() => {
              throw error
            })
          }
          const service = context.service as Record<string, (...args: unknown[]) => Promise<unknown>>
          context.result = await service[method](...argumentsOf(context, { ...params, [RETRIED]: true }))
        }
      }
    }
  }
}
