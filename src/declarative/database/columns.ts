import { Kind } from '@feathersjs/typebox'
import type { TSchema } from '@feathersjs/typebox'
import { foreignKeyName, referencesOf } from '../references'
import { snakeCase } from '../../database/naming'
import { MAX_VERSION } from '../versions'
import { shapeOf } from '../fields'
import type { AnyResource, IndexDeclaration, OwnerRule } from '../declaration'
import type { InternalTable } from '../table'
import { appendOnlyOf, historyStateOf } from './history-table'
import { countsStateOf } from './counts-table'
import type {
  ColumnState,
  ColumnType,
  ForeignKeyState,
  FunctionState,
  IndexState,
  KeyState,
  OnDelete,
  SchemaState,
  TableState,
  TriggerState
} from './schema-state'

/**
 * The schema the declarations imply (src/services): each resource's table, column by column from
 * its fields' TypeBox schemas, its keys, foreign keys, indexes and checks, its history and kept
 * counts with their triggers, and the server's own tables (src/declarative/table.ts). The
 * migration writer makes it, and the drift check holds the database to it (differ.ts).
 */

export type { ColumnState, ColumnType }

const SMALLINT = 2 ** 15
const INTEGER = 2 ** 31

/** A value as an SQL literal: a default of a column. */
export function sqlLiteral(value: unknown): string {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value)
  if (typeof value === 'boolean') return String(value)
  if (typeof value === 'string') return `'${value.replace(/'/g, "''")}'`
  throw new Error(`No SQL literal for the default ${JSON.stringify(value)}`)
}

/** The values of a string enum: `{ enum: [...] }` or a union of string literals. */
function enumValues(schema: TSchema): string[] | undefined {
  if (Array.isArray(schema.enum)) return schema.enum.map(String)
  const options: TSchema[] | undefined = schema.anyOf
  if (
    Array.isArray(options) &&
    options.length > 0 &&
    options.every((option) => typeof option.const === 'string')
  ) {
    return options.map((option) => option.const as string)
  }
  return undefined
}

function integerType(minimum = -Infinity, maximum = Infinity): ColumnType {
  if (minimum >= -SMALLINT && maximum < SMALLINT) return 'smallint'
  if (minimum >= -INTEGER && maximum < INTEGER) return 'integer'
  return 'bigint'
}

const rangeOf = (schema: TSchema) =>
  schema.minimum !== undefined || schema.maximum !== undefined
    ? {
        ...(schema.minimum !== undefined && { minimum: schema.minimum as number }),
        ...(schema.maximum !== undefined && { maximum: schema.maximum as number })
      }
    : undefined

/**
 * The column that holds a field of this schema: what the schema accepts, the column holds (its
 * type, length, range, values, whether it may be null, its default). A schema no column can hold
 * is refused, naming `owner` (the resource or table) and the field.
 */
export function columnOf(owner: string, field: string, declared: TSchema, storedAsText = false): ColumnState {
  const shape = shapeOf(declared)
  const schema = shape.base
  const fallback = shape.default
  const column: Omit<ColumnState, 'type'> = {
    field,
    name: snakeCase(field),
    nullable: shape.nullable,
    ...(fallback && { default: 'sql' in fallback ? fallback.sql : sqlLiteral(fallback.value) })
  }
  const values = enumValues(schema)
  if (values) return { ...column, type: 'text', values }
  if (schema.type === 'string') {
    if (storedAsText) return { ...column, type: 'text' }
    if (schema.format === 'uuid') return { ...column, type: 'uuid' }
    if (schema.format === 'date-time') return { ...column, type: 'timestamptz' }
    return typeof schema.maxLength === 'number'
      ? { ...column, type: 'varchar', length: schema.maxLength }
      : { ...column, type: 'text' }
  }
  const range = rangeOf(schema)
  if (schema.type === 'integer') {
    return { ...column, type: integerType(range?.minimum, range?.maximum), ...(range && { range }) }
  }
  if (schema.type === 'number') return { ...column, type: 'double precision', ...(range && { range }) }
  if (schema.type === 'boolean') return { ...column, type: 'boolean' }
  if (schema[Kind] === 'Uint8Array') return { ...column, type: 'bytea' }
  throw new Error(`The declaration of '${owner}': no column type for the field '${field}'`)
}

const idColumn = (fallback = 'gen_random_uuid()'): ColumnState => ({
  field: 'id',
  name: 'id',
  type: 'uuid',
  nullable: false,
  default: fallback
})

const timestampColumn = (field: string): ColumnState => ({
  field,
  name: snakeCase(field),
  type: 'timestamptz',
  nullable: false,
  default: 'now()'
})

const ownerColumns = (
  owner: OwnerRule,
  ownerField: string | undefined,
  fields: Record<string, TSchema>
): ColumnState[] => {
  const columns: ColumnState[] = []
  if (ownerField && ownerField !== 'id' && !(ownerField in fields)) {
    columns.push({ field: ownerField, name: snakeCase(ownerField), type: 'uuid', nullable: false })
  }
  if ('creator' in owner && owner.creator) {
    // null once the creating user is removed: the record stays.
    columns.push({ field: owner.creator, name: snakeCase(owner.creator), type: 'uuid', nullable: true })
  }
  return columns
}

