import type { Params } from '@feathersjs/feathers'
import type { KnexAdapterParams } from '@feathersjs/knex'
import type { Application } from '../../declarations'
import { RecordService, recordServiceOptions } from '../knex-service'
import { doctorSchema } from '../doctors/doctors.schema'
import { patientSchema } from '../patients/patients.schema'
import type { Mapping, MappingData, MappingQuery } from './mappings.schema'

export type { Mapping, MappingData, MappingQuery }

export type MappingParams = KnexAdapterParams<MappingQuery>

export class MappingService<_ServiceParams extends Params = MappingParams> extends RecordService<
  Mapping,
  MappingData,
  MappingParams
> {}

// Every mapping carries its doctor and its patient, fetched in the same statement.
export const getOptions = (app: Application) =>
  recordServiceOptions(app, 'mappings', {
    relations: {
      doctor: { table: 'doctors', foreignKey: 'doctorId', schema: doctorSchema },
      patient: { table: 'patients', foreignKey: 'patientId', schema: patientSchema }
    }
  })
