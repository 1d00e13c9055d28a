import type { ColumnState, ForeignKeyState, IndexState, KeyState, TableState } from './schema-state'
import { typeOf } from './schema-state'

/**
 * The SQL of a schema state's parts: what differ.ts writes into each operation, forward and back.
 * Every statement is complete on its own, so that a migration is a list of them.
 */

// PostgreSQL's reserved words that a column could plausibly be named: quoted where they appear.
const RESERVED = new Set(
  `all analyse analyze and any array as asc asymmetric both case cast check collate column constraint
  create current_catalog current_date current_role current_time current_timestamp current_user default
  deferrable desc distinct do else end except false fetch for foreign from grant group having in
  initially intersect into lateral leading limit localtime localtimestamp not null offset on only or
  order placing primary references returning select session_user some symmetric system_user table
  then to trailing true union unique user using variadic when where window with`.split(/\s+/)
)

/** An identifier as SQL: as it is when it needs no quotes, else in double quotes. */
export const id = (name: string) =>
  /^[a-z_][a-z0-9_]*$/.test(name) && !RESERVED.has(name) ? name : `"${name.replace(/"/g, '""')}"`

const ids = (names: readonly string[]) => names.map(id).join(', ')

export const literal = (value: string) => `'${value.replace(/'/g, "''")}'`

export const valuesCheckName = (table: string, column: string) => `${table}_${column}_values`
export const rangeCheckName = (table: string, column: string) => `${table}_${column}_range`

/** `name type [NOT NULL] [DEFAULT …]`: a column as CREATE TABLE and ADD COLUMN take it. */
export function columnDefinition(column: ColumnState): string {
  return [
    id(column.name),
    typeOf(column),
    column.nullable ? undefined : 'NOT NULL',
    column.default !== undefined ? `DEFAULT ${column.default}` : undefined
  ]
    .filter(Boolean)
    .join(' ')
}

export function valuesCondition(column: string, values: readonly string[]) {
  return `${id(column)} IN (${values.map(literal).join(', ')})`
}

export function rangeCondition(column: string, { minimum, maximum }: { minimum?: number; maximum?: number }) {
  return [
    minimum !== undefined ? `${id(column)} >= ${minimum}` : undefined,
    maximum !== undefined ? `${id(column)} <= ${maximum}` : undefined
  ]
    .filter(Boolean)
    .join(' AND ')
}

/** The CHECKs a column makes of its values and its range, each `{ name, condition }`. */
export function columnChecks(table: string, column: ColumnState) {
  return [
    ...(column.values
      ? [
          {
            name: valuesCheckName(table, column.name),
            condition: valuesCondition(column.name, column.values)
          }
        ]
      : []),
    ...(column.range && (column.range.minimum !== undefined || column.range.maximum !== undefined)
      ? [{ name: rangeCheckName(table, column.name), condition: rangeCondition(column.name, column.range) }]
      : [])
  ]
}

export const checkConstraint = (name: string, condition: string) =>
  `CONSTRAINT ${id(name)} CHECK (${condition})`

export const primaryKeyConstraint = ({ name, columns }: KeyState) =>
  `CONSTRAINT ${id(name)} PRIMARY KEY (${ids(columns)})`

export const uniqueConstraint = ({ name, columns }: KeyState) =>
  `CONSTRAINT ${id(name)} UNIQUE (${ids(columns)})`

export const foreignKeyConstraint = ({ name, columns, table, references, onDelete }: ForeignKeyState) =>
  `CONSTRAINT ${id(name)} FOREIGN KEY (${ids(columns)}) REFERENCES ${id(table)} (${ids(references)})${onDelete === 'NO ACTION' ? '' : ` ON DELETE ${onDelete}`}`

export const createIndex = (table: string, { name, columns, where, sql }: IndexState) =>
  sql ??
  `CREATE INDEX IF NOT EXISTS ${id(name)} ON ${id(table)} (${ids(columns)})${where ? ` WHERE ${where}` : ''}`

export const dropIndex = (name: string) => `DROP INDEX ${id(name)}`

export const addConstraint = (table: string, constraint: string) =>
  `ALTER TABLE ${id(table)} ADD ${constraint}`

export const dropConstraint = (table: string, name: string) =>
  `ALTER TABLE ${id(table)} DROP CONSTRAINT ${id(name)}`

/** A unique key as it is: a constraint, or a unique index (dropped as an index). */
export const dropUnique = (table: string, key: KeyState) =>
  key.index ? dropIndex(key.name) : dropConstraint(table, key.name)

/** CREATE TABLE with everything that is part of it, then its indexes. */
export function createTable(table: TableState): string[] {
  const internal = new Set(table.internal ?? [])
  const parts = [
    ...table.columns.map(columnDefinition),
    primaryKeyConstraint(table.primaryKey),
    ...table.columns
      .filter(({ name }) => !internal.has(name))
      .flatMap((column) => columnChecks(table.name, column))
      .map(({ name, condition }) => checkConstraint(name, condition)),
    ...table.checks.map(({ name, sql }) => checkConstraint(name, sql)),
    ...table.uniques.map(uniqueConstraint),
    ...table.foreignKeys.map(foreignKeyConstraint)
  ]
  return [
    `CREATE TABLE ${id(table.name)} (\n  ${parts.join(',\n  ')}\n)`,
    ...table.indexes.map((index) => createIndex(table.name, index))
  ]
}

export const dropTable = (name: string) => `DROP TABLE ${id(name)}`

export const dropTrigger = (table: string, name: string) => `DROP TRIGGER ${id(name)} ON ${id(table)}`

export const dropFunction = (name: string) => `DROP FUNCTION ${id(name)}()`
