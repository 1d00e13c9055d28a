import fs from 'node:fs'
import path from 'node:path'
import { resources } from '../../services'
import { migrationSource } from './migration-writer'

/**
 * `npm run migration:new -- <path>`: writes migrations/<timestamp>_<path>.ts, the migration that
 * creates the table of the resource declared with that path in src/services. Review it, then
 * `npm run migrate` (or start the server) applies it.
 */
const MIGRATIONS = path.join(__dirname, '..', '..', '..', 'migrations')

const timestamp = (date = new Date()) => date.toISOString().replace(/\D/g, '').slice(0, 14)

function main(name: string | undefined) {
  const resource = resources.find(({ path: resourcePath }) => resourcePath === name)
  if (!resource) {
    const known = resources.map(({ path: resourcePath }) => resourcePath).join(', ')
    throw new Error(`Name a declared resource: npm run migration:new -- <path> (declared: ${known})`)
  }
  const creates = `createTable('${resource.table}'`
  const existing = fs
    .readdirSync(MIGRATIONS)
    .find((file) => fs.readFileSync(path.join(MIGRATIONS, file), 'utf8').includes(creates))
  if (existing) {
    throw new Error(`migrations/${existing} already creates the table '${resource.table}'`)
  }
  const file = path.join(MIGRATIONS, `${timestamp()}_${resource.path.replace(/\W/g, '_')}.ts`)
  fs.writeFileSync(file, migrationSource(resource, `npm run migration:new -- ${resource.path}`), {
    flag: 'wx'
  })
  console.log(`Wrote ${path.relative(process.cwd(), file)}`)
}

try {
  main(process.argv[2])
} catch (error) {
  console.error((error as Error).message)
  process.exit(1)
}
