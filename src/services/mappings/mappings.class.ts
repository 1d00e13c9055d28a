import type { Params } from '@feathersjs/feathers'
import type { KnexAdapterParams } from '@feathersjs/knex'
import type { Application } from '../../declarations'
import { RecordService, recordServiceOptions } from '../knex-service'
import type { Mapping, MappingData, MappingQuery } from './mappings.schema'

export type { Mapping, MappingData, MappingQuery }

export interface MappingParams extends KnexAdapterParams<MappingQuery> {}

export class MappingService<ServiceParams extends Params = MappingParams> extends RecordService<
  Mapping,
  MappingData,
  MappingParams
> {}

export const getOptions = (app: Application) => recordServiceOptions(app, 'mappings')
