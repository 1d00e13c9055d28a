import { allowedValues, keysAt, schemaAt } from './schema-text'
import type { JsonSchema, SettingPath } from './schema-text'

/**
 * A setting that stops start-up. Its message is one line that names every refused setting (its
 * path and environment variable), the value and what is allowed; the entry points print it
 * without a stack.
 */
export class ConfigurationError extends Error {
  name = 'ConfigurationError'
}

/** One refused setting: `subject` (a setting's path, `NODE_CONFIG`, a file) and what is wrong. */
export interface Problem {
  subject: string
  text: string
}

/** Where the values of the settings came from (see sources.ts). */
export interface SettingsOrigin {
  /** The file or environment variable that set the value at `path`. */
  sourceOf(path: SettingPath): string | undefined
  /** The text of the environment variable that set the value at `path`. */
  environmentText(path: SettingPath): string | undefined
  /** The environment variable that may set the setting at `path`. */
  variableOf(path: SettingPath): string | undefined
}

export const describeProblems = (problems: Problem[]) =>
  `Invalid configuration: ${problems.map(({ subject, text }) => `${subject}: ${text}`).join(' | ')}`

const MAX_SHOWN = 80

/** A value as the message shows it: quoted, a password in a URL hidden, a long one cut. */
function shownValue(value: unknown, hidden: boolean) {
  if (hidden && !(typeof value === 'string' && /^[a-z][a-z0-9+.-]*:\/\//i.test(value))) {
    return '(hidden)'
  }
  const text = JSON.stringify(value)?.replace(/(\/\/[^/:@\s]*:)[^/@\s]*@/g, '$1***@') ?? 'undefined'
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}…` : text
}

const valueAt = (settings: unknown, path: SettingPath) =>
  path.reduce<unknown>(
    (value, key) =>
      value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined,
    settings
  )

interface AjvError {
  instancePath: string
  keyword: string
  params: Record<string, unknown>
}

const pointerPath = (pointer: string) =>
  pointer === ''
    ? []
    : pointer
        .slice(1)
        .split('/')
        .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))

type Kind = 'invalid' | 'unknown' | 'missing'

/** The setting each validation error is about, once each, in the order of the errors. */
function refusedSettings(errors: AjvError[]) {
  const refused = new Map<string, { path: SettingPath; kind: Kind }>()
  for (const { instancePath, keyword, params } of errors) {
    const at = pointerPath(instancePath)
    const [path, kind]: [SettingPath, Kind] =
      keyword === 'additionalProperties'
        ? [[...at, String(params.additionalProperty)], 'unknown']
        : keyword === 'required'
          ? [[...at, String(params.missingProperty)], 'missing']
          : [at, 'invalid']
    const id = path.join('.')
    // An error inside a setting that is refused as a whole (an item of a list) adds nothing.
    if (![...refused.keys()].some((other) => id === other || id.startsWith(`${other}.`))) {
      refused.set(id, { path, kind })
    }
  }
  return [...refused.values()]
}

/** The setting `path` is in: a list's item belongs to the list. */
function settingPathOf(schema: JsonSchema, path: SettingPath): SettingPath {
  const list = path.findIndex((_, index) => schemaAt(schema, path.slice(0, index))?.type === 'array')
  return list > 0 ? path.slice(0, list) : path
}

/** One problem per refused setting, from the validator's errors. */
export function validationProblems(
  schema: JsonSchema,
  settings: unknown,
  errors: AjvError[],
  origin: SettingsOrigin
): Problem[] {
  const located = errors.map((error) => ({
    ...error,
    instancePath: settingPathOf(schema, pointerPath(error.instancePath))
      .map((key) => `/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`)
      .join('')
  }))
  return refusedSettings(located).map(({ path, kind }) => {
    const name = path.join('.') || '(the settings)'
    const source = origin.sourceOf(path)
    if (kind === 'unknown') {
      const known = keysAt(schema, path.slice(0, -1))
      const value = shownValue(valueAt(settings, path), false)
      return {
        subject: name,
        text: `not a setting (${value}${source ? ` in ${source}` : ''}); allowed here: ${known.join(', ')}`
      }
    }
    const setting = schemaAt(schema, path) ?? {}
    const allowed = `allowed: ${allowedValues(setting)}`
    const variable = origin.variableOf(path)
    const text = origin.environmentText(path)
    if (kind === 'invalid' && text !== undefined && source === variable) {
      return {
        subject: name,
        text: `${variable}=${shownValue(text, setting.writeOnly === true)} is refused; ${allowed}`
      }
    }
    const subject = variable ? `${name} (${variable})` : name
    if (kind === 'missing') {
      return { subject, text: `missing; ${allowed}` }
    }
    const value = shownValue(valueAt(settings, path), setting.writeOnly === true)
    return { subject, text: `${value}${source ? ` in ${source}` : ''} is refused; ${allowed}` }
  })
}
