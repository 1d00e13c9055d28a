import { snakeCase } from '../../database/naming'
import { columnsOf, foreignKeysOf } from './columns'
import type { Column, ForeignKey } from './columns'
import { historySql } from './history-table'
import type { AnyResource } from '../declaration'

/**
 * The knex migration that creates a declared resource's table, as TypeScript source: the columns
 * of columns.ts, their CHECK constraints, the foreign keys, unique sets and the index that the
 * owner's pages are read along. What it writes is what the drift check then expects.
 */

const quote = (value: string) => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`

const list = (values: readonly string[]) => `[${values.map(quote).join(', ')}]`

function columnLine(column: Column) {
  const name = quote(column.name)
  const definition = {
    uuid: `table.uuid(${name})`,
    text: column.values ? `table.enu(${name}, ${list(column.values)})` : `table.text(${name})`,
    varchar: `table.string(${name}, ${column.length})`,
    smallint: `table.smallint(${name})`,
    integer: `table.integer(${name})`,
    bigint: `table.bigInteger(${name})`,
    'double precision': `table.double(${name})`,
    boolean: `table.boolean(${name})`,
    timestamptz: `table.timestamp(${name}, { useTz: true })`,
    jsonb: `table.jsonb(${name})`
  }[column.type]
  const nullability = column.name === 'id' ? '.primary()' : column.nullable ? '.nullable()' : '.notNullable()'
  const fallback = column.default === undefined ? '' : `.defaultTo(knex.raw(${quote(column.default)}))`
  return `${definition}${nullability}${fallback}`
}

function rangeChecks(table: string, columns: Column[]) {
  return columns.flatMap(({ name, range }) => {
    const bounds = [
      range?.minimum !== undefined ? `${name} >= ${range.minimum}` : undefined,
      range?.maximum !== undefined ? `${name} <= ${range.maximum}` : undefined
    ].filter(Boolean)
    return bounds.length
      ? [`table.check(${quote(bounds.join(' AND '))}, [], ${quote(`${table}_${name}_range`)})`]
      : []
  })
}

function foreignKeyLine({ name, columns, table, references, onDelete }: ForeignKey) {
  const [from, to] =
    columns.length === 1 ? [quote(columns[0]), quote(references[0])] : [list(columns), list(references)]
  return `table.foreign(${from}, ${quote(name)}).references(${to}).inTable(${quote(table)}).onDelete(${quote(onDelete)})`
}

/** A reference a record is owned through needs (id, owner) to be unique on the referenced table. */
function ownedTargets(resource: AnyResource) {
  return foreignKeysOf(resource)
    .filter(({ columns }) => columns.length > 1)
    .map(({ table, references }) => ({
      index: `${table}_${references.join('_')}_unique`,
      table,
      columns: references
    }))
}

/** SQL as a template literal of the migration's source. */
const sqlSource = (sql: string) => `\`${sql.replace(/[\\`]|\$\{/g, (match) => `\\${match}`)}\``

/** With `history`, the history table, its triggers and their functions (history-table.ts). */
function historyLines(resource: AnyResource) {
  if (!resource.history) return { up: '', down: '' }
  const { up, down } = historySql(resource)
  return {
    up: `  // The history: every version of every record, written by the database (src/declarative/database/history-table.ts).\n  await knex.raw(${sqlSource(up)})\n`,
    down: `  await knex.raw(${sqlSource(down)})\n`
  }
}

/** The source of the migration file for `resource`; `command` is named in it as its author. */
export function migrationSource(resource: AnyResource, command: string): string {
  const { table, declaration } = resource
  const columns = columnsOf(resource)
  const keys = foreignKeysOf(resource)
  const unique = ((declaration.unique ?? []) as string[][]).map((fields) => fields.map(snakeCase))
  const ownerColumn =
    resource.scopeField && resource.scopeField !== 'id' ? snakeCase(resource.scopeField) : undefined
  const body = [
    ...columns.map(columnLine),
    ...rangeChecks(table, columns),
    ...keys.map(foreignKeyLine),
    ...unique.map(
      (names: string[]) =>
        `table.unique(${list(names)}, { indexName: ${quote(`${table}_${names.join('_')}_unique`)} })`
    ),
    // Pages are the owner's records in (created_at, id) order: one index serves scope, order and count.
    ...(ownerColumn
      ? [
          `table.index(${list([ownerColumn, 'created_at', 'id'])}, ${quote(`${table}_${ownerColumn}_created_at_id_index`)})`
        ]
      : [`table.index(['created_at', 'id'], ${quote(`${table}_created_at_id_index`)})`])
  ]
  const history = historyLines(resource)
  const prerequisites = ownedTargets(resource).map(
    ({ index, table: target, columns: targetColumns }) =>
      `  await knex.raw(${quote(`CREATE UNIQUE INDEX IF NOT EXISTS ${index} ON ${target} (${targetColumns.join(', ')})`)})\n`
  )
  return `import type { Knex } from 'knex'

// Written by \`${command}\` from the declaration of '${resource.path}' (src/services).
export async function up(knex: Knex): Promise<void> {
${prerequisites.join('')}  await knex.schema.createTable(${quote(table)}, (table) => {
${body.map((line) => `    ${line}`).join('\n')}
  })
${history.up}}

export async function down(knex: Knex): Promise<void> {
${history.down}  await knex.schema.dropTable(${quote(table)})
}
`
}
