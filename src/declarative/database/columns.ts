import type { TSchema } from '@feathersjs/typebox'
import { foreignKeyName, referencesOf } from '../references'
import { snakeCase } from '../../database/naming'
import { MAX_VERSION } from '../versions'
import { shapeOf } from '../fields'
import type { AnyResource, OwnerRule } from '../declaration'

/**
 * The table a declaration describes, column by column: what migration-writer.ts creates and what
 * drift.ts expects to find. Each field's column follows from its TypeBox schema.
 */

export type ColumnType =
  | 'uuid'
  | 'text'
  | 'varchar'
  | 'smallint'
  | 'integer'
  | 'bigint'
  | 'double precision'
  | 'boolean'
  | 'timestamptz'
  | 'jsonb'

export interface Column {
  /** The API's field name (`userId`). */
  field: string
  /** The column's name (`user_id`). */
  name: string
  type: ColumnType
  /** For `varchar`. */
  length?: number
  nullable: boolean
  /** Allowed values of a text column (a CHECK constraint). */
  values?: readonly string[]
  /** The range of an integer column (a CHECK constraint). */
  range?: { minimum?: number; maximum?: number }
  /** The column's default, as an SQL expression: `now()`, `1`, `'planned'`. */
  default?: string
}

export interface ForeignKey {
  name: string
  columns: string[]
  table: string
  references: string[]
  onDelete: 'CASCADE' | 'SET NULL' | 'RESTRICT'
}

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

/** The column that holds a field of this schema; a schema no column can hold is refused. */
export function columnOf(
  resource: AnyResource,
  field: string,
  declared: TSchema,
  storedAsText = false
): Column {
  const shape = shapeOf(declared)
  const schema = shape.base
  const fallback = shape.default
  const column = {
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
  if (schema.type === 'integer') {
    const range = { minimum: schema.minimum, maximum: schema.maximum }
    return { ...column, type: integerType(range.minimum, range.maximum), range }
  }
  if (schema.type === 'number') return { ...column, type: 'double precision' }
  if (schema.type === 'boolean') return { ...column, type: 'boolean' }
  throw new Error(`The declaration of '${resource.path}': no column type for the field '${field}'`)
}

const ownerColumns = (
  owner: OwnerRule,
  ownerField: string | undefined,
  fields: Record<string, TSchema>
): Column[] => {
  const columns: Column[] = []
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
const versionColumn: Column = {
  field: 'version',
  name: 'version',
  type: 'integer',
  nullable: false,
  range: { minimum: 1, maximum: MAX_VERSION },
  default: '1'
}

/** Every column of the resource's table, in the order a migration creates them. */
export function columnsOf(resource: AnyResource): Column[] {
  const { declaration } = resource
  const writeOnly = declaration.writeOnly ?? []
  const timestamp = (field: string): Column => ({
    field,
    name: snakeCase(field),
    type: 'timestamptz',
    nullable: false,
    default: 'now()'
  })
  return [
    { field: 'id', name: 'id', type: 'uuid', nullable: false, default: 'gen_random_uuid()' },
    // Write-only values are stored transformed (a password as its hash): as text of any length.
    ...Object.entries<TSchema>(declaration.fields).map(([field, schema]) =>
      columnOf(resource, field, schema, writeOnly.includes(field))
    ),
    ...ownerColumns(declaration.owner, resource.ownerField, declaration.fields),
    ...(resource.history ? [versionColumn] : []),
    timestamp('createdAt'),
    ...(declaration.updatedAt === false ? [] : [timestamp('updatedAt')])
  ]
}

const ON_DELETE = { cascade: 'CASCADE', 'set null': 'SET NULL', restrict: 'RESTRICT' } as const

/**
 * The foreign keys: each reference's, the owner's (to users) and the creator's. A reference the
 * record is owned through includes the owner, so the database keeps the owner equal to the
 * referenced record's.
 */
export function foreignKeysOf(resource: AnyResource): ForeignKey[] {
  const { declaration, table } = resource
  const owner = declaration.owner
  const keys: ForeignKey[] = referencesOf(resource).map(({ field, to, onDelete }) => {
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
  const toUser = (field: string, onDelete: ForeignKey['onDelete']): ForeignKey => {
    const column = snakeCase(field)
    return {
      name: `${table}_${column}_foreign`,
      columns: [column],
      table: 'users',
      references: ['id'],
      onDelete
    }
  }
  // An owner field the declaration does not describe is the generated one, a user's id, removed
  // with its user; one it describes (the audit trail's, which outlives its users) is as described.
  if ('field' in owner && !('through' in owner) && !(owner.field in declaration.fields)) {
    keys.push(toUser(owner.field, 'CASCADE'))
  }
  // A creator's record stays when the creator is removed (a shared directory's).
  if ('creator' in owner && owner.creator) {
    keys.push(toUser(owner.creator, 'SET NULL'))
  }
  return keys
}
