import type { Knex } from 'knex'
import type {
  CheckState,
  ColumnState,
  ForeignKeyState,
  FunctionState,
  IndexState,
  KeyState,
  OnDelete,
  SchemaState,
  TableState,
  TriggerState
} from './schema-state'
import { plainDefault } from './schema-state'
import { rangeCheckName, valuesCheckName } from './sql'

/**
 * The schema a PostgreSQL database is in, read from its catalogs, as the same plain data that
 * the declarations make (schema-state.ts): what differ.ts compares. Only the current schema;
 * knex's own tables are left out. With `tables`, only those (and the functions of the schema).
 */

/** Knex's bookkeeping of the migrations: no declaration's business. */
const KNEX_TABLES = ['knex_migrations', 'knex_migrations_lock']

// Statements the instance makes on its own (src/auth/sessions/store.ts' BACKGROUND): not a request's.
const BACKGROUND = '/* background */'

const TYPES: Record<string, string> = {
  'character varying': 'varchar',
  'timestamp with time zone': 'timestamptz'
}

/** `character varying(200)` is `varchar` of 200, `timestamp with time zone` is `timestamptz`. */
function columnType(formatted: string): Pick<ColumnState, 'type' | 'length'> {
  const match = /^(.*)\((\d+)\)$/.exec(formatted)
  const [base, length] = match ? [match[1], Number(match[2])] : [formatted, undefined]
  return { type: TYPES[base] ?? base, ...(length !== undefined && { length }) }
}

const ON_DELETE: Record<string, OnDelete> = { c: 'CASCADE', n: 'SET NULL', r: 'RESTRICT', a: 'NO ACTION' }

/** The string literals of a CHECK's definition: `'a'::text`, `'it''s'` are `a`, `it's`. */
const literalsIn = (definition: string) =>
  [...definition.matchAll(/'((?:[^']|'')*)'/g)].map(([, value]) => value.replace(/''/g, "'"))

/** The bounds of a range CHECK: `(age >= 0) AND (age <= 150)`. */
function boundsIn(definition: string, column: string) {
  const bound = (operator: string) => {
    const match = new RegExp(`\\b${column}\\)?\\s*${operator}\\s*\\(?'?(-?\\d+(?:\\.\\d+)?)`).exec(definition)
    return match ? Number(match[1]) : undefined
  }
  const minimum = bound('>=')
  const maximum = bound('<=')
  return {
    ...(minimum !== undefined && { minimum }),
    ...(maximum !== undefined && { maximum })
  }
}

/** `CHECK (…)` without its keyword and outer parentheses: the condition as SQL. */
const conditionOf = (definition: string) => definition.replace(/^CHECK \((.*)\)(?: NOT VALID)?$/s, '$1')

interface Rows<T> {
  rows: T[]
}

