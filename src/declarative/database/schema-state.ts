/**
 * A schema as plain data: the tables, with their columns, keys, foreign keys, indexes, checks and
 * triggers, and the functions the triggers call. The declarations make one (columns.ts, the state
 * they imply), PostgreSQL another (introspect.ts, the state a database is in), and differ.ts turns
 * the difference between two into operations. Names are PostgreSQL's (snake_case).
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
  | 'bytea'

export interface ColumnState {
  name: string
  /** A type of ColumnType, or what PostgreSQL calls a type no declaration makes. */
  type: ColumnType | (string & {})
  /** For `varchar`. */
  length?: number
  nullable: boolean
  /** The default, as an SQL expression in its plain form: `now()`, `1`, `'planned'`. */
  default?: string
  /** The values a text column may hold: a CHECK named `<table>_<column>_values`. */
  values?: readonly string[]
  /** The range of a number column: a CHECK named `<table>_<column>_range`. */
  range?: Range
  /** The declared field the column holds (declared states only): named in messages. */
  field?: string
}

export interface Range {
  minimum?: number
  maximum?: number
}

/** A primary key or a unique constraint. */
export interface KeyState {
  name: string
  columns: readonly string[]
  /** A unique index rather than a constraint (actual states only: how to drop it). */
  index?: boolean
}

export type OnDelete = 'CASCADE' | 'SET NULL' | 'RESTRICT' | 'NO ACTION'

export interface ForeignKeyState {
  name: string
  columns: readonly string[]
  table: string
  references: readonly string[]
  onDelete: OnDelete
}

export interface IndexState {
  name: string
  columns: readonly string[]
  /** A partial index's condition, as SQL: compared for presence only, never as text. */
  where?: string
  /** The statement that makes it as it is (actual states only: how to make it again). */
  sql?: string
}

/** A CHECK beyond the columns' own: compared by name only. */
export interface CheckState {
  name: string
  /** The condition, as SQL. */
  sql: string
}

/** A trigger, compared by table and name; `sql` creates it. */
export interface TriggerState {
  name: string
  table: string
  sql: string
}

/** A function of no arguments (all the triggers' are), compared by name; `sql` creates it. */
export interface FunctionState {
  name: string
  sql: string
  /** The resource it serves (declared states only): `migration:new -- <path>` keeps to it. */
  of?: string
}

export interface TableState {
  name: string
  columns: ColumnState[]
  primaryKey: KeyState
  uniques: KeyState[]
  foreignKeys: ForeignKeyState[]
  indexes: IndexState[]
  checks: CheckState[]
  triggers: TriggerState[]
  /** Columns the declaration leaves to the database: neither side's are compared. */
  internal?: readonly string[]
  /** Columns the declaration says were renamed: new name → old name (declared states only). */
  renamed?: Readonly<Record<string, string>>
  /**
   * What fills the table when it is made for a table `from` that has rows already (a history's
   * first versions, the counts so far): run after the triggers that keep it up to date.
   */
  fill?: { from: string; sql: string }
  /** The resource it belongs to (declared states only): `migration:new -- <path>` keeps to it. */
  of?: string
}

export interface SchemaState {
  tables: TableState[]
  functions: FunctionState[]
}

/** A column's type as a person reads it: `varchar(200)`, `smallint`. */
export const typeOf = (column: Pick<ColumnState, 'type' | 'length'>) =>
  column.length !== undefined ? `${column.type}(${column.length})` : column.type

/** A column as a person reads it: `varchar(200), may be null, default 'x', one of 'a', 'b'`. */
export function describeColumn(column: ColumnState): string {
  return [
    typeOf(column),
    column.nullable ? 'may be null' : 'not null',
    column.default !== undefined ? `default ${column.default}` : undefined,
    column.values ? `one of ${column.values.map((value) => `'${value}'`).join(', ')}` : undefined,
    column.range ? describeRange(column.range) : undefined
  ]
    .filter(Boolean)
    .join(', ')
}

export function describeRange({ minimum, maximum }: Range): string {
  if (minimum !== undefined && maximum !== undefined) return `between ${minimum} and ${maximum}`
  return minimum !== undefined ? `at least ${minimum}` : `at most ${maximum}`
}

const NUMERIC_CAST = /^'(-?\d+(?:\.\d+)?)'::(?:smallint|integer|bigint|numeric|double precision|real)$/
const TEXT_CAST = /^('(?:[^']|'')*')::(?:text|character varying|bpchar|character)$/

/**
 * A default in the one form both sides write: PostgreSQL's `CURRENT_TIMESTAMP` is `now()` (knex
 * writes the one, SQL by hand the other), `'-5'::integer` is `-5`, `'x'::text` is `'x'`.
 */
export function plainDefault(expression: string | null | undefined): string | undefined {
  if (expression === null || expression === undefined) return undefined
  const trimmed = expression.trim()
  if (/^current_timestamp$/i.test(trimmed) || trimmed === 'now()') return 'now()'
  const numeric = NUMERIC_CAST.exec(trimmed)
  if (numeric) return numeric[1]
  const text = TEXT_CAST.exec(trimmed)
  if (text) return text[1]
  return trimmed
}

export const sameList = (a: readonly unknown[] = [], b: readonly unknown[] = []) =>
  a.length === b.length && a.every((item, index) => item === b[index])

export const sameSet = (a: readonly string[] = [], b: readonly string[] = []) =>
  sameList([...a].sort(), [...b].sort())

export const sameRange = (a: Range | undefined, b: Range | undefined) =>
  a?.minimum === b?.minimum && a?.maximum === b?.maximum
