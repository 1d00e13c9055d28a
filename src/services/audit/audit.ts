import { authenticate } from '@feathersjs/authentication'
import { hooks as schemaHooks } from '@feathersjs/schema'
import type { Application, HookContext } from '../../declarations'
import { AuditService, getOptions } from './audit.class'
import { auditQueryResolver, auditQueryValidator } from './audit.schema'
import { auditMethods, auditPath } from './audit.shared'

export * from './audit.class'
export * from './audit.schema'

/** Newest first unless the client sorts. */
const newestFirst = async (context: HookContext<AuditService>) => {
  const query = (context.params.query ??= {})
  query.$sort ??= { createdAt: -1, id: -1 }
}

export const audit = (app: Application) => {
  app.use(auditPath, new AuditService(getOptions(app)), {
    methods: auditMethods,
    events: []
  })
  app.service(auditPath).hooks({
    around: {
      all: [authenticate('jwt')]
    },
    before: {
      all: [schemaHooks.validateQuery(auditQueryValidator), schemaHooks.resolveQuery(auditQueryResolver)],
      find: [newestFirst]
    }
  })
}

declare module '../../declarations' {
  interface ServiceTypes {
    [auditPath]: AuditService
  }
}
