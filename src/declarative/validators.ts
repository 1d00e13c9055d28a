import { BadRequest } from '@feathersjs/errors'
import { Ajv, addFormats } from '@feathersjs/schema'
import type { FormatsPluginOptions, Validator } from '@feathersjs/schema'
import type { TSchema } from '@feathersjs/typebox'

const formats: FormatsPluginOptions = ['date-time', 'email', 'uuid']

export const dataValidator: Ajv = addFormats(new Ajv({ allErrors: true }), formats)

// Query strings arrive as text: numbers and booleans are coerced before validation.
export const queryValidator: Ajv = addFormats(new Ajv({ allErrors: true, coerceTypes: true }), formats)

// A validation error names at most this many problems: a body of 8,000 unknown keys is not
// answered with 8,000 of them.
const MAX_REPORTED_ERRORS = 20

// Half of a UTF-16 surrogate pair (JSON's "\ud800" alone) has no UTF-8 form: PostgreSQL would
// store U+FFFD in its place, changing the text without a word.
const LONE_SURROGATE = /\p{Cs}/u

/**
 * What in a valid `value` could not be stored as sent: a number that JSON's `1e999` or a query's
 * `1e309` made Infinity, or text holding a lone surrogate.
 */
function unstorable(value: unknown): string | undefined {
  if (typeof value === 'number') {
    return Number.isFinite(value) ? undefined : 'numbers must be finite'
  }
  if (typeof value === 'string') {
    return LONE_SURROGATE.test(value) ? 'text must be well-formed Unicode' : undefined
  }
  if (value === null || typeof value !== 'object') {
    return undefined
  }
  for (const item of Object.values(value)) {
    const problem = unstorable(item)
    if (problem) return problem
  }
  return undefined
}

const invalid = (keyword: string, message: string) =>
  new Ajv.ValidationError([{ instancePath: '', schemaPath: '', keyword, params: {}, message }])

/**
 * `getValidator`, compiled as a plain function. Feathers compiles validators with `$async`, and an
 * async function keeps all its locals on the heap for every call: a query schema's generated
 * validator has thousands of them (16 KB allocated per call, measured here), which the garbage
 * collector then pays for on every request. A failure is the same ajv `ValidationError`, which the
 * schema hooks answer with 400.
 */
export function compileValidator<T = unknown, R = T>(schema: TSchema, ajv: Ajv): Validator<T, R> {
  const validate = ajv.compile(schema)
  return async (data: T) => {
    if (!validate(data)) {
      throw new Ajv.ValidationError((validate.errors ?? []).slice(0, MAX_REPORTED_ERRORS))
    }
    const problem = unstorable(data)
    if (problem) {
      throw invalid('storable', problem)
    }
    return data as unknown as R
  }
}

// Each value of a query becomes one parameter of a statement (PostgreSQL takes at most 65,535).
const MAX_QUERY_VALUES = 1000

/** The values in a query, counted until there are more than `limit`. */
function valuesIn(query: unknown, limit: number): number {
  if (query === null || typeof query !== 'object') {
    return 1
  }
  let count = 0
  for (const value of Object.values(query)) {
    count += valuesIn(value, limit - count)
    if (count > limit) break
  }
  return count
}

// Deeper than any clause a query schema allows: what lies below is refused by the schema anyway.
const MAX_QUERY_DEPTH = 16

/**
 * Whether a query holds `null` or a boolean. A query string says neither, and coercion would turn
 * a socket's `{ $limit: null }` into 0 and `{ age: true }` into 1: refused instead, so that a
 * query means the same on every transport.
 */
function holdsNullOrBoolean(value: unknown, depth = 0): boolean {
  if (value === null || typeof value === 'boolean') {
    return true
  }
  if (typeof value !== 'object' || depth > MAX_QUERY_DEPTH) {
    return false
  }
  return Object.values(value).some((item) => holdsNullOrBoolean(item, depth + 1))
}

/**
 * A query's validator: no null or boolean, the schema (which bounds each list and the number of
 * clauses), then the number of values in the whole query, which nested `$and` / `$or` clauses
 * could multiply.
 */
export function compileQueryValidator<T = unknown>(schema: TSchema): Validator<T, T> {
  const validate = compileValidator<T>(schema, queryValidator)
  return async (query: T) => {
    if (holdsNullOrBoolean(query)) {
      throw invalid('type', 'a query holds text and numbers only, never null or a boolean')
    }
    const valid = await validate(query)
    if (valuesIn(valid, MAX_QUERY_VALUES) > MAX_QUERY_VALUES) {
      throw new BadRequest(`A query may hold at most ${MAX_QUERY_VALUES} values`)
    }
    return valid
  }
}
