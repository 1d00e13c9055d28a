import type { RealTimeConnection } from '@feathersjs/feathers'
import type { Application } from '../declarations'

/**
 * Connections that have gone (`disconnect`). A login still under way when its socket went away
 * ends with a `login` event all the same; joining channels or tracking the session then would hold
 * a connection without a socket until its token expires.
 */
const closed = new WeakSet<RealTimeConnection>()

export const isClosed = (connection: RealTimeConnection) => closed.has(connection)

export const closedConnections = (app: Application) => {
  app.on('disconnect', (connection: RealTimeConnection) => closed.add(connection))
}
