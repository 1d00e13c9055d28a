import type { Params } from '@feathersjs/feathers'
import type { KnexAdapterParams } from '@feathersjs/knex'
import type { Application } from '../../declarations'
import { RecordService, recordServiceOptions } from '../knex-service'
import type { Doctor, DoctorData, DoctorPatch, DoctorQuery } from './doctors.schema'

export type { Doctor, DoctorData, DoctorPatch, DoctorQuery }

export type DoctorParams = KnexAdapterParams<DoctorQuery>

export class DoctorService<_ServiceParams extends Params = DoctorParams> extends RecordService<
  Doctor,
  DoctorData,
  DoctorParams,
  DoctorPatch
> {}

export const getOptions = (app: Application) => recordServiceOptions(app, 'doctors')
