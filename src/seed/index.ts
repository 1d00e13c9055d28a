import { createApp } from '../app'
import { loadConfiguration } from '../configuration'
import { startDatabase } from '../database'
import { createKnex } from '../database/knex'
import { migrateToLatest } from '../server'
import { DEMO_PASSWORD, demoUsers } from './demo-data'
import { seed } from './seed'

/** `npm run seed`: the configured database (embedded unless DATABASE_URL), migrated, then demo data. */
async function main() {
  const settings = await loadConfiguration()
  const database = await startDatabase(settings.database)
  const db = createKnex(database.connectionString, settings.database)
  try {
    await migrateToLatest(db)
    const { created, existing } = await seed(createApp(settings, db))
    console.log(`Done: ${created} created, ${existing} already there.`)
    console.log('\nDemo credentials (POST /api/auth/login):')
    for (const { email } of Object.values(demoUsers)) {
      console.log(`  ${email} / ${DEMO_PASSWORD}`)
    }
  } finally {
    await db.destroy()
    await database.stop()
  }
}

main().catch((error: Error) => {
  console.error(`Seeding failed: ${error.message}`)
  process.exit(1)
})
