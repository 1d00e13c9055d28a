import { AuthenticationService, JWTStrategy } from '@feathersjs/authentication'
import type { AuthenticationRequest } from '@feathersjs/authentication'
import { LocalStrategy } from '@feathersjs/authentication-local'
import { NotAuthenticated } from '@feathersjs/errors'
import type { Params } from '@feathersjs/feathers'
import { hash, verify } from '@node-rs/argon2'
import type { Application } from './declarations'

// @node-rs/argon2 hashes with argon2id by default, on libuv's thread pool rather than the event loop.
const hashPassword = (password: string) => hash(password)

// Verified when the email is unknown, so both failures cost the same time.
const dummyHash = hashPassword('not-a-real-password-only-for-equal-timing')

export class Argon2LocalStrategy extends LocalStrategy {
  async hashPassword(password: string, _params: Params) {
    return hashPassword(password)
  }

  async comparePassword(entity: any, password: string) {
    const { entityPasswordField, errorMessage } = this.configuration
    const stored = entity?.[entityPasswordField]
    const matches = typeof stored === 'string' && (await verify(stored, password).catch(() => false))
    if (!matches) {
      throw new NotAuthenticated(errorMessage)
    }
    return entity
  }

  async findEntity(username: unknown, params: Params) {
    const email = typeof username === 'string' ? username.trim().toLowerCase() : username
    try {
      return await super.findEntity(email as string, params)
    } catch (error) {
      await verify(await dummyHash, 'x').catch(() => false)
      throw error
    }
  }

  async authenticate(data: AuthenticationRequest, params: Params) {
    const { usernameField, passwordField, errorMessage } = this.configuration
    // Anything but two strings is an invalid login, not a database error.
    if (typeof data[usernameField] !== 'string' || typeof data[passwordField] !== 'string') {
      throw new NotAuthenticated(errorMessage)
    }
    return super.authenticate(data, params)
  }
}

declare module './declarations' {
  interface ServiceTypes {
    authentication: AuthenticationService
  }
}

export const authentication = (app: Application) => {
  const authentication = new AuthenticationService(app)

  authentication.register('jwt', new JWTStrategy())
  authentication.register('local', new Argon2LocalStrategy())

  app.use('authentication', authentication)
}
