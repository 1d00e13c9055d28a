import { createApp } from '../app'
import { loadConfiguration } from '../configuration'
import { withMigratedDatabase } from '../database'
import { deploymentId } from '../database/deployment'
import { DEMO_PASSWORD, demoUsers } from './demo-data'
import { seed } from './seed'

/** `npm run seed`: the configured database (embedded unless DATABASE_URL), migrated, then demo data. */
async function main() {
  const settings = await loadConfiguration()
  const { result } = await withMigratedDatabase(settings.database, async (db) =>
    seed(createApp(settings, db, await deploymentId(db)))
  )
  console.log(`Done: ${result.created} created, ${result.existing} already there.`)
  console.log('\nDemo credentials (POST /api/auth/login):')
  for (const { email } of Object.values(demoUsers)) {
    console.log(`  ${email} / ${DEMO_PASSWORD}`)
  }
}

main().catch((error: Error) => {
  console.error(`Seeding failed: ${error.message}`)
  process.exit(1)
})
