import { authenticate } from '@feathersjs/authentication'
import { hooks as schemaHooks } from '@feathersjs/schema'
import { validateRecord } from '../../hooks/validate-record'
import { publishToAuthenticated } from '../../channels'
import type { Application } from '../../declarations'
import { serviceDocs } from '../../docs/service-docs'
import { creatorOnly } from '../../hooks/creator-only'
import { DoctorService, getOptions } from './doctors.class'
import {
  doctorDataResolver,
  doctorDataValidator,
  doctorExternalResolver,
  doctorPatchResolver,
  doctorDataSchema,
  doctorPatchSchema,
  doctorPatchValidator,
  doctorQuerySchema,
  doctorQueryValidator,
  doctorSchema
} from './doctors.schema'
import { doctorMethods, doctorPath } from './doctors.shared'

export * from './doctors.class'
export * from './doctors.schema'

// A shared directory: every user may find, get and create; only the creator may change or remove.
export const doctor = (app: Application) => {
  app.use(doctorPath, new DoctorService(getOptions(app)), {
    methods: doctorMethods,
    docs: serviceDocs({
      description: 'A directory shared by all users; only the creator may change or remove a doctor',
      schemas: { doctorSchema, doctorDataSchema, doctorPatchSchema, doctorQuerySchema },
      authenticated: 'all',
      errors: { update: [403], patch: [403], remove: [403] }
    })
  })
  app.service(doctorPath).publish(publishToAuthenticated())
  app.service(doctorPath).hooks({
    around: {
      all: [authenticate('jwt'), schemaHooks.resolveExternal(doctorExternalResolver)],
      update: [creatorOnly('createdBy')],
      patch: [creatorOnly('createdBy')],
      remove: [creatorOnly('createdBy')]
    },
    before: {
      all: [schemaHooks.validateQuery(doctorQueryValidator)],
      create: [validateRecord(doctorDataValidator), schemaHooks.resolveData(doctorDataResolver)],
      update: [validateRecord(doctorDataValidator), schemaHooks.resolveData(doctorPatchResolver)],
      patch: [validateRecord(doctorPatchValidator), schemaHooks.resolveData(doctorPatchResolver)]
    }
  })
}

declare module '../../declarations' {
  interface ServiceTypes {
    [doctorPath]: DoctorService
  }
}
