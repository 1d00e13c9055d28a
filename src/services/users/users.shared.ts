import type { Params } from '@feathersjs/feathers'
import { remoteService } from '../remote-service'
import type { User, UserData, UserPatch, UserQuery, UserService } from './users.class'

export type { User, UserData, UserPatch, UserQuery }

export type UserClientService = Pick<UserService<Params<UserQuery>>, (typeof userMethods)[number]>

export const userPath = 'users'

export const userMethods: Array<keyof UserService> = ['find', 'get', 'create', 'patch', 'remove']

export const userClient = remoteService(userPath, userMethods)

declare module '../../client' {
  interface ServiceTypes {
    [userPath]: UserClientService
  }
}
