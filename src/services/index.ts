import type { ResourceService } from '../declarative/runtime/register'
import type { Resource } from '../declarative/declaration'
import { audit } from './audit'
import { doctors } from './doctors'
import { mappings } from './mappings'
import { patients } from './patients'
import { users } from './users'
import { deployment } from './deployment-table'
import { refreshTokens, sessions } from './session-tables'

/** Every resource the API serves: registered in this order, typed for the server and the client. */
export const resources = [users, patients, doctors, mappings, audit] as const

export type Resources = typeof resources

/** The tables the server keeps for itself, served by no resource: declared all the same. */
export const tables = [sessions, refreshTokens, deployment] as const

/** Each declared resource's service under its path: the server's `ServiceTypes`. */
export type ResourceServices = {
  [R in Resources[number] as R['path']]: R extends Resource<infer D> ? ResourceService<D> : never
}

declare module '../declarations' {
  interface ServiceTypes extends ResourceServices {}
}
