import { Ajv, addFormats } from '@feathersjs/schema'
import type { FormatsPluginOptions, Validator } from '@feathersjs/schema'
import type { TSchema } from '@feathersjs/typebox'

const formats: FormatsPluginOptions = ['date-time', 'email', 'uuid']

export const dataValidator: Ajv = addFormats(new Ajv({ allErrors: true }), formats)

// Query strings arrive as text: numbers and booleans are coerced before validation.
export const queryValidator: Ajv = addFormats(new Ajv({ allErrors: true, coerceTypes: true }), formats)

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
      throw new Ajv.ValidationError(validate.errors ?? [])
    }
    return data as unknown as R
  }
}
