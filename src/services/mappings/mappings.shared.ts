import type { Params } from '@feathersjs/feathers'
import { remoteService } from '../remote-service'
import type { Mapping, MappingData, MappingQuery, MappingService } from './mappings.class'

export type { Mapping, MappingData, MappingQuery }

export type MappingClientService = Pick<MappingService<Params<MappingQuery>>, (typeof mappingMethods)[number]>

export const mappingPath = 'mappings'

export const mappingMethods: Array<keyof MappingService> = ['find', 'get', 'create', 'remove']

export const mappingClient = remoteService(mappingPath, mappingMethods)

declare module '../../client' {
  interface ServiceTypes {
    [mappingPath]: MappingClientService
  }
}
