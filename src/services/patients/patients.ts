import { authenticate } from '@feathersjs/authentication'
import { hooks as schemaHooks } from '@feathersjs/schema'
import { validateRecord } from '../../hooks/validate-record'
import { publishToOwner } from '../../channels'
import type { Application } from '../../declarations'
import { audit } from '../../hooks/audit'
import { resolveValidatedQuery } from '../../hooks/resolve-query'
import { serviceDocs } from '../../docs/service-docs'
import { PatientService, getOptions } from './patients.class'
import type { Patient } from './patients.class'
import {
  patientDataResolver,
  patientDataValidator,
  patientExternalResolver,
  patientPatchResolver,
  patientPatchValidator,
  patientDataSchema,
  patientPatchSchema,
  patientQueryResolver,
  patientQuerySchema,
  patientQueryValidator,
  patientSchema
} from './patients.schema'
import { patientMethods, patientPath } from './patients.shared'

export * from './patients.class'
export * from './patients.schema'

// Every method reaches only the caller's own patients (patientQueryResolver forces userId).
export const patient = (app: Application) => {
  app.use(patientPath, new PatientService(getOptions(app)), {
    methods: patientMethods,
    docs: serviceDocs({
      description: "The caller's own patients",
      schemas: { patientSchema, patientDataSchema, patientPatchSchema, patientQuerySchema },
      authenticated: 'all'
    })
  })
  app.service(patientPath).publish(publishToOwner<Patient>((patient) => patient.userId))
  app.service(patientPath).hooks({
    around: {
      all: [authenticate('jwt'), schemaHooks.resolveExternal(patientExternalResolver), audit()]
    },
    before: {
      all: [schemaHooks.validateQuery(patientQueryValidator), resolveValidatedQuery(patientQueryResolver)],
      create: [validateRecord(patientDataValidator), schemaHooks.resolveData(patientDataResolver)],
      update: [validateRecord(patientDataValidator), schemaHooks.resolveData(patientPatchResolver)],
      patch: [validateRecord(patientPatchValidator), schemaHooks.resolveData(patientPatchResolver)]
    }
  })
}

declare module '../../declarations' {
  interface ServiceTypes {
    [patientPath]: PatientService
  }
}
