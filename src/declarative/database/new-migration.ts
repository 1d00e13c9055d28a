import fs from 'node:fs'
import path from 'node:path'
import { loadConfiguration } from '../../configuration'
import type { ApplicationConfiguration } from '../../configuration'
import { resources as declaredResources, tables as declaredTables } from '../../services'
import type { AnyResource } from '../declaration'
import type { InternalTable } from '../table'
import { declaredState } from './columns'
import { diffSchemas, operationsOf, Phase } from './differ'
import type { Operation } from './differ'
import { migrationSource } from './migration-writer'
import { migratedState } from './shadow'

/**
 * `npm run migration:new` (every change) or `npm run migration:new -- <path>` (one resource's):
 * compares the declarations in src/services with the schema the migrations in migrations/ build
 * (on a shadow database, shadow.ts) and writes ONE migration, `up` and `down`, of the operations
 * between them (differ.ts). Review it, then `npm run migrate` (or start the server) applies it.
 */
const MIGRATIONS = path.join(__dirname, '..', '..', '..', 'migrations')

const stamp = (date: Date) => date.toISOString().replace(/\D/g, '').slice(0, 14)

/** The new file's time stamp: now, or just after the newest migration's when that one is later. */
function timestampAfter(directories: readonly string[], now: Date) {
  const newest = directories
    .flatMap((directory) => fs.readdirSync(directory))
    .map((file) => /^(\d{14})_/.exec(file)?.[1])
    .filter((found): found is string => found !== undefined)
    .sort()
    .at(-1)
  if (!newest || newest < stamp(now)) return stamp(now)
  const [, year, month, day, hour, minute, second] = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)$/.exec(newest)!
  const after = Date.UTC(+year, +month - 1, +day, +hour, +minute, +second) + 1000
  return stamp(new Date(after))
}

/** The source as Prettier writes it, where Prettier is installed (it is a dev dependency). */
async function formatted(source: string, file: string) {
  try {
    const prettier = await import('prettier')
    const options = await prettier.resolveConfig(file)
    return await prettier.format(source, { ...options, filepath: file })
  } catch {
    return source
  }
}

const SIGNS: Partial<Record<Phase, string>> = {
  [Phase.CreateFunction]: '+',
  [Phase.CreateTable]: '+',
  [Phase.AddColumn]: '+',
  [Phase.AddKey]: '+',
  [Phase.AddForeignKey]: '+',
  [Phase.CreateTrigger]: '+',
  [Phase.Fill]: '+',
  [Phase.DropTrigger]: '-',
  [Phase.DropForeignKey]: '-',
  [Phase.DropKey]: '-',
  [Phase.DropColumn]: '-',
  [Phase.DropTable]: '-',
  [Phase.DropFunction]: '-'
}

/** The operations, one a line, each warning under its operation. */
export const describeOperations = (operations: Operation[]) =>
  operations
    .map(
      ({ phase, summary, warning }) =>
        `  ${SIGNS[phase] ?? '~'} ${summary}${warning ? `\n      WARNING: ${warning}` : ''}`
    )
    .join('\n')

export interface NewMigration {
  settings: ApplicationConfiguration['database']
  /** One resource's (or table's) path; every change when none. */
  path?: string
  resources?: readonly AnyResource[]
  tables?: readonly InternalTable[]
  /** Where the migration goes (default migrations/); migrations there beyond migrations/ count too. */
  directory?: string
  log?: (line: string) => void
  /** The file's time stamp (default now). */
  now?: Date
}

/** Writes the migration of what the declarations changed; the file written, or none when nothing did. */
export async function newMigration({
  settings,
  path: only,
  resources = declaredResources,
  tables = declaredTables,
  directory = MIGRATIONS,
  log = console.log,
  now = new Date()
}: NewMigration): Promise<{ file?: string; operations: Operation[] }> {
  const known = [...resources.map(({ path: name }) => name), ...tables.map(({ table }) => table)]
  if (only && !known.includes(only)) {
    log(`'${only}' is declared nowhere in src/services: its tables are dropped, if the migrations made them`)
  }
  const declared = declaredState(resources, tables)
  const extra = path.resolve(directory) === path.resolve(MIGRATIONS) ? [] : [directory]
  log('Reading the schema that migrations/ build, on a shadow database…')
  const actual = await migratedState(settings, extra)
  const all = diffSchemas(actual, declared, { scope: 'all' })
  const operations = only ? operationsOf(all, actual, declared, only) : all
  if (operations.length === 0) {
    log(`No changes: the migrations already build what the declarations${only ? ` of '${only}'` : ''} say.`)
    return { operations }
  }
  const concerned = [...new Set(operations.map(({ of }) => of).filter(Boolean))]
  const name = only ?? (concerned.length === 1 ? concerned[0]! : 'declarations')
  const file = path.join(
    directory,
    `${timestampAfter([MIGRATIONS, ...extra], now)}_${name.replace(/\W/g, '_')}.ts`
  )
  const command = `npm run migration:new${only ? ` -- ${only}` : ''}`
  fs.writeFileSync(file, await formatted(migrationSource(operations, command), file), { flag: 'wx' })
  log(
    `The declarations differ from what the migrations build (${operations.length} operation${operations.length === 1 ? '' : 's'}):`
  )
  log(describeOperations(operations))
  const warnings = operations.filter(({ warning }) => warning).length
  if (warnings > 0) {
    log(`${warnings} of them may lose data or fail on the rows there are: read the WARNING comments.`)
  }
  log(
    `Wrote ${path.relative(process.cwd(), file)}: review it, then \`npm run migrate\` (or start the server).`
  )
  return { file, operations }
}

if (require.main === module) {
  loadConfiguration()
    .then((settings) => newMigration({ settings: settings.database, path: process.argv[2] }))
    .catch((error: Error) => {
      console.error(error.message)
      process.exit(1)
    })
}
