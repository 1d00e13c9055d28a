import { loadConfiguration } from '../../configuration'
import { resources, tables } from '../../services'
import { declaredState } from './columns'
import { diffSchemas } from './differ'
import { migratedState } from './shadow'

/**
 * `npm run migration:check` (CI runs it, .ci/run): fails, listing the differences, when a
 * declaration in src/services says what no migration in migrations/ makes (Django's
 * `makemigrations --check`); `npm run migration:new` writes the migration that is missing.
 */
async function main() {
  const settings = await loadConfiguration()
  const operations = diffSchemas(await migratedState(settings.database), declaredState(resources, tables))
  if (operations.length === 0) {
    console.log('The migrations build what the declarations say.')
    return
  }
  console.error(
    `The declarations say what no migration makes (write it with \`npm run migration:new\`):\n- ${operations
      .map(({ difference }) => difference)
      .join('\n- ')}`
  )
  process.exit(1)
}

main().catch((error: Error) => {
  console.error(error.message)
  process.exit(1)
})