/** A record's version, kept by the history triggers: 1 on insert, one more on every update. */
const versionColumn: ColumnState = {
  field: 'version',
  name: 'version',
  type: 'integer',
  nullable: false,
  range: { minimum: 1, maximum: MAX_VERSION },
  default: '1'
}

/** The function that makes time-ordered ids (UUID version 7: 48 bits of Unix milliseconds first). */
export const UUID_V7: FunctionState = {
  name: 'uuid_v7',
  sql: `CREATE FUNCTION uuid_v7() RETURNS uuid LANGUAGE sql VOLATILE AS $$
  SELECT encode(
    -- version 7: the random UUID's version nibble 0100 becomes 0111 (bits 52 and 53 of byte 6)
    set_bit(set_bit(
      overlay(uuid_send(gen_random_uuid())
        PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
        FROM 1 FOR 6),
      52, 1), 53, 1),
    'hex')::uuid
$$`
}

/** Every column of the resource's table, in the order a migration creates them. */
export function columnsOf(resource: AnyResource): ColumnState[] {
  const { declaration } = resource
  const writeOnly: readonly string[] = declaration.writeOnly ?? []
  return [
    idColumn(declaration.ids === 'time-ordered' ? `${UUID_V7.name}()` : undefined),
    // Write-only values are stored transformed (a password as its hash): as text of any length.
    ...Object.entries<TSchema>(declaration.fields).map(([field, schema]) =>
      columnOf(resource.path, field, schema, writeOnly.includes(field))
    ),
    ...ownerColumns(declaration.owner, resource.ownerField, declaration.fields),
    ...(resource.history ? [versionColumn] : []),
    timestampColumn('createdAt'),
    ...(declaration.updatedAt === false ? [] : [timestampColumn('updatedAt')])
  ]
}

const ON_DELETE = { cascade: 'CASCADE', 'set null': 'SET NULL', restrict: 'RESTRICT' } as const

const userKey = (table: string, field: string, users: string, onDelete: OnDelete): ForeignKeyState => ({
  name: `${table}_${snakeCase(field)}_foreign`,
  columns: [snakeCase(field)],
  table: users,
  references: ['id'],
  onDelete
})

/**
 * The foreign keys: each reference's, the owner's and the creator's (to `users`, the table of the
 * resource whose records are their users). A reference the record is owned through includes the
 * owner, so the database keeps the owner equal to the referenced record's.
 */
export function foreignKeysOf(resource: AnyResource, users: string): ForeignKeyState[] {
  const { declaration, table } = resource
  const owner = declaration.owner
  const keys: ForeignKeyState[] = referencesOf(resource).map(({ field, to, onDelete }) => {
    const through = 'through' in owner && owner.through === field
    const ownerColumn = snakeCase(resource.ownerField ?? '')
    return {
      name: foreignKeyName(resource, field),
      columns: through ? [snakeCase(field), ownerColumn] : [snakeCase(field)],
      table: to.table,
      references: through ? ['id', snakeCase(to.ownerField!)] : ['id'],
      onDelete: ON_DELETE[onDelete]
    }
  })
  // An owner field the declaration does not describe is the generated one, a user's id, removed
  // with its user; one it describes (the audit trail's, which outlives its users) is as described.
  if ('field' in owner && !('through' in owner) && !(owner.field in declaration.fields)) {
    keys.push(userKey(table, owner.field, users, 'CASCADE'))
  }
  // A creator's record stays when the creator is removed (a shared directory's).
  if ('creator' in owner && owner.creator) {
    keys.push(userKey(table, owner.creator, users, 'SET NULL'))
  }
  return keys
}

const indexOf = (table: string, { fields, name, where }: IndexDeclaration): IndexState => {
  const columns = fields.map(snakeCase)
  return { name: name ?? `${table}_${columns.join('_')}_index`, columns, ...(where && { where }) }
}

/**
 * Each foreign key's columns are indexed unless an index or key already starts with the first of
 * them: removing the referenced record (ON DELETE) then finds this table's rows by index.
 */
function foreignKeyIndexes(table: TableState): IndexState[] {
  const leading = new Set(
    [table.primaryKey, ...table.uniques, ...table.indexes].map(({ columns }) => columns[0])
  )
  return table.foreignKeys
    .filter(({ columns }) => !leading.has(columns[0]))
    .map(({ columns }) => ({ name: `${table.name}_${columns.join('_')}_index`, columns }))
}

const uniqueOf = (table: string, fields: readonly string[]): KeyState => {
  const columns = fields.map(snakeCase)
  return { name: `${table}_${columns.join('_')}_unique`, columns }
}

const checksOf = (table: string, checks: Readonly<Record<string, string>> = {}) =>
  Object.entries(checks).map(([name, sql]) => ({ name: `${table}_${name}`, sql }))

