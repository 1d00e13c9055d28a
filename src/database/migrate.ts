import { loadConfiguration } from '../configuration'
import { withMigratedDatabase } from '.'

/** `npm run migrate`: applies pending migrations and stops. */
async function main() {
  const settings = await loadConfiguration({ purpose: 'migrate' })
  const { applied } = await withMigratedDatabase(settings.database, async () => undefined)
  console.log(applied.length ? `Applied: ${applied.join(', ')}` : 'Already up to date')
}

main().catch((error: Error) => {
  console.error(`Migration failed: ${error.message}`)
  process.exit(1)
})