export async function introspect(db: Knex, tables?: readonly string[]): Promise<SchemaState> {
  const only = tables ? 'AND c.relname = ANY(?)' : ''
  const bindings = tables ? [[...tables]] : []
  const [tableRows, columnRows, constraintRows, indexRows, triggerRows, functionRows] = await Promise.all([
    db.raw(
      `${BACKGROUND} SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') ${only} ORDER BY c.relname`,
      bindings
    ) as Promise<Rows<{ name: string }>>,
    db.raw(
      `${BACKGROUND} SELECT c.relname AS table, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
         a.attnotnull AS not_null, pg_get_expr(d.adbin, d.adrelid) AS default
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
       WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped ${only}
       ORDER BY c.relname, a.attnum`,
      bindings
    ) as Promise<
      Rows<{ table: string; name: string; type: string; not_null: boolean; default: string | null }>
    >,
    db.raw(
      `${BACKGROUND} SELECT c.relname AS table, k.conname AS name, k.contype AS kind, pg_get_constraintdef(k.oid) AS definition,
         (SELECT array_agg(a.attname::text ORDER BY u.ordinality) FROM unnest(k.conkey) WITH ORDINALITY u(attnum, ordinality)
           JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum) AS columns,
         t.relname AS target,
         (SELECT array_agg(a.attname::text ORDER BY u.ordinality) FROM unnest(k.confkey) WITH ORDINALITY u(attnum, ordinality)
           JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.attnum) AS references,
         k.confdeltype AS on_delete
       FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_class t ON t.oid = k.confrelid
       WHERE n.nspname = current_schema() AND k.contype IN ('p', 'u', 'f', 'c') ${only}
       ORDER BY c.relname, k.conname`,
      bindings
    ) as Promise<
      Rows<{
        table: string
        name: string
        kind: 'p' | 'u' | 'f' | 'c'
        definition: string
        columns: string[] | null
        target: string | null
        references: string[] | null
        on_delete: string
      }>
    >,
    // Indexes that no constraint made (those are the keys above).
    db.raw(
      `${BACKGROUND} SELECT c.relname AS table, x.relname AS name, i.indisunique AS unique,
         pg_get_expr(i.indpred, i.indrelid) AS where, 0 = ANY(i.indkey::int2[]) AS expression,
         (SELECT array_agg(a.attname::text ORDER BY u.ordinality) FROM unnest(i.indkey::int2[]) WITH ORDINALITY u(attnum, ordinality)
           JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = u.attnum) AS columns,
         pg_get_indexdef(i.indexrelid) AS definition
       FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_class x ON x.oid = i.indexrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = current_schema() AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) ${only}
       ORDER BY c.relname, x.relname`,
      bindings
    ) as Promise<
      Rows<{
        table: string
        name: string
        unique: boolean
        where: string | null
        expression: boolean
        columns: string[] | null
        definition: string
      }>
    >,
    db.raw(
      `${BACKGROUND} SELECT c.relname AS table, t.tgname AS name, pg_get_triggerdef(t.oid) AS sql
       FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = current_schema() AND NOT t.tgisinternal ${only}
       ORDER BY c.relname, t.tgname`,
      bindings
    ) as Promise<Rows<{ table: string; name: string; sql: string }>>,
    // The schema's own functions, none an extension's.
    db.raw(
      `${BACKGROUND} SELECT p.proname AS name, pg_get_functiondef(p.oid) AS sql
       FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
       WHERE n.nspname = current_schema() AND p.prokind = 'f'
         AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
       ORDER BY p.proname`
    ) as Promise<Rows<{ name: string; sql: string }>>
  ])
  const state = new Map<string, TableState>()
  for (const { name } of tableRows.rows.filter(({ name }) => !KNEX_TABLES.includes(name))) {
    state.set(name, {
      name,
      columns: [],
      primaryKey: { name: `${name}_pkey`, columns: [] },
      uniques: [],
      foreignKeys: [],
      indexes: [],
      checks: [],
      triggers: []
    })
  }
  for (const row of columnRows.rows) {
    const table = state.get(row.table)
    if (!table) continue
    const fallback = plainDefault(row.default)
    table.columns.push({
      name: row.name,
      ...columnType(row.type),
      nullable: !row.not_null,
      ...(fallback !== undefined && { default: fallback })
    })
  }
  for (const row of constraintRows.rows) {
    const table = state.get(row.table)
    if (!table) continue
    const columns = row.columns ?? []
    if (row.kind === 'p') table.primaryKey = { name: row.name, columns }
    if (row.kind === 'u') table.uniques.push({ name: row.name, columns })
    if (row.kind === 'f') table.foreignKeys.push(foreignKeyOf(row.name, columns, row))
    if (row.kind === 'c') {
      const check = { name: row.name, sql: conditionOf(row.definition) }
      if (!columnCheck(table, check, row.definition)) table.checks.push(check)
    }
  }
  for (const row of indexRows.rows) {
    const table = state.get(row.table)
    if (!table) continue
    if (row.unique && !row.where && !row.expression && row.columns) {
      table.uniques.push({ name: row.name, columns: row.columns, index: true })
    } else {
      // An index of expressions has no columns: nothing a declaration makes, made again as it was.
      const columns = row.expression ? [] : (row.columns ?? [])
      table.indexes.push({
        name: row.name,
        columns,
        sql: row.definition,
        ...(row.where && { where: row.where })
      })
    }
  }
  for (const row of triggerRows.rows) {
    state
      .get(row.table)
      ?.triggers.push({ table: row.table, name: row.name, sql: row.sql } satisfies TriggerState)
  }
  const functions: FunctionState[] = functionRows.rows.map(({ name, sql }) => ({ name, sql: sql.trim() }))
  return { tables: [...state.values()], functions }
}

function foreignKeyOf(
  name: string,
  columns: string[],
  row: { target: string | null; references: string[] | null; on_delete: string }
): ForeignKeyState {
  return {
    name,
    columns,
    table: row.target ?? '',
    references: row.references ?? [],
    onDelete: ON_DELETE[row.on_delete] ?? 'NO ACTION'
  }
}

/**
 * A CHECK named as a column's (`<table>_<column>_values`, `<table>_<column>_range`) becomes that
 * column's values or range; any other stays a check of the table's.
 */
function columnCheck(table: TableState, check: CheckState, definition: string): boolean {
  for (const column of table.columns) {
    if (check.name === valuesCheckName(table.name, column.name)) {
      column.values = literalsIn(definition)
      return true
    }
    if (check.name === rangeCheckName(table.name, column.name)) {
      const range = boundsIn(definition, column.name)
      if (range.minimum === undefined && range.maximum === undefined) return false
      column.range = range
      return true
    }
  }
  return false
}

export type { IndexState, KeyState }
