import type { Application } from '../declarations'
import { user } from './users/users'

export const services = (app: Application) => {
  app.configure(user)
}
