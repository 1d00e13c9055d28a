import { authenticate } from '@feathersjs/authentication'
import { hooks as schemaHooks } from '@feathersjs/schema'
import { validateRecord } from '../../hooks/validate-record'
import { publishToOwner } from '../../channels'
import type { Application } from '../../declarations'
import { audit } from '../../hooks/audit'
import { resolveValidatedQuery } from '../../hooks/resolve-query'
import { serviceDocs } from '../../docs/service-docs'
import { referencesNotFound, requireOwnReference } from '../../hooks/references'
import { MappingService, getOptions } from './mappings.class'
import type { Mapping } from './mappings.class'
import {
  mappingDataResolver,
  mappingDataValidator,
  mappingExternalResolver,
  mappingDataSchema,
  mappingQueryResolver,
  mappingQuerySchema,
  mappingQueryValidator,
  mappingResponseSchema
} from './mappings.schema'
import { mappingMethods, mappingPath } from './mappings.shared'

export * from './mappings.class'
export * from './mappings.schema'

// Mappings follow their patient's owner: the caller's own patients only (a composite foreign key
// keeps a mapping's userId equal to its patient's). Every result carries `doctor` and `patient`
// (see getOptions).
export const mapping = (app: Application) => {
  app.use(mappingPath, new MappingService(getOptions(app)), {
    methods: mappingMethods,
    docs: serviceDocs({
      description:
        "Doctors assigned to the caller's own patients; each mapping carries its `doctor` and `patient`",
      schemas: { mappingSchema: mappingResponseSchema, mappingDataSchema, mappingQuerySchema },
      authenticated: 'all',
      errors: { create: [404, 409] }
    })
  })
  // The owner is the patient's: `userId` is not in the payload other instances receive.
  app
    .service(mappingPath)
    .publish(publishToOwner<Mapping>((mapping) => mapping.patient?.userId ?? mapping.userId))
  app.service(mappingPath).hooks({
    around: {
      all: [authenticate('jwt'), schemaHooks.resolveExternal(mappingExternalResolver), audit()],
      create: [
        referencesNotFound({
          mappings_patient_owner_foreign: 'Patient not found',
          mappings_doctor_id_foreign: 'Doctor not found'
        })
      ]
    },
    before: {
      all: [schemaHooks.validateQuery(mappingQueryValidator), resolveValidatedQuery(mappingQueryResolver)],
      create: [
        validateRecord(mappingDataValidator),
        requireOwnReference({
          field: 'patientId',
          service: 'patients',
          ownerField: 'userId',
          message: 'Patient not found'
        }),
        schemaHooks.resolveData(mappingDataResolver)
      ]
    }
  })
}

declare module '../../declarations' {
  interface ServiceTypes {
    [mappingPath]: MappingService
  }
}
