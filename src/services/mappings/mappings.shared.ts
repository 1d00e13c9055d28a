import type { Params } from '@feathersjs/feathers'
import type { ClientApplication } from '../../client'
import type { Mapping, MappingData, MappingQuery, MappingService } from './mappings.class'

export type { Mapping, MappingData, MappingQuery }

export type MappingClientService = Pick<MappingService<Params<MappingQuery>>, (typeof mappingMethods)[number]>

export const mappingPath = 'mappings'

export const mappingMethods: Array<keyof MappingService> = ['find', 'get', 'create', 'remove']

export const mappingClient = (client: ClientApplication) => {
  const connection = client.get('connection')

  client.use(mappingPath, connection.service(mappingPath), {
    methods: mappingMethods
  })
}

declare module '../../client' {
  interface ServiceTypes {
    [mappingPath]: MappingClientService
  }
}
