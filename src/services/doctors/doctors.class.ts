import type { Params } from '@feathersjs/feathers'
import type { KnexAdapterOptions, KnexAdapterParams } from '@feathersjs/knex'
import type { Application } from '../../declarations'
import { RecordService } from '../knex-service'
import type { Doctor, DoctorData, DoctorPatch, DoctorQuery } from './doctors.schema'

export type { Doctor, DoctorData, DoctorPatch, DoctorQuery }

export interface DoctorParams extends KnexAdapterParams<DoctorQuery> {}

export class DoctorService<ServiceParams extends Params = DoctorParams> extends RecordService<
  Doctor,
  DoctorData,
  DoctorParams,
  DoctorPatch
> {}

export const getOptions = (app: Application): KnexAdapterOptions => ({
  paginate: app.get('paginate'),
  Model: app.get('postgresqlClient'),
  name: 'doctors',
  operators: ['$ilike']
})
