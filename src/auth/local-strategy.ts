import type { AuthenticationRequest } from '@feathersjs/authentication'
import { LocalStrategy } from '@feathersjs/authentication-local'
import { NotAuthenticated } from '@feathersjs/errors'
import type { Params } from '@feathersjs/feathers'
import { fieldOf } from '../errors'
import { MAX_EMAIL_LENGTH, normalisedEmail } from '../declarative/fields'
import { dummyHash, hashPassword, verifyPassword } from './passwords'

/**
 * The password hash a local login verified, on its result (a symbol: never serialised, never sent),
 * so that its session opens only while the hash is unchanged (src/auth/sessions/store.ts).
 */
export const VERIFIED_HASH = Symbol('verifiedHash')

export class Argon2LocalStrategy extends LocalStrategy {
  async hashPassword(password: string, _params: Params) {
    return hashPassword(password)
  }

  async comparePassword(entity: unknown, password: string) {
    const { entityPasswordField, errorMessage } = this.configuration
    const stored = fieldOf(entity, entityPasswordField)
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
    const found: Record<string, unknown> = await this.findEntity(username, paramsWithoutProvider)
    await this.comparePassword(found, password)
    return {
      authentication: { strategy: this.name as string },
      [entity]: await this.getEntity(found, params),
      [VERIFIED_HASH]: found[entityPasswordField] as string
    }
  }
}
