import { randomBytes } from 'node:crypto'
import pg from 'pg'
import type { ApplicationConfiguration } from '../../configuration'
import { startDatabase } from '../../database'
import { createKnex, migrateToLatest } from '../../database/knex'
import { introspect } from './introspect'
import type { SchemaState } from './schema-state'

/**
 * The schema the migrations build (Prisma's shadow database): a database of its own, made on the
 * configured server (DATABASE_URL's, or the embedded one when there is none), every migration
 * applied to it, read, and dropped again. `migration:new` and `migration:check` compare the
 * declarations with it, never with a database that holds data.
 */

const shadowName = (database: string) =>
  `${database.slice(0, 40)}_shadow_${randomBytes(4).toString('hex')}`
    .replace(/[^a-z0-9_]/gi, '_')
    .toLowerCase()

async function onServer(url: string, sql: string) {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}

/** The schema `migrations/` (and `extraMigrations`, a test's) build on an empty database. */
export async function migratedState(
  settings: ApplicationConfiguration['database'],
  extraMigrations: readonly string[] = []
): Promise<SchemaState> {
  const server = await startDatabase(settings)
  try {
    const url = new URL(server.connectionString)
    const name = shadowName(url.pathname.slice(1) || 'postgres')
    await onServer(url.toString(), `CREATE DATABASE ${name}`)
    try {
      const shadowUrl = new URL(url)
      shadowUrl.pathname = `/${name}`
      const db = createKnex(shadowUrl.toString(), settings)
      try {
        await migrateToLatest(db, extraMigrations)
        return await introspect(db)
      } finally {
        await db.destroy()
      }
    } finally {
      await onServer(url.toString(), `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    }
  } finally {
    await server.stop()
  }
}
