import type { Application } from '../declarations'
import { sessionsService } from './service'
import { userSessions } from './users'

/**
 * Sessions (the authentication service opens, renews and ends them, src/authentication.ts): the
 * `sessions` service, and the ends that follow a changed password or a removed user. Configure after
 * the services.
 */
export const sessions = (app: Application) => {
  app.configure(sessionsService)
  app.configure(userSessions)
}
