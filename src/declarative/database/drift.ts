import type { Knex } from 'knex'
import { columnsOf, foreignKeysOf } from './columns'
import type { Column, ColumnType } from './columns'
import { historyColumnsOf, historyTableOf, historyTriggersOf } from './history-table'
import type { AnyResource } from '../declaration'

/**
 * The declarations and the tables state the same facts twice; this checks, before the server
 * serves anything, that they agree: every declared field has its column, of the right type,
 * length and nullability; the table has no column nobody declared (it would go unnoticed, or leak);
 * and every reference and owner has its foreign key.
 */

interface ColumnRow {
  tableName: string
  columnName: string
  dataType: string
  characterMaximumLength: number | null
  isNullable: 'YES' | 'NO'
}

// information_schema's names of the column types a declared field may be stored in.
const STORED_AS: Record<ColumnType, readonly string[]> = {
  uuid: ['uuid'],
  text: ['text'],
  varchar: ['character varying'],
  // An integer column is right when it holds the declared range.
  smallint: ['smallint', 'integer', 'bigint'],
  integer: ['integer', 'bigint'],
  bigint: ['bigint'],
  'double precision': ['double precision', 'real', 'numeric'],
  boolean: ['boolean'],
  timestamptz: ['timestamp with time zone'],
  jsonb: ['jsonb']
}

const describe = (column: Pick<Column, 'type' | 'length'>) =>
  column.length ? `${column.type}(${column.length})` : column.type

function columnProblems(table: string, expected: Column, actual: ColumnRow | undefined): string[] {
  const where = `${table}.${expected.name}`
  if (!actual) {
    return [`${where}: no such column for the declared field '${expected.field}'`]
  }
  const problems: string[] = []
  if (!STORED_AS[expected.type].includes(actual.dataType)) {
    problems.push(`${where}: the column is ${actual.dataType}, the declaration says ${describe(expected)}`)
  } else if (expected.length !== undefined && actual.characterMaximumLength !== expected.length) {
    problems.push(
      `${where}: the column holds ${actual.characterMaximumLength ?? 'any number of'} characters, the declaration says ${expected.length}`
    )
  }
  if ((actual.isNullable === 'YES') !== expected.nullable) {
    problems.push(
      `${where}: the column ${actual.isNullable === 'YES' ? 'may' : 'may not'} be null, the declaration says it ${expected.nullable ? 'may' : 'may not'}`
    )
  }
  return problems
}

function tableProblems(resource: AnyResource, rows: ColumnRow[], foreignKeys: Set<string>): string[] {
  const { table } = resource
  if (rows.length === 0) {
    return [
      `${table}: no such table (write its migration with \`npm run migration:new -- ${resource.path}\`)`
    ]
  }
  const actual = new Map(rows.map((row) => [row.columnName, row]))
  const expected = columnsOf(resource)
  const known = new Set([...expected.map(({ name }) => name), ...(resource.declaration.internal ?? [])])
  return [
    ...expected.flatMap((column) => columnProblems(table, column, actual.get(column.name))),
    ...rows
      .filter(({ columnName }) => !known.has(columnName))
      .map(
        ({ columnName }) =>
          `${table}.${columnName}: a column the declaration does not know (declare it, or list it in \`internal\`)`
      ),
    ...foreignKeysOf(resource)
      .filter(({ name }) => !foreignKeys.has(`${table}.${name}`))
      .map(({ name, columns }) => `${table}: no foreign key ${name} on (${columns.join(', ')})`)
  ]
}

/**
 * With `history`: the history table with its columns, no foreign key (the versions outlive their
 * records), and the triggers that write it and keep it append-only (history-table.ts).
 */
function historyProblems(
  resource: AnyResource,
  rows: ColumnRow[],
  foreignKeys: string[],
  triggers: Set<string>
): string[] {
  const history = historyTableOf(resource)
  if (rows.length === 0) {
    return [`${history}: no such table for the history of '${resource.path}'`]
  }
  const actual = new Map(rows.map((row) => [row.columnName, row]))
  const expected = historyColumnsOf(resource)
  const known = new Set(expected.map(({ name }) => name))
  return [
    ...expected.flatMap((column) => columnProblems(history, column, actual.get(column.name))),
    ...rows
      .filter(({ columnName }) => !known.has(columnName))
      .map(({ columnName }) => `${history}.${columnName}: a column the history does not have`),
    ...foreignKeys.map(
      (name) => `${history}: the foreign key ${name} would tie the versions to what they outlive`
    ),
    ...historyTriggersOf(resource)
      .filter(({ table, name }) => !triggers.has(`${table}.${name}`))
      .map(({ table, name }) => `${table}: no trigger ${name}, which keeps the history of '${resource.path}'`)
  ]
}

/** Every way the tables disagree with the declarations; none when they agree. */
export async function driftOf(db: Knex, resources: readonly AnyResource[]): Promise<string[]> {
  const histories = resources.filter(({ history }) => history).map(historyTableOf)
  const tables = [...resources.map(({ table }) => table), ...histories]
  const [columns, constraints, triggerRows] = await Promise.all([
    db('information_schema.columns')
      .whereRaw('table_schema = current_schema()')
      .whereIn('table_name', tables)
      .select('table_name', 'column_name', 'data_type', 'character_maximum_length', 'is_nullable') as Promise<
      ColumnRow[]
    >,
    db('information_schema.table_constraints')
      .whereRaw('table_schema = current_schema()')
      .where('constraint_type', 'FOREIGN KEY')
      .whereIn('table_name', tables)
      .select('table_name', 'constraint_name') as Promise<
      Array<{ tableName: string; constraintName: string }>
    >,
    histories.length === 0
      ? Promise.resolve({ rows: [] })
      : (db.raw(
          `SELECT c.relname AS table_name, t.tgname AS trigger_name
           FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = current_schema() AND NOT t.tgisinternal`
        ) as Promise<{ rows: Array<{ table_name: string; trigger_name: string }> }>)
  ])
  const foreignKeys = new Set(
    constraints.map(({ tableName, constraintName }) => `${tableName}.${constraintName}`)
  )
  const triggers = new Set(triggerRows.rows.map((row) => `${row.table_name}.${row.trigger_name}`))
  const columnsOfTable = (table: string) => columns.filter(({ tableName }) => tableName === table)
  return resources.flatMap((resource) => [
    ...tableProblems(resource, columnsOfTable(resource.table), foreignKeys),
    ...(resource.history
      ? historyProblems(
          resource,
          columnsOfTable(historyTableOf(resource)),
          constraints
            .filter(({ tableName }) => tableName === historyTableOf(resource))
            .map(({ constraintName }) => constraintName),
          triggers
        )
      : [])
  ])
}

/** Refuses to go on (the server does not start) while a table disagrees with its declaration. */
export async function checkTables(db: Knex, resources: readonly AnyResource[]): Promise<void> {
  const problems = await driftOf(db, resources)
  if (problems.length > 0) {
    throw new Error(
      `The database does not match the declarations in src/services:\n- ${problems.join('\n- ')}`
    )
  }
}
