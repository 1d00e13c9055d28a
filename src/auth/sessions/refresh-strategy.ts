import { AuthenticationBaseStrategy } from '@feathersjs/authentication'
import type { AuthenticationRequest, AuthenticationResult, JWTStrategy } from '@feathersjs/authentication'
import { NotAuthenticated } from '@feathersjs/errors'
import type { Params } from '@feathersjs/feathers'
import { clientAddress } from '../../hooks/audit-trail'
import type { SessionRegistry } from './registry'
import { isRefreshTokenShaped } from './store'

/** What a refresh hands the authentication service: the session goes on with a new refresh token. */
export interface RenewedSession {
  id: string
  refreshToken: string
}

/**
 * `{ strategy: 'refresh', refreshToken }`: spends the refresh token for new tokens of the same
 * session (`authentication.create`, so `client.authenticate(...)` renews over REST and on a socket
 * alike, and `POST /api/auth/refresh` is an alias of it). A spent token presented again ends its
 * session: someone has a copy. Every refusal is the same 401, whatever the reason.
 */
export class RefreshTokenStrategy extends AuthenticationBaseStrategy {
  constructor(private readonly registry: SessionRegistry) {
    super()
  }

  async authenticate(data: AuthenticationRequest, params: Params): Promise<AuthenticationResult> {
    const { refreshToken } = data
    if (!isRefreshTokenShaped(refreshToken)) {
      throw new NotAuthenticated('Invalid refresh token')
    }
    const ip = clientAddress(params.ip)
    const rotation = await this.registry.store.rotate(refreshToken, { ip })
    if (rotation.kind === 'reused') {
      await this.registry.end(
        { id: rotation.sessionId },
        { action: 'session-ended', service: 'sessions', reason: 'refresh-token-reused', ip }
      )
      throw new NotAuthenticated('Invalid refresh token')
    }
    if (rotation.kind === 'refused') {
      throw new NotAuthenticated('Invalid refresh token')
    }
    const jwt = this.authentication?.getStrategy('jwt') as JWTStrategy
    const user = await jwt.getEntity(rotation.userId, params)
    const session: RenewedSession = { id: rotation.sessionId, refreshToken: rotation.refreshToken }
    return { authentication: { strategy: this.name }, user, session }
  }
}
