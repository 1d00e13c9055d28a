import type { ClientApplication } from '../client'

/** Registers a remote service on the client with the methods the server offers. */
export const remoteService = (path: string, methods: string[]) => (client: ClientApplication) => {
  const connection = client.get('connection')
  client.use(path as any, connection.service(path as any) as any, { methods: methods as any })
}
