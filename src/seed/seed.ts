import { verifyPassword } from '../auth/passwords'
import type { Params } from '@feathersjs/feathers'
import type { Application } from '../declarations'
import type { User } from '../services/users'
import { DEMO_PASSWORD, demoDoctors, demoMappings, demoPatients, demoUsers } from './demo-data'
import type { DemoUserKey } from './demo-data'

type Log = (message: string) => void

/** What the seed needs of a service: `find` without paging, and `create`. */
interface SeedService<T> {
  find(params: Params & { paginate: false }): Promise<T[]>
  create(data: Record<string, unknown>, params: Params): Promise<T>
}

/**
 * Finds the record `query` describes or creates it with `data`: running the seed again creates
 * nothing. Everything goes through the services, so validation, hashing and owners apply.
 */
async function ensure<T extends { id: string }>(
  service: SeedService<T>,
  label: string,
  query: Record<string, unknown>,
  data: Record<string, unknown>,
  user: User | undefined,
  log: Log
): Promise<{ record: T; created: boolean }> {
  const existing = await service.find({ query: { ...query, $limit: 1 }, user, paginate: false })
  if (existing.length > 0) {
    log(`  exists   ${label}`)
    return { record: existing[0], created: false }
  }
  const record = await service.create(data, { user })
  log(`  created  ${label}`)
  return { record, created: true }
}

export interface SeedSummary {
  created: number
  existing: number
}

/** Demo users, doctors, patients and mappings; idempotent. */
export async function seed(app: Application, log: Log = console.log): Promise<SeedSummary> {
  const summary: SeedSummary = { created: 0, existing: 0 }
  const count = ({ created }: { created: boolean }) => (created ? summary.created++ : summary.existing++)

  log('Users')
  const users = {} as Record<DemoUserKey, User>
  for (const [key, user] of Object.entries(demoUsers) as Array<
    [DemoUserKey, (typeof demoUsers)[DemoUserKey]]
  >) {
    const result = await ensure<User & { id: string }>(
      app.service('users'),
      user.email,
      { email: user.email },
      { ...user, password: DEMO_PASSWORD },
      undefined,
      log
    )
    users[key] = result.record
    count(result)
  }

  log('Doctors')
  const doctors: Record<string, { id: string }> = {}
  for (const [key, { createdBy, ...doctor }] of Object.entries(demoDoctors)) {
    const user = users[createdBy]
    const result = await ensure(
      app.service('doctors'),
      doctor.name,
      { name: doctor.name, createdBy: user.id },
      doctor,
      user,
      log
    )
    doctors[key] = result.record
    count(result)
  }

  log('Patients')
  const patients: Record<string, { id: string }> = {}
  for (const [key, { owner, ...patient }] of Object.entries(demoPatients)) {
    const user = users[owner]
    const result = await ensure(
      app.service('patients'),
      `${patient.name} (${demoUsers[owner].email})`,
      { name: patient.name },
      patient,
      user,
      log
    )
    patients[key] = result.record
    count(result)
  }

  log('Mappings')
  for (const { patient, doctor } of demoMappings) {
    const user = users[demoPatients[patient].owner]
    const pair = { patientId: patients[patient].id, doctorId: doctors[doctor].id }
    count(
      await ensure(
        app.service('mappings'),
        `${demoPatients[patient].name} -> ${demoDoctors[doctor].name}`,
        pair,
        pair,
        user,
        log
      )
    )
  }
  return summary
}

export interface DemoLogin {
  email: string
  /** The demo password, or `undefined` when the user has another one (registered before the seed ran, or changed since). */
  password: string | undefined
}

/**
 * The demo users' logins as they stand: the seed never changes a password, so a demo email someone
 * registered before the seed ran keeps that person's password, and printing the demo one would
 * print a login that answers 401.
 */
export async function demoLogins(app: Application): Promise<DemoLogin[]> {
  return Promise.all(
    Object.values(demoUsers).map(async ({ email }) => {
      const [user] = (await app
        .service('users')
        .find({ query: { email, $limit: 1 }, paginate: false })) as Array<User & { password?: string }>
      const works = typeof user?.password === 'string' && (await verifyPassword(user.password, DEMO_PASSWORD))
      return { email, password: works ? DEMO_PASSWORD : undefined }
    })
  )
}
