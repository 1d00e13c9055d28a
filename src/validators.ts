import { Ajv, addFormats } from '@feathersjs/schema'
import type { FormatsPluginOptions } from '@feathersjs/schema'

const formats: FormatsPluginOptions = ['date-time', 'email', 'uuid']

export const dataValidator: Ajv = addFormats(new Ajv({ allErrors: true }), formats)

// Query strings arrive as text: numbers and booleans are coerced before validation.
export const queryValidator: Ajv = addFormats(new Ajv({ allErrors: true, coerceTypes: true }), formats)
