import { feathers } from '@feathersjs/feathers'
import type { TransportConnection, Application } from '@feathersjs/feathers'
import authenticationClient from '@feathersjs/authentication-client'
import type { AuthenticationClientOptions } from '@feathersjs/authentication-client'
import { resources } from './resources'
import type { Resources } from './resources'
import type { ResourceService } from './services/register'
import type { Method, Resource } from './services/resource'

type OfferedMethods<D> = D extends { methods: readonly Method[] } ? D['methods'][number] : Method

/** What a client may call of a declared resource: the methods it offers, typed as on the server. */
type ClientService<R> = R extends Resource<infer D> ? Pick<ResourceService<D>, OfferedMethods<D>> : never

export type ResourceClientServices = { [R in Resources[number] as R['path']]: ClientService<R> }

export interface ServiceTypes extends ResourceClientServices {}

export interface Configuration {
  connection: TransportConnection<ServiceTypes>
}

export type ClientApplication = Application<ServiceTypes, Configuration>

/**
 * A typed client for the API over REST or Socket.io:
 * `createClient(socketio(io(url)))` or `createClient(rest(url).fetch(fetch))`. Every declared
 * resource is there, with the methods its declaration offers.
 */
export const createClient = (
  connection: TransportConnection<ServiceTypes>,
  authenticationOptions: Partial<AuthenticationClientOptions> = {}
) => {
  const client: ClientApplication = feathers()

  client.configure(connection)
  client.configure(authenticationClient(authenticationOptions))
  client.set('connection', connection)
  for (const { path, methods } of resources) {
    client.use(path as any, connection.service(path as any) as any, { methods: [...methods] as any })
  }
  return client
}
