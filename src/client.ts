import { feathers } from '@feathersjs/feathers'
import type { TransportConnection, Application } from '@feathersjs/feathers'
import authenticationClient from '@feathersjs/authentication-client'
import type { AuthenticationClientOptions } from '@feathersjs/authentication-client'
import { auditClient } from './services/audit/audit.shared'
import { doctorClient } from './services/doctors/doctors.shared'
import { mappingClient } from './services/mappings/mappings.shared'
import { patientClient } from './services/patients/patients.shared'
import { userClient } from './services/users/users.shared'

export interface Configuration {
  connection: TransportConnection<ServiceTypes>
}

export interface ServiceTypes {}

export type ClientApplication = Application<ServiceTypes, Configuration>

/**
 * A typed client for the API over REST or Socket.io:
 * `createClient(socketio(io(url)))` or `createClient(rest(url).fetch(fetch))`.
 */
export const createClient = (
  connection: TransportConnection<ServiceTypes>,
  authenticationOptions: Partial<AuthenticationClientOptions> = {}
) => {
  const client: ClientApplication = feathers()

  client.configure(connection)
  client.configure(authenticationClient(authenticationOptions))
  client.set('connection', connection)

  client.configure(userClient)
  client.configure(patientClient)
  client.configure(doctorClient)
  client.configure(auditClient)
  client.configure(mappingClient)
  return client
}
