import type { Params } from '@feathersjs/feathers'
import { remoteService } from '../remote-service'
import type { Doctor, DoctorData, DoctorPatch, DoctorQuery, DoctorService } from './doctors.class'

export type { Doctor, DoctorData, DoctorPatch, DoctorQuery }

export type DoctorClientService = Pick<DoctorService<Params<DoctorQuery>>, (typeof doctorMethods)[number]>

export const doctorPath = 'doctors'

export const doctorMethods: Array<keyof DoctorService> = [
  'find',
  'get',
  'create',
  'update',
  'patch',
  'remove'
]

export const doctorClient = remoteService(doctorPath, doctorMethods)

declare module '../../client' {
  interface ServiceTypes {
    [doctorPath]: DoctorClientService
  }
}
