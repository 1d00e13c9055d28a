import type { Application } from '../../declarations'
import { sessionsService } from './service'
import { userSessions } from './user-changes'

/**
 * Sessions (the authentication service opens, renews and ends them, src/auth/index.ts): the
 * `sessions` service, and the ends that follow a changed password or a removed user. Configure after
 * the services.
 */
export const sessions = (app: Application) => {
  app.configure(sessionsService)
  app.configure(userSessions)
}
