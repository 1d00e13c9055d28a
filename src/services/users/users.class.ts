import type { Params } from '@feathersjs/feathers'
import type { KnexAdapterParams } from '@feathersjs/knex'
import type { Application } from '../../declarations'
import { RecordService, recordServiceOptions } from '../knex-service'
import type { User, UserData, UserPatch, UserQuery } from './users.schema'

export type { User, UserData, UserPatch, UserQuery }

export type UserParams = KnexAdapterParams<UserQuery>

export class UserService<_ServiceParams extends Params = UserParams> extends RecordService<
  User,
  UserData,
  UserParams,
  UserPatch
> {}

export const getOptions = (app: Application) => recordServiceOptions(app, 'users')
