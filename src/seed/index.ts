import { createApp } from '../app'
import { loadConfiguration } from '../configuration'
import { withMigratedDatabase } from '../database'
import { deploymentId } from '../database/deployment'
import { DEMO_PASSWORD } from './demo-data'
import { demoLogins, seed } from './seed'

/** `npm run seed`: the configured database (embedded unless DATABASE_URL), migrated, then demo data. */
async function main() {
  const settings = await loadConfiguration()
  const { result } = await withMigratedDatabase(settings.database, async (db) => {
    const app = createApp(settings, db, await deploymentId(db))
    return { summary: await seed(app), logins: await demoLogins(app) }
  })
  console.log(`Done: ${result.summary.created} created, ${result.summary.existing} already there.`)
  console.log('\nDemo logins (POST /api/auth/login):')
  for (const { email, password } of result.logins) {
    console.log(
      password === undefined
        ? `  ${email}: registered with a password of its own, not ${DEMO_PASSWORD} (the seed never changes a password)`
        : `  ${email} / ${password}`
    )
  }
}

main().catch((error: Error) => {
  console.error(`Seeding failed: ${error.message}`)
  process.exit(1)
})
