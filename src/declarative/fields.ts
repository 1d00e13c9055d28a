import { Modifier, Type } from '@feathersjs/typebox'
import type { NumericOptions, Static, TNull, TOptional, TSchema, TUnion } from '@feathersjs/typebox'

/**
 * The field vocabulary: plain TypeBox schemas, each of which maps to one column
 * (src/declarative/database/columns.ts). What a field's schema accepts is what its column holds:
 *
 * - a field is required, and its column NOT NULL, unless it is `optional(…)` or has a default;
 * - `optional(schema)`: the column is nullable; a create may leave the field out or send `null`, a
 *   patch sends `null` to clear it, an update (a full replacement) that leaves it out clears it, and
 *   a record always carries it (`null` when empty);
 * - `defaulted(schema, value)` (or any schema with a `default`): the column has that default; a
 *   create may leave the field out and gets the default, an update that leaves it out resets it,
 *   `null` is refused (unless the schema is also optional);
 * - `oneOf([...])` (or a union of string literals): text with a CHECK of the values;
 * - integers and numbers with `minimum`/`maximum`: a CHECK of the range (integers also pick the
 *   smallest integer type that holds it); strings with `maxLength`: `varchar(n)`, else `text`;
 *   `uuid()`: uuid; `timestamp()`: timestamptz; booleans: boolean.
 *
 * `Type.Optional(schema)` alone (absent, yet never null) is refused: an absent field is stored as
 * NULL, which its schema would then not accept. Use `optional(schema)` or give it a default.
 */

export const uuid = () => Type.String({ format: 'uuid' })

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export const isUuid = (value: unknown): value is string => typeof value === 'string' && UUID.test(value)

/** The longest email address there can be (RFC 5321's path limit less the angle brackets). */
export const MAX_EMAIL_LENGTH = 254

/**
 * The one form of an email address that is stored, looked up and throttled: trimmed, lower-cased.
 * Login lookup and login throttle must key on the same string, or padding would get round the count.
 */
export const normalisedEmail = (email: string) => email.trim().toLowerCase()

export const timestamp = () => Type.String({ format: 'date-time' })

/** One of a few strings: stored as text with a CHECK of the values. */
export const oneOf = <const V extends readonly string[]>(values: V) =>
  Type.Unsafe<V[number]>({ type: 'string', enum: [...values] })

/** Text with at least one non-space character. */
export const text = (maxLength: number) => Type.String({ minLength: 1, maxLength, pattern: '\\S' })

/** A whole number within `range` (a CHECK of it, in the smallest integer column that holds it). */
export const integer = (range: Pick<NumericOptions, 'minimum' | 'maximum'> = {}) => Type.Integer(range)

/** A number within `range` (double precision, with a CHECK of the range). */
export const number = (range: Pick<NumericOptions, 'minimum' | 'maximum'> = {}) => Type.Number(range)

/** A person's name and age in whole years, within `ages`. */
export const person = (ages: { minimum: number; maximum: number }) => ({
  name: text(200),
  age: Type.Integer(ages)
})

/** A field a record may leave empty: a nullable column; `null` clears it. */
export const optional = <T extends TSchema>(schema: T): TOptional<TUnion<[T, TNull]>> =>
  Type.Optional(Type.Union([schema, Type.Null()]))

/** A field that takes `value` when a create leaves it out: the column's default, and the schema's. */
export const defaulted = <T extends TSchema>(schema: T, value: Static<T>): TOptional<T> =>
  Type.Optional({ ...schema, default: value })

/** A column default that is an SQL expression (`now()`), kept beside the schema where ajv does not look. */
export const SQL_DEFAULT = Symbol.for('healthcare.sqlDefault')

/** A timestamp that is the moment of the insert when a create leaves it out (`DEFAULT now()`). */
export const defaultNow = <T extends TSchema>(schema: T): TOptional<T> =>
  Type.Optional({ ...schema, [SQL_DEFAULT]: 'now()' })

/** What a field's schema says of its column: whether it may be null, left out, or has a default. */
export interface FieldShape {
  /** The schema without `optional` and `null`: what a value of the field is. */
  base: TSchema
  /** `null` is a value of the field (the column is nullable). */
  nullable: boolean
  /** A create may leave it out. */
  optional: boolean
  /** The column's default, when it has one: a value of the schema, or an SQL expression. */
  default?: { value: unknown } | { sql: string }
}

const isNull = (schema: TSchema) => schema.type === 'null'

/** A field's schema, read as its column reads it. */
export function shapeOf(schema: TSchema): FieldShape {
  const options: TSchema[] | undefined = schema.anyOf
  const nullable = Array.isArray(options) && options.some(isNull)
  const rest = nullable ? options!.filter((option) => !isNull(option)) : []
  const base = nullable && rest.length === 1 ? rest[0] : schema
  const sqlDefault = (schema as unknown as Record<symbol, unknown>)[SQL_DEFAULT]
  const defaultValue = schema.default ?? base.default
  const fallback =
    typeof sqlDefault === 'string'
      ? { sql: sqlDefault }
      : defaultValue !== undefined
        ? { value: defaultValue }
        : undefined
  const modifier = schema[Modifier]
  return {
    base,
    nullable,
    optional: modifier === 'Optional' || modifier === 'ReadonlyOptional' || fallback !== undefined,
    ...(fallback && { default: fallback })
  }
}

/** The schema without its `Optional` modifier: what a record, which always has the field, carries. */
export function required<T extends TSchema>(schema: T): T {
  const copy: Record<string | symbol, unknown> = { ...(schema as object) }
  delete copy[Modifier]
  return copy as unknown as T
}

/** `$ilike` for name searches: a bounded pattern string. */
export const ilike = () => ({ $ilike: Type.String({ maxLength: 200 }) })

/** The data resolver for `updatedAt` on update and patch. */
export const now = async () => new Date().toISOString()
