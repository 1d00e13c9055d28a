import type { Knex } from 'knex'
import { rowsFromDatabase } from './knex'

type Row = Record<string, unknown>

/** A value that knex binds as it is: anything else is built by knex on every call. */
export type PlainValue = string | number | boolean | null

export const isPlainValue = (value: unknown): value is PlainValue =>
  value === null || ['string', 'number', 'boolean'].includes(typeof value)

/** Where a kept statement's binding comes from: one of the call's values, or a constant of the shape. */
type Slot = { value: number } | { constant: unknown }

interface Kept {
  sql: string
  slots: Slot[]
}

const MAX_SHAPES = 500

/**
 * Stands for the n-th value while a shape is built: a string or a number as the value is, so that
 * the builder takes the path it takes for the value. Booleans and nulls are part of the shape.
 */
// eslint-disable-next-line no-control-regex -- a NUL, which no SQL text and no constant of ours holds
const STRING_MARK = /^\u0000value (\d+)\u0000$/
const FIRST_NUMBER_MARK = Number.MIN_SAFE_INTEGER

/** A string mark's NUL, or the digits of a number mark, in SQL text. */
const WRITTEN_MARK = new RegExp(`\u0000|${String(-FIRST_NUMBER_MARK).slice(0, 12)}`)

function placeholder(value: PlainValue, index: number): PlainValue {
  if (typeof value === 'string') return `\u0000value ${index}\u0000`
  if (typeof value === 'number') return FIRST_NUMBER_MARK + index
  return value
}

function markedIndex(binding: unknown, count: number): number | undefined {
  if (typeof binding === 'string') {
    const marked = STRING_MARK.exec(binding)
    return marked ? Number(marked[1]) : undefined
  }
  const index = typeof binding === 'number' ? binding - FIRST_NUMBER_MARK : -1
  return index >= 0 && index < count ? index : undefined
}

const kindOf = (value: PlainValue) =>
  value === null ? '0' : value === true ? 't' : value === false ? 'f' : typeof value === 'number' ? 'n' : 's'

/** The kind of each value: what the builder may branch on is part of the shape. */
const kinds = (values: readonly PlainValue[]) => values.map(kindOf).join('')

/**
 * Statements that knex builds once per shape of call and that are kept as SQL: a later call of
 * the same shape binds its own values into the kept SQL instead of building the statement again
 * (knex's builder and compiler were about a tenth of the CPU of reading a record by id). The SQL
 * is the builder's own, built by the very function a call would use, with a placeholder for each
 * value; a shape whose values knex would write into the SQL text instead of binding them is not
 * kept, and is built every time. What a `shape` names is the caller's to make complete: every
 * part of the statement that is not one of `values`.
 */
export class StatementShapes {
  private readonly kept = new Map<string, Kept | null>()

  /**
   * The rows of the statement of `shape` with `values` bound: `build` makes it from values (from
   * placeholders once, then never again); with a value that is not plain, from the values each time.
   */
  async rows<T extends Row>(
    db: Knex | Knex.Transaction,
    shape: string,
    values: readonly unknown[],
    build: (values: readonly unknown[]) => Knex.QueryBuilder
  ): Promise<T[]> {
    const kept = values.every(isPlainValue) ? this.keptFor(`${shape} ${kinds(values)}`, values, build) : null
    if (!kept) return (await build(values)) as T[]
    const bindings = kept.slots.map((slot) => ('value' in slot ? values[slot.value] : slot.constant))
    const result: { rows: Row[] } = await db.raw(kept.sql, bindings as Knex.RawBinding[])
    return rowsFromDatabase(result.rows) as T[]
  }

  private keptFor(
    shape: string,
    values: readonly PlainValue[],
    build: (values: readonly unknown[]) => Knex.QueryBuilder
  ) {
    let kept = this.kept.get(shape)
    if (kept === undefined && this.kept.size < MAX_SHAPES) {
      kept = templateOf(build(values.map(placeholder)), values.length)
      this.kept.set(shape, kept)
    }
    return kept ?? null
  }
}

function templateOf(builder: Knex.QueryBuilder, count: number): Kept | null {
  const { sql, bindings } = builder.toSQL()
  // A value knex wrote into the text instead of binding it would stay in the kept SQL for every
  // later call: such a shape is built each time. So is SQL with a `?` that is not a binding (knex.raw
  // reads every `?` as one).
  if (WRITTEN_MARK.test(sql) || sql.split('?').length - 1 !== bindings.length) return null
  const slots = bindings.map((binding): Slot => {
    const index = markedIndex(binding, count)
    return index === undefined ? { constant: binding } : { value: index }
  })
  return { sql, slots }
}
