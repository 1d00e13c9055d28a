import type { Knex } from 'knex'
import type { ApplicationConfiguration } from '../configuration'
import { startEmbeddedPostgres } from './embedded-postgres'
import { createKnex, migrateToLatest } from './knex'

export interface DatabaseServer {
  connectionString: string
  /** 'external' for DATABASE_URL, 'embedded' for the cluster this process started. */
  kind: 'external' | 'embedded'
  stop(): Promise<void>
}

/** The database named by DATABASE_URL, or else an embedded cluster started for this process. */
export async function startDatabase(settings: ApplicationConfiguration['database']): Promise<DatabaseServer> {
  if (settings.url) {
    return { connectionString: settings.url, kind: 'external', stop: async () => {} }
  }
  const embedded = await startEmbeddedPostgres(settings.embedded)
  return { connectionString: embedded.connectionString, kind: 'embedded', stop: embedded.stop }
}

/**
 * For one-off commands (migrate, seed): the configured database, migrated to the latest schema,
 * for the length of `task`; the connection and any embedded cluster stop afterwards.
 */
export async function withMigratedDatabase<T>(
  settings: ApplicationConfiguration['database'],
  task: (db: Knex) => Promise<T>
) {
  const database = await startDatabase(settings)
  const db = createKnex(database.connectionString, settings)
  try {
    const applied = await migrateToLatest(db)
    return await task(db).then((result) => ({ result, applied }))
  } finally {
    await db.destroy()
    await database.stop()
  }
}
