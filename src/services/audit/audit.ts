import { authenticate } from '@feathersjs/authentication'
import { hooks as schemaHooks } from '@feathersjs/schema'
import type { Application, HookContext } from '../../declarations'
import { serviceDocs } from '../../docs/service-docs'
import { resolveValidatedQuery } from '../../hooks/resolve-query'
import { AuditService, getOptions } from './audit.class'
import { auditQueryResolver, auditQuerySchema, auditQueryValidator, auditSchema } from './audit.schema'
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
    events: [],
    docs: serviceDocs({
      description:
        "The caller's own audit trail: every call on patients and mappings, every login; read-only",
      schemas: { auditSchema, auditQuerySchema },
      authenticated: 'all'
    })
  })
  app.service(auditPath).hooks({
    around: {
      all: [authenticate('jwt')]
    },
    before: {
      all: [schemaHooks.validateQuery(auditQueryValidator), resolveValidatedQuery(auditQueryResolver)],
      find: [newestFirst]
    }
  })
}

declare module '../../declarations' {
  interface ServiceTypes {
    [auditPath]: AuditService
  }
}
