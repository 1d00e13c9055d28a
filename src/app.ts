import { feathers } from '@feathersjs/feathers'
import { koa, rest } from '@feathersjs/koa'
import socketio from '@feathersjs/socketio'
import type { Knex } from 'knex'
import helmet from 'koa-helmet'
import { authentication } from './auth'
import { channels } from './realtime/channels'
import { closedConnections } from './realtime/connections'
import type { ApplicationConfiguration } from './configuration'
import type { Application, HookContext, NextFunction } from './declarations'
import { DOCS_PAGES, openApi } from './docs/openapi'
import { toPublicError } from './errors'
import { aliasResolver, apiAliases, apiRoutesOf } from './http/api-aliases'
import { jsonBody } from './http/body'
import { queryString } from './http/query-string'
import { corsFor } from './http/cors'
import { Drain } from './http/drain'
import { eventSync } from './realtime/event-sync'
import { documentFhir } from './fhir/openapi'
import { FhirFacade } from './fhir/facade'
import { fhirErrors } from './fhir/outcome'
import type { FhirMapping } from './fhir/vocabulary'
import { errorHandler } from './http/error-handler'
import { refuseUnmetExpectations } from './http/expectations'
import { HEALTH_METHODS, HEALTH_PATH, health } from './http/health'
import { methodsAndConditions, targetsOf } from './http/methods'
import type { Pages } from './http/methods'
import { requestLog } from './http/request-log'
import { loginLimiters } from './auth/login-throttle'
import { loggerOf } from './logger'
import { createRedis, redisNamespace } from './database/redis'
import type { RedisClient } from './database/redis'
import type { RateLimiterRedis } from 'rate-limiter-flexible'
import { routesWithoutPrototype } from './http/routes-without-prototype'
import { rememberedLookups, rememberingRecent } from './http/recent-lookups'
import { resources as declaredResources } from './services'
import { fhirMappings } from './services/fhir'
import { services } from './declarative/runtime'
import { sessions } from './auth/sessions'
import type { AnyResource } from './declarative/declaration'
import { socketSetup } from './realtime/socket'
import { socketCaps } from './realtime/socket-caps'

/** Database errors and unexpected failures are mapped once here, for every transport. */
const publicErrors = async (context: HookContext, next: NextFunction) => {
  try {
    await next()
  } catch (error) {
    throw toPublicError(error, loggerOf(context.params))
  }
}

/** The paths the app answers itself, outside the services, and their methods. */
const pagesOf = (): Pages => ({
  [HEALTH_PATH]: HEALTH_METHODS,
  ...Object.fromEntries(DOCS_PAGES.map((path) => [path, ['GET', 'HEAD']]))
})

/** What the app needs of Redis (see `loadRedis`). */
export interface RedisParts {
  client: RedisClient
  RateLimiterRedis: typeof RateLimiterRedis
}

/**
 * The Redis client and the Redis login limiter: loaded only with REDIS_URL, so that a server without
 * it never loads them (test/lifecycle.test.ts).
 */
export async function loadRedis(url: string): Promise<RedisParts> {
  const [client, { default: RateLimiterRedis }] = await Promise.all([
    createRedis(url),
    import('rate-limiter-flexible/lib/RateLimiterRedis.js')
  ])
  return { client, RateLimiterRedis }
}

/**
 * Builds the application on an open, migrated database; `listen` (or `setup`) starts it.
 * `deploymentId` (src/database/deployment.ts) names what the app shares on Redis; `resources` are
 * the declared resources it serves (src/services), `fhir` the FHIR mappings served under /fhir
 * (by default those of src/services/fhir.ts whose resource is served). With `redis` (`loadRedis`,
 * when REDIS_URL is set) the login counts and the events are shared with the deployment's other
 * instances.
 */
export function createApp(
  settings: ApplicationConfiguration,
  db: Knex,
  deploymentId: string,
  resources: readonly AnyResource[] = declaredResources,
  fhir: readonly FhirMapping[] = fhirMappings.filter((mapping) => resources.includes(mapping.resource)),
  redis?: RedisParts
): Application {
  const app: Application = koa(feathers())
  for (const [name, value] of Object.entries(settings)) {
    app.set(name as keyof ApplicationConfiguration, value)
  }
  app.set('postgresqlClient', db)
  const drain = new Drain()
  app.set('drain', drain)
  // Behind one proxy: the client is the address that proxy appended to X-Forwarded-For, the last
  // one; anything before it was sent by the client and proves nothing.
  app.proxy = settings.http.trustProxy
  app.maxIpsCount = 1

  app.use(requestLog())
  app.use(helmet())
  app.use(corsFor(settings.origins))
  app.use(errorHandler())
  app.use(fhirErrors())
  app.use(refuseUnmetExpectations())
  app.use(drain.middleware())
  const resolveAlias = rememberingRecent(aliasResolver(resources), (path, method) => `${method} ${path}`)
  app.use(methodsAndConditions(targetsOf(app, resolveAlias, pagesOf())))
  app.use(health(db, settings.database.timeouts.healthMs, () => app.get('eventSync')?.delivery()))
  // Before the body and the query string are read: /fhir reads neither, and answers FHIR's errors.
  app.use(new FhirFacade(app, fhir).middleware())
  app.use(jsonBody())
  app.use(queryString())
  app.use(apiAliases(resolveAlias))
  app.configure(rest())
  // Socket.io's own default, stated: a frame over 1 MB closes the connection unanswered. Data over
  // the 100 kB body limit is a 413 (src/realtime/socket.ts); the rest of a frame (a query, held to 1,000
  // values only once it is read) may be larger, and is answered 400 rather than cut off.
  const maxHttpBufferSize = 1e6
  app.configure(socketio({ cors: { origin: settings.origins }, maxHttpBufferSize }, socketSetup(app)))
  app.configure(closedConnections)
  app.configure(socketCaps)
  app.configure(routesWithoutPrototype)
  app.configure(rememberedLookups)
  const shared = redis && { client: redis.client, namespace: redisNamespace(deploymentId) }
  app.set('redis', shared?.client)
  app.set(
    'loginLimiters',
    loginLimiters(settings.loginThrottle, shared && { ...shared, RateLimiterRedis: redis.RateLimiterRedis })
  )
  if (shared) {
    // Before the services: the event sync wraps the event emitter of each service as it is registered.
    app.configure(eventSync({ redis: shared, ...settings.events }))
  }

  app.configure(openApi(apiRoutesOf(resources)))
  app.configure(documentFhir(fhir))
  app.configure(authentication)
  app.configure(services(resources))
  app.configure(sessions)
  app.configure(channels)

  app.hooks({ around: { all: [publicErrors] } })
  return app
}
