import { loadConfiguration } from './configuration'
import { startDatabase } from './database'
import { createKnex } from './database/knex'
import { migrateToLatest } from './server'

/** `npm run migrate`: applies pending migrations and stops. */
async function main() {
  const settings = await loadConfiguration()
  const database = await startDatabase(settings.database)
  const db = createKnex(database.connectionString, settings.database)
  try {
    const applied = await migrateToLatest(db)
    console.log(applied.length ? `Applied: ${applied.join(', ')}` : 'Already up to date')
  } finally {
    await db.destroy()
    await database.stop()
  }
}

main().catch((error: Error) => {
  console.error(`Migration failed: ${error.message}`)
  process.exit(1)
})
