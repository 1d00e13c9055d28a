// Users for the benchmarks, written straight into the database with one precomputed hash (argon2
// for 1,000 registrations would be the whole run), and their access tokens signed with the server's
// secret, each naming a session of its own as a login's would.
import { randomUUID } from 'node:crypto'
import { AuthenticationService } from '@feathersjs/authentication'
import { feathers } from '@feathersjs/feathers'
import { hash } from '@node-rs/argon2'
import type { Knex } from 'knex'
import { loadConfiguration } from '../src/configuration'

const INSERT_BATCH = 500

/** N users in a few INSERTs, all with the hash of one password. */
export async function createUsers(db: Knex, count: number) {
  const password = await hash('benchmark-password')
  const run = randomUUID().slice(0, 8)
  const ids: string[] = []
  for (let start = 0; start < count; start += INSERT_BATCH) {
    const rows = Array.from({ length: Math.min(INSERT_BATCH, count - start) }, (_, offset) => ({
      name: `Bench ${start + offset}`,
      email: `bench-${run}-${start + offset}@example.org`,
      password
    }))
    const inserted: Array<{ id: string }> = await db('users').insert(rows).returning('id')
    ids.push(...inserted.map(({ id }) => id))
  }
  return ids
}

/** A session for each user, as a login would open it: an access token names its session. */
async function openSessions(db: Knex, ids: string[]) {
  const sessions: string[] = []
  for (let start = 0; start < ids.length; start += INSERT_BATCH) {
    const rows = ids
      .slice(start, start + INSERT_BATCH)
      .map((userId) => ({ userId, expiresAt: db.raw("now() + interval '1 day'") }))
    const inserted: Array<{ id: string }> = await db('sessions').insert(rows).returning('id')
    sessions.push(...inserted.map(({ id }) => id))
  }
  return sessions
}

export async function tokensFor(db: Knex, ids: string[], secret: string) {
  const settings = await loadConfiguration()
  const app = feathers()
  app.set('authentication', { ...settings.authentication, secret })
  const authentication = new AuthenticationService(app)
  const sessions = await openSessions(db, ids)
  return Promise.all(
    ids.map((id, index) => authentication.createAccessToken({ sid: sessions[index] }, { subject: id }))
  )
}
