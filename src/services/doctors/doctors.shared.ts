import type { Params } from '@feathersjs/feathers'
import type { ClientApplication } from '../../client'
import type { Doctor, DoctorData, DoctorPatch, DoctorQuery, DoctorService } from './doctors.class'

export type { Doctor, DoctorData, DoctorPatch, DoctorQuery }

export type DoctorClientService = Pick<DoctorService<Params<DoctorQuery>>, (typeof doctorMethods)[number]>

export const doctorPath = 'doctors'

export const doctorMethods: Array<keyof DoctorService> = ['find', 'get', 'create', 'update', 'patch', 'remove']

export const doctorClient = (client: ClientApplication) => {
  const connection = client.get('connection')

  client.use(doctorPath, connection.service(doctorPath), {
    methods: doctorMethods
  })
}

declare module '../../client' {
  interface ServiceTypes {
    [doctorPath]: DoctorClientService
  }
}