/** The table of a declared resource, with what its history and counts add to it. */
function resourceTable(resource: AnyResource, users: string, ownedTargets: KeyState[]): TableState {
  const { declaration, table } = resource
  const ownerColumn =
    resource.scopeField && resource.scopeField !== 'id' ? snakeCase(resource.scopeField) : undefined
  // Pages are the owner's records in (created_at, id) order: one index serves scope, order and
  // count. Records that are their owner (users) are found by id alone: they have no pages.
  const pageColumns = ownerColumn ? [ownerColumn, 'created_at', 'id'] : ['created_at', 'id']
  const pages =
    resource.scopeField === 'id'
      ? []
      : [{ name: `${table}_${pageColumns.join('_')}_index`, columns: pageColumns }]
  const state: TableState = {
    name: table,
    columns: columnsOf(resource),
    primaryKey: { name: `${table}_pkey`, columns: ['id'] },
    uniques: [
      ...((declaration.unique ?? []) as string[][]).map((fields) => uniqueOf(table, fields)),
      ...ownedTargets
    ],
    foreignKeys: foreignKeysOf(resource, users),
    indexes: [
      ...pages,
      ...(declaration.indexes ?? []).map((index: IndexDeclaration) => indexOf(table, index))
    ],
    checks: checksOf(table, declaration.checks),
    triggers: [],
    internal: declaration.internal,
    renamed: Object.fromEntries(
      Object.entries(declaration.renamed ?? {}).map(([field, old]) => [snakeCase(field), snakeCase(old!)])
    ),
    of: resource.path
  }
  state.indexes.push(...foreignKeyIndexes(state))
  return state
}

/** The table of an internal table declaration (src/declarative/table.ts). */
export function internalTableState(internal: InternalTable): TableState {
  const { declaration, table } = internal
  const primaryKey = declaration.primaryKey?.map(snakeCase)
  const references = Object.entries(declaration.references ?? {}).flatMap(([field, reference]) =>
    reference ? [{ field, ...reference }] : []
  )
  const state: TableState = {
    name: table,
    columns: [
      ...(primaryKey ? [] : [idColumn()]),
      ...Object.entries<TSchema>(declaration.fields).map(([field, schema]) => columnOf(table, field, schema)),
      ...(declaration.createdAt === false ? [] : [timestampColumn('createdAt')])
    ],
    primaryKey: { name: `${table}_pkey`, columns: primaryKey ?? ['id'] },
    uniques: (declaration.unique ?? []).map((fields) => uniqueOf(table, fields)),
    foreignKeys: references.map(({ field, to, onDelete }) => ({
      name: `${table}_${snakeCase(field)}_foreign`,
      columns: [snakeCase(field)],
      table: to.table,
      references: ['id'],
      onDelete: ON_DELETE[onDelete]
    })),
    indexes: (declaration.indexes ?? []).map((index) => indexOf(table, index)),
    checks: checksOf(table, declaration.checks),
    triggers: [],
    of: table
  }
  state.indexes.push(...foreignKeyIndexes(state))
  return state
}

/** The schema that `resources` and the server's own `tables` imply, every table and function. */
export function declaredState(
  resources: readonly AnyResource[],
  tables: readonly InternalTable[] = []
): SchemaState {
  const users = resources.find(({ declaration }) => 'self' in declaration.owner)?.table
  if (!users) {
    throw new Error(
      'No declared resource is the users (owner: { self: true }): owners have no table to refer to'
    )
  }
  // A reference a record is owned through needs (id, owner) to be unique on the referenced table.
  const ownedTargets = new Map<string, KeyState[]>()
  for (const resource of resources) {
    for (const key of foreignKeysOf(resource, users).filter(({ columns }) => columns.length > 1)) {
      const unique = { name: `${key.table}_${key.references.join('_')}_unique`, columns: key.references }
      const known = ownedTargets.get(key.table) ?? []
      if (!known.some(({ name }) => name === unique.name)) ownedTargets.set(key.table, [...known, unique])
    }
  }
  const stateTables: TableState[] = []
  const functions: FunctionState[] = []
  const addFunctions = (added: FunctionState[]) =>
    functions.push(...added.filter(({ name }) => !functions.some((known) => known.name === name)))
  for (const resource of resources) {
    const table = resourceTable(resource, users, ownedTargets.get(resource.table) ?? [])
    const triggers: TriggerState[] = []
    stateTables.push(table)
    if (resource.declaration.ids === 'time-ordered') addFunctions([UUID_V7])
    if (resource.declaration.appendOnly) {
      const guard = appendOnlyOf(resource.table, `records of ${resource.path}`)
      triggers.push(...guard.triggers)
      addFunctions(guard.functions.map((fn) => ({ ...fn, of: resource.path })))
    }
    if (resource.history) {
      const history = historyStateOf(resource)
      stateTables.push(history.table)
      triggers.push(...history.triggers)
      addFunctions(history.functions)
    }
    const counts = countsStateOf(resource)
    if (counts) {
      stateTables.push(counts.table)
      triggers.push(...counts.triggers)
      addFunctions(counts.functions)
    }
    table.triggers.push(...triggers)
  }
  stateTables.push(...tables.map((table) => internalTableState(table)))
  return { tables: stateTables, functions }
}
