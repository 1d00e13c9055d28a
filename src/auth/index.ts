import type { AuthenticationResult } from '@feathersjs/authentication'
import { NotAuthenticated } from '@feathersjs/errors'
import type { Params, RealTimeConnection } from '@feathersjs/feathers'
import { hooks as schemaHooks } from '@feathersjs/schema'
import { Type } from '@feathersjs/typebox'
import { durationSeconds } from '../configuration'
import type { Application, HookContext, NextFunction } from '../declarations'
import { isUuid } from '../declarative/fields'
import { compileQueryValidator } from '../declarative/validators'
import { serviceDocs } from '../docs/service-docs'
import { auditLoginFailures } from '../hooks/audit-trail'
import { isClosed } from '../realtime/connections'
import { SessionAuthenticationService } from './authentication-service'
import { CachedEntityJWTStrategy } from './jwt-strategy'
import { Argon2LocalStrategy } from './local-strategy'
import { loginThrottle } from './login-throttle'
import { authenticationDataSchema, authenticationSchema, refreshDataSchema } from './schemas'
import { RefreshTokenStrategy } from './sessions/refresh-strategy'
import { SessionRegistry } from './sessions/registry'
import { SessionStore } from './sessions/store'

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
  app.on('disconnect', (connection: RealTimeConnection) => registry.untrack(connection))
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
