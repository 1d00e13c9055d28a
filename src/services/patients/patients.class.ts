import type { Params } from '@feathersjs/feathers'
import type { KnexAdapterParams } from '@feathersjs/knex'
import type { Application } from '../../declarations'
import { RecordService, recordServiceOptions } from '../knex-service'
import type { Patient, PatientData, PatientPatch, PatientQuery } from './patients.schema'

export type { Patient, PatientData, PatientPatch, PatientQuery }

export type PatientParams = KnexAdapterParams<PatientQuery>

export class PatientService<_ServiceParams extends Params = PatientParams> extends RecordService<
  Patient,
  PatientData,
  PatientParams,
  PatientPatch
> {}

// A caller's total is read from the counts the database keeps (migrations/…_patient_counts.ts).
export const getOptions = (app: Application) =>
  recordServiceOptions(app, 'patients', { ownerCounts: { table: 'patient_counts', owner: 'userId' } })
