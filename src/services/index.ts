import type { Application } from '../declarations'
import { audit } from './audit/audit'
import { doctor } from './doctors/doctors'
import { mapping } from './mappings/mappings'
import { patient } from './patients/patients'
import { user } from './users/users'

export const services = (app: Application) => {
  app.configure(user)
  app.configure(patient)
  app.configure(doctor)
  app.configure(mapping)
  app.configure(audit)
}
