import type { Params } from '@feathersjs/feathers'
import { remoteService } from '../remote-service'
import type { Patient, PatientData, PatientPatch, PatientQuery, PatientService } from './patients.class'

export type { Patient, PatientData, PatientPatch, PatientQuery }

export type PatientClientService = Pick<PatientService<Params<PatientQuery>>, (typeof patientMethods)[number]>

export const patientPath = 'patients'

export const patientMethods: Array<keyof PatientService> = [
  'find',
  'get',
  'create',
  'update',
  'patch',
  'remove'
]

export const patientClient = remoteService(patientPath, patientMethods)

declare module '../../client' {
  interface ServiceTypes {
    [patientPath]: PatientClientService
  }
}
