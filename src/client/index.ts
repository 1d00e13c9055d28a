import { feathers } from '@feathersjs/feathers'
import type { TransportConnection, Application, ServiceInterface } from '@feathersjs/feathers'
import authenticationClient, { AuthenticationClient } from '@feathersjs/authentication-client'
import { resources } from '../services'
import type { Resources } from '../services'
import type { ResourceService } from '../declarative/runtime/register'
import type { Method, Resource } from '../declarative/declaration'
import { withSessions } from './sessions'
import type { SessionClientOptions } from './sessions'
import type { SessionsService } from '../auth/sessions/service'

type OfferedMethods<D> = D extends { methods: readonly Method[] } ? D['methods'][number] : Method

/** What a client may call of a declared resource: the methods it offers, typed as on the server. */
type ClientService<R> = R extends Resource<infer D> ? Pick<ResourceService<D>, OfferedMethods<D>> : never

export type ResourceClientServices = { [R in Resources[number] as R['path']]: ClientService<R> }

export interface ServiceTypes extends ResourceClientServices {
  /** The caller's open sessions (`find`), and ending one (`remove`). */
  sessions: Pick<SessionsService, 'find' | 'remove'>
}

export interface Configuration {
  connection: TransportConnection<ServiceTypes>
}

export type ClientApplication = Application<ServiceTypes, Configuration>

/** The authentication client of `createClient`: it keeps its session (src/client/sessions.ts). */
export const SessionAuthenticationClient = withSessions(AuthenticationClient)

/**
 * A typed client for the API over REST or Socket.io:
 * `createClient(socketio(io(url)))` or `createClient(rest(url).fetch(fetch))`. Every declared
 * resource is there, with the methods its declaration offers, and `sessions`. Once logged in, it
 * stays logged in: it renews its access token with its refresh token before it expires and when a
 * call is answered 401, until the session ends (src/client/sessions.ts).
 */
export const createClient = (
  connection: TransportConnection<ServiceTypes>,
  authenticationOptions: Partial<SessionClientOptions> = {}
) => {
  const client: ClientApplication = feathers()

  client.configure(connection)
  client.configure(
    authenticationClient({ Authentication: SessionAuthenticationClient, ...authenticationOptions })
  )
  client.set('connection', connection)
  // A loop over the declarations cannot name each one's service type: by path, as a service.
  const byPath = client as ClientApplication & Application<Record<string, ServiceInterface<unknown>>>
  for (const { path, methods } of resources) {
    byPath.use(path, connection.service(path), { methods: [...methods] })
  }
  client.use('sessions', connection.service('sessions'), { methods: ['find', 'remove'] })
  return client
}
