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

/** Whether every number in `value` is finite: JSON's `1e999` and a query's `1e309` are Infinity. */
function allFinite(value: unknown): boolean {
  if (typeof value === 'number') {
    return Number.isFinite(value)
  }
  if (value === null || typeof value !== 'object') {
    return true
  }
  return Object.values(value).every(allFinite)
}

const notFinite = () =>
  new Ajv.ValidationError([
    { instancePath: '', schemaPath: '', keyword: 'finite', params: {}, message: 'numbers must be finite' }
  ])

/**
 * `getValidator`, compiled as a plain function. Feathers compiles validators with `$async`, and an
 * async function keeps all its locals on the heap for every call: a query schema's generated
 * validator has thousands of them (16 KB allocated per call, measured here), which the garbage
 * collector then pays for on every request. A failure is the same ajv `ValidationError`, which the
 * schema hooks answer with 400.
 */
export function compileValidator<T = any, R = T>(schema: TSchema, ajv: Ajv): Validator<T, R> {
  const validate = ajv.compile(schema)
  return async (data: T) => {
    if (!validate(data)) {
      throw new Ajv.ValidationError((validate.errors ?? []).slice(0, MAX_REPORTED_ERRORS))
    }
    if (!allFinite(data)) {
      throw notFinite()
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

/**
 * A query's validator: the schema (which bounds each list and the number of clauses), then the
 * number of values in the whole query, which nested `$and` / `$or` clauses could multiply.
 */
export function compileQueryValidator<T = any>(schema: TSchema): Validator<T, T> {
  const validate = compileValidator<T>(schema, queryValidator)
  return async (query: T) => {
    const valid = await validate(query)
    if (valuesIn(valid, MAX_QUERY_VALUES) > MAX_QUERY_VALUES) {
      throw new BadRequest(`A query may hold at most ${MAX_QUERY_VALUES} values`)
    }
    return valid
  }
}
