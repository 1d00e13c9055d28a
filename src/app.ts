import { feathers } from '@feathersjs/feathers'
import { bodyParser, koa, rest } from '@feathersjs/koa'
import socketio from '@feathersjs/socketio'
import type { Knex } from 'knex'
import { authentication } from './authentication'
import type { ApplicationConfiguration } from './configuration'
import type { Application, HookContext, NextFunction } from './declarations'
import { toPublicError } from './errors'
import { apiAliases } from './http/api-aliases'
import { corsFor } from './http/cors'
import { errorHandler } from './http/error-handler'
import { services } from './services'

const JSON_BODY_LIMIT = '100kb'

/** Database errors and unexpected failures are mapped once here, for every transport. */
const publicErrors = async (_context: HookContext, next: NextFunction) => {
  try {
    await next()
  } catch (error) {
    throw toPublicError(error)
  }
}

/** Builds the application on an open database; `listen` (or `setup`) starts it. */
export function createApp(settings: ApplicationConfiguration, db: Knex): Application {
  const app: Application = koa(feathers())
  for (const [name, value] of Object.entries(settings)) {
    app.set(name as keyof ApplicationConfiguration, value)
  }
  app.set('postgresqlClient', db)

  app.use(corsFor(settings.origins))
  app.use(errorHandler())
  app.use(bodyParser({ jsonLimit: JSON_BODY_LIMIT, urlencoded: false, text: false, multipart: false }))
  app.use(apiAliases())
  app.configure(rest())
  app.configure(socketio({ cors: { origin: settings.origins } }))

  app.configure(authentication)
  app.configure(services)

  app.hooks({ around: { all: [publicErrors] } })
  return app
}
