import type { Application } from '../../declarations'
import { registerResource } from './register'
import type { AnyResource } from '../declaration'

/** Registers the service of every declared resource, in order. */
export const services = (resources: readonly AnyResource[]) => (app: Application) => {
  for (const resource of resources) {
    registerResource(app, resource)
  }
}
