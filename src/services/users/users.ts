import { authenticate } from '@feathersjs/authentication'
import { publishToOwner } from '../../channels'
import { hooks as schemaHooks } from '@feathersjs/schema'
import { validateRecord } from '../../hooks/validate-record'
import type { Application, HookContext, NextFunction } from '../../declarations'
import { serviceDocs } from '../../docs/service-docs'
import { resolveValidatedQuery } from '../../hooks/resolve-query'
import { UserService, getOptions } from './users.class'
import type { User } from './users.class'
import {
  userDataResolver,
  userDataValidator,
  userExternalResolver,
  userPatchResolver,
  userPatchValidator,
  userDataSchema,
  userPatchSchema,
  userQueryResolver,
  userQuerySchema,
  userQueryValidator,
  userResolver,
  userResponseSchema
} from './users.schema'
import { userMethods, userPath } from './users.shared'

export * from './users.class'
export * from './users.schema'

/** Emails are stored trimmed and lower-cased; this runs before validation so ' A@b.org' is valid. */
const normaliseEmail = async (context: HookContext<UserService>, next?: NextFunction) => {
  const data = context.data as Record<string, unknown> | undefined
  if (data && typeof data.email === 'string') {
    data.email = data.email.trim().toLowerCase()
  }
  await next?.()
}

export const user = (app: Application) => {
  app.use(userPath, new UserService(getOptions(app)), {
    methods: userMethods,
    docs: serviceDocs({
      description: "Registration (anyone) and the caller's own user record",
      schemas: { userSchema: userResponseSchema, userDataSchema, userPatchSchema, userQuerySchema },
      authenticated: ['find', 'get', 'patch', 'remove'],
      errors: { create: [409] },
      docs: { operations: { create: { summary: 'Register' } } }
    })
  })
  app.service(userPath).publish(publishToOwner<User>((user) => user.id))
  app.service(userPath).hooks({
    around: {
      all: [schemaHooks.resolveExternal(userExternalResolver), schemaHooks.resolveResult(userResolver)],
      find: [authenticate('jwt')],
      get: [authenticate('jwt')],
      patch: [authenticate('jwt')],
      remove: [authenticate('jwt')]
    },
    before: {
      all: [schemaHooks.validateQuery(userQueryValidator)],
      // Registration is anonymous; every other method is scoped to the caller.
      find: [resolveValidatedQuery(userQueryResolver)],
      get: [resolveValidatedQuery(userQueryResolver)],
      create: [normaliseEmail, validateRecord(userDataValidator), schemaHooks.resolveData(userDataResolver)],
      patch: [
        resolveValidatedQuery(userQueryResolver),
        validateRecord(userPatchValidator),
        schemaHooks.resolveData(userPatchResolver)
      ],
      remove: [resolveValidatedQuery(userQueryResolver)]
    }
  })
}

declare module '../../declarations' {
  interface ServiceTypes {
    [userPath]: UserService
  }
}
