import type { Knex } from 'knex'
import type { AnyResource } from '../declaration'
import type { InternalTable } from '../table'
import { declaredState } from './columns'
import { diffSchemas } from './differ'
import { introspect } from './introspect'

/**
 * The declarations and the tables state the same facts twice; this checks, before the server
 * serves anything, that they agree, with the same reading of the database and the same differ
 * that write migrations: every declared table with its columns (type, length, nullability,
 * default, values, range), keys, foreign keys and their ON DELETE, indexes, checks, triggers (a
 * history's, kept counts', append-only ones) and the functions they call; no column, key, index,
 * check or trigger on a declared table that nobody declared (it would go unnoticed, or leak).
 * Tables no declaration of this server has are not its business here (`migration:check` is
 * stricter: it drops them).
 */

/** Every way the tables disagree with the declarations; none when they agree. */
export async function driftOf(
  db: Knex,
  resources: readonly AnyResource[],
  tables: readonly InternalTable[] = []
): Promise<string[]> {
  const declared = declaredState(resources, tables)
  const actual = await introspect(
    db,
    declared.tables.map(({ name }) => name)
  )
  return diffSchemas(actual, declared, { scope: 'declared' }).map(({ difference }) => difference)
}

/** Refuses to go on (the server does not start) while a table disagrees with its declaration. */
export async function checkTables(
  db: Knex,
  resources: readonly AnyResource[],
  tables: readonly InternalTable[] = []
): Promise<void> {
  const problems = await driftOf(db, resources, tables)
  if (problems.length > 0) {
    throw new Error(
      `The database does not match the declarations in src/services (write the migration with \`npm run migration:new\`):\n- ${problems.join('\n- ')}`
    )
  }
}
