/*
 * Reading the configuration schema (src/configuration.ts) the way people need it: the settings
 * it declares, the schema of one setting, and in words what a setting allows. The messages of
 * refused settings and the table in docs/configuration.md both say it with these words.
 */

export type SettingPath = readonly string[]

/** A JSON schema as TypeBox builds it: the keywords read here (`allowed` is the project's own). */
export interface JsonSchema {
  type?: string
  properties?: Record<string, JsonSchema>
  items?: JsonSchema | JsonSchema[]
  anyOf?: JsonSchema[]
  const?: unknown
  minimum?: number
  maximum?: number
  minLength?: number
  pattern?: string
  description?: string
  allowed?: string
  [keyword: string]: unknown
}

type ObjectSchema = JsonSchema & { properties: Record<string, JsonSchema> }

const isObjectSchema = (schema: JsonSchema): schema is ObjectSchema =>
  schema.type === 'object' && schema.properties !== undefined

/** The schema of the setting at `path`, if the schema declares one there. */
export function schemaAt(root: JsonSchema, path: SettingPath): JsonSchema | undefined {
  let schema: JsonSchema | undefined = root
  for (const key of path) {
    if (schema === undefined) return undefined
    if (isObjectSchema(schema)) {
      schema = Object.hasOwn(schema.properties, key) ? schema.properties[key] : undefined
    } else {
      return undefined
    }
  }
  return schema
}

/** Every setting (a value that is not a group of settings), in the order the schema declares them. */
export function settingsOf(
  root: JsonSchema,
  prefix: SettingPath = []
): { path: SettingPath; schema: JsonSchema }[] {
  return Object.entries(root.properties!).flatMap(([key, schema]) =>
    isObjectSchema(schema) ? settingsOf(schema, [...prefix, key]) : [{ path: [...prefix, key], schema }]
  )
}

/** The names of the settings (or groups) directly under the group at `path`. */
export function keysAt(root: JsonSchema, path: SettingPath): string[] {
  const schema = schemaAt(root, path)
  return schema && isObjectSchema(schema) ? Object.keys(schema.properties) : []
}

const shown = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value))

function wholeNumber({ minimum, maximum }: JsonSchema) {
  if (minimum !== undefined && maximum !== undefined) return `a whole number from ${minimum} to ${maximum}`
  if (minimum !== undefined) return `a whole number, at least ${minimum}`
  if (maximum !== undefined) return `a whole number, at most ${maximum}`
  return 'a whole number'
}

function text({ minLength, pattern }: JsonSchema) {
  if (pattern !== undefined) return `text matching ${pattern}`
  return minLength ? 'any text, not empty' : 'any text'
}

function list(schema: JsonSchema) {
  if (Array.isArray(schema.items)) return `exactly ${JSON.stringify(schema.items.map((item) => item.const))}`
  return `a list of ${allowedValues(schema.items!)}: comma-separated or a JSON array`
}

/** In words, what the setting of `schema` allows. */
export function allowedValues(schema: JsonSchema): string {
  if (typeof schema.allowed === 'string') return schema.allowed
  if ('const' in schema) return `only ${shown(schema.const)}`
  if (Array.isArray(schema.anyOf)) {
    const choices = schema.anyOf
    return choices.every((choice) => 'const' in choice)
      ? choices.map((choice) => shown(choice.const)).join(', ')
      : choices.map(allowedValues).join(', or ')
  }
  switch (schema.type) {
    case 'boolean':
      return 'true or false (also 1 or 0, yes or no)'
    case 'integer':
      return wholeNumber(schema)
    case 'number':
      return 'a number'
    case 'string':
      return text(schema)
    case 'array':
      return list(schema)
    default:
      return 'a group of settings'
  }
}
