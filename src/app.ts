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
import { openApi } from './docs/openapi'
import { toPublicError } from './errors'
import { apiAliases, apiRoutesOf } from './http/api-aliases'
import { jsonBody } from './http/body'
import { queryString } from './http/query-string'
import { corsFor } from './http/cors'
import { Drain } from './http/drain'
import { eventSync } from './realtime/event-sync'
import type { EventSyncOptions } from './realtime/event-sync'
import { errorHandler } from './http/error-handler'
import { health } from './http/health'
import { requestLog } from './http/request-log'
import { loginLimiters } from './auth/login-throttle'
import { loggerOf } from './logger'
import { createRedis, redisNamespace } from './database/redis'
import type { RedisClient } from './database/redis'
import type { RateLimiterRedis } from 'rate-limiter-flexible'
import { routesWithoutPrototype } from './http/routes-without-prototype'
import { resources as declaredResources } from './services'
import { services } from './declarative/runtime'
import { sessions } from './auth/sessions'
import type { AnyResource } from './declarative/resource'
import { socketSetup } from './realtime/socket'

/** Database errors and unexpected failures are mapped once here, for every transport. */
const publicErrors = async (context: HookContext, next: NextFunction) => {
  try {
    await next()
  } catch (error) {
    throw toPublicError(error, loggerOf(context.params))
  }
}

/** What the app needs of Redis (see `loadRedis`). */
export interface RedisParts {
  client: RedisClient
  feathersSync: EventSyncOptions['feathersSync']
  RateLimiterRedis: typeof RateLimiterRedis
}

/**
 * The Redis client, the event sync (feathers-sync, which brings the clients of two other brokers
 * too) and the Redis login limiter: loaded only with REDIS_URL, so that a server without it never
 * loads them (test/lifecycle.test.ts).
 */
export async function loadRedis(url: string): Promise<RedisParts> {
  const [client, feathersSync, { default: RateLimiterRedis }] = await Promise.all([
    createRedis(url),
    import('feathers-sync'),
    import('rate-limiter-flexible/lib/RateLimiterRedis.js')
  ])
  // A CommonJS module: import() gives its module.exports as `default` (the init function, with
  // `redis` and `SYNC` on it), while its types describe an ES module with them as named exports.
  const { redis, SYNC } = feathersSync.default as unknown as typeof feathersSync
  return { client, feathersSync: { redis, SYNC }, RateLimiterRedis }
}

/**
 * Builds the application on an open, migrated database; `listen` (or `setup`) starts it.
 * `deploymentId` (src/database/deployment.ts) names what the app shares on Redis; `resources` are
 * the declared resources it serves (src/services). With `redis` (`loadRedis`, when REDIS_URL is
 * set) the login counts and the events are shared with the deployment's other instances.
 */
export function createApp(
  settings: ApplicationConfiguration,
  db: Knex,
  deploymentId: string,
  resources: readonly AnyResource[] = declaredResources,
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
  app.use(drain.middleware())
  app.use(health(db, settings.database.timeouts.healthMs, () => app.get('eventSync')?.delivery()))
  app.use(jsonBody())
  app.use(queryString())
  app.use(apiAliases(resources))
  app.configure(rest())
  // Socket.io's own default, stated: a frame over 1 MB closes the connection unanswered. Data over
  // the 100 kB body limit is a 413 (src/realtime/socket.ts); the rest of a frame (a query, held to 1,000
  // values only once it is read) may be larger, and is answered 400 rather than cut off.
  const maxHttpBufferSize = 1e6
  app.configure(socketio({ cors: { origin: settings.origins }, maxHttpBufferSize }, socketSetup(app)))
  app.configure(closedConnections)
  app.configure(routesWithoutPrototype)
  const shared = redis && { client: redis.client, namespace: redisNamespace(deploymentId) }
  app.set('redis', shared?.client)
  app.set(
    'loginLimiters',
    loginLimiters(settings.loginThrottle, shared && { ...shared, RateLimiterRedis: redis.RateLimiterRedis })
  )
  if (redis && shared) {
    // Before the services: feathers-sync wraps the event emitter of each service as it is registered.
    app.configure(
      eventSync({ redis: shared, heartbeatMs: settings.events.heartbeatMs, feathersSync: redis.feathersSync })
    )
  }

  app.configure(openApi(apiRoutesOf(resources)))
  app.configure(authentication)
  app.configure(services(resources))
  app.configure(sessions)
  app.configure(channels)

  app.hooks({ around: { all: [publicErrors] } })
  return app
}
