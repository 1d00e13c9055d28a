import { existsSync, readFileSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { ConfigurationError, describeProblems } from './problems'
import type { SettingsOrigin } from './problems'
import { schemaAt } from './schema-text'
import type { JsonSchema, SettingPath } from './schema-text'

/*
 * Where settings come from, in this order, each over the ones before:
 *   config/default.json, config/<NODE_ENV>.json, config/local.json, config/local-<NODE_ENV>.json,
 *   the NODE_CONFIG environment variable (a JSON object of settings),
 *   the environment variables named in config/custom-environment-variables.json.
 * Each value remembers its source, so that a refused one can be traced to the file or variable
 * that set it. What cannot be read (a file that is not JSON, NODE_CONFIG that is not a JSON object,
 * a NODE_ENV without a config file) is refused here, with one line, like a bad value.
 */

export interface ReadOptions {
  /** The environment (default: `process.env`). */
  env?: NodeJS.ProcessEnv
  /** The folder of the config files (default: NODE_CONFIG_DIR, or config/ in the working directory). */
  dir?: string
}

/** The file that maps settings to environment variables (node-config's name for it). */
export const VARIABLES_FILE = 'custom-environment-variables.json'
const DEFAULT_ENVIRONMENT = 'development'

type Settings = Record<string, unknown>

const isPlainObject = (value: unknown): value is Settings =>
  value !== null && typeof value === 'object' && !Array.isArray(value)

const refuse = (subject: string, text: string): never => {
  throw new ConfigurationError(describeProblems([{ subject, text }]))
}

// An own property even for `__proto__`: JSON may name it, and it is then an unknown setting.
const define = (target: Settings, key: string, value: unknown) =>
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })

/** The JSON object in `file`, or undefined when there is no such file. */
function readJsonFile(file: string, label: string): Settings | undefined {
  if (!existsSync(file)) return undefined
  let values: unknown
  try {
    // Not the parser's message: from Node 22 on it quotes the text, which may hold a secret.
    values = JSON.parse(readFileSync(file, 'utf8').replace(/^\uFEFF/, ''))
  } catch {
    return refuse(label, 'not valid JSON')
  }
  return isPlainObject(values) ? values : refuse(label, 'not a JSON object of settings')
}

/** A variable a setting may be set by: `"PORT"` or node-config's `{ "__name": "PORT", … }`. */
export interface SettingVariable {
  path: SettingPath
  name: string
}

function variablesIn(mapping: Settings, label: string, prefix: SettingPath = []): SettingVariable[] {
  return Object.entries(mapping).flatMap(([key, value]) => {
    const at = [...prefix, key]
    if (typeof value === 'string') return [{ path: at, name: value }]
    if (isPlainObject(value) && typeof value.__name === 'string') return [{ path: at, name: value.__name }]
    if (isPlainObject(value)) return variablesIn(value, label, at)
    return refuse(label, `${at.join('.')}: not the name of an environment variable`)
  })
}

/** The environment variables of config/custom-environment-variables.json in `dir`. */
export function settingVariables(dir: string): SettingVariable[] {
  const file = path.join(dir, VARIABLES_FILE)
  const mapping = readJsonFile(file, labelOf(file))
  return mapping ? variablesIn(mapping, labelOf(file)) : []
}

/** A file as messages name it: relative to the working directory (config/local.json) if it is in it. */
function labelOf(file: string) {
  const relative = path.relative(process.cwd(), file)
  return relative === '' || relative.startsWith('..') || path.isAbsolute(relative) ? file : relative
}

const BOOLEANS: Record<string, boolean> = {
  true: true,
  false: false,
  1: true,
  0: false,
  yes: true,
  no: false
}

/**
 * The value an environment variable's text stands for, as the setting's type reads it: numbers,
 * booleans (true/false, 1/0, yes/no) and lists (comma-separated, or a JSON array). Text that does
 * not read as that type stays text, and the validation refuses it with the setting's name.
 */
export function environmentValue(schema: JsonSchema | undefined, text: string): unknown {
  const trimmed = text.trim()
  switch (schema?.type) {
    case 'integer':
      return /^[+-]?\d+$/.test(trimmed) ? Number(trimmed) : text
    case 'number':
      return trimmed !== '' && Number.isFinite(Number(trimmed)) ? Number(trimmed) : text
    case 'boolean':
      return BOOLEANS[trimmed.toLowerCase()] ?? text
    case 'array':
      if (trimmed.startsWith('[')) {
        try {
          return JSON.parse(trimmed)
        } catch {
          return text
        }
      }
      return trimmed
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== '')
    default:
      return text
  }
}

/** The environments there is a config file for, and `development`, which needs none. */
function knownEnvironments(dir: string) {
  const files = existsSync(dir) ? readdirSync(dir) : []
  const names = files
    .filter((file) => file.endsWith('.json'))
    .map((file) => file.slice(0, -'.json'.length))
    .filter((name) => name !== 'default' && name !== 'local' && !name.startsWith('local-'))
    .filter((name) => `${name}.json` !== VARIABLES_FILE)
  return [...new Set([DEFAULT_ENVIRONMENT, ...names])].sort()
}

const key = (at: SettingPath) => at.join('\u0000')

/** Layers of settings, merged object by object; arrays and other values replace. */
class Layers implements SettingsOrigin {
  readonly settings: Settings = {}
  private readonly sources = new Map<string, string>()
  private readonly texts = new Map<string, string>()
  private readonly variables = new Map<string, string>()

  constructor(variables: SettingVariable[]) {
    for (const variable of variables) this.variables.set(key(variable.path), variable.name)
  }

  sourceOf = (at: SettingPath) => this.sources.get(key(at))
  environmentText = (at: SettingPath) => this.texts.get(key(at))
  variableOf = (at: SettingPath) => this.variables.get(key(at))

  /** Every value in `values` over the ones before, from `source`. */
  add(values: Settings, source: string, prefix: SettingPath = [], target = this.settings) {
    for (const [name, value] of Object.entries(values)) {
      const at = [...prefix, name]
      if (isPlainObject(value) && Object.hasOwn(target, name) && isPlainObject(target[name])) {
        this.add(value, source, at, target[name] as Settings)
      } else {
        define(target, name, isPlainObject(value) ? this.copy(value, source, at) : value)
        this.sources.set(key(at), source)
      }
    }
  }

  /** One environment variable's value, at `at`. */
  set(at: SettingPath, value: unknown, variable: string, text: string) {
    let target = this.settings
    for (const name of at.slice(0, -1)) {
      if (!Object.hasOwn(target, name) || !isPlainObject(target[name])) define(target, name, {})
      target = target[name] as Settings
    }
    define(target, at[at.length - 1], value)
    this.sources.set(key(at), variable)
    this.texts.set(key(at), text)
  }

  private copy(values: Settings, source: string, at: SettingPath): Settings {
    const copy: Settings = {}
    this.add(values, source, at, copy)
    return copy
  }
}

export interface ReadSettings {
  settings: Settings
  origin: SettingsOrigin
  /** NODE_ENV, or `development`. */
  environment: string
}

/** The settings from every source, merged, not yet validated (see `checkConfiguration`). */
export function readSettings(schema: JsonSchema, { env = process.env, dir }: ReadOptions = {}): ReadSettings {
  const folder = path.resolve(dir ?? (env.NODE_CONFIG_DIR || 'config'))
  const environment = env.NODE_ENV || DEFAULT_ENVIRONMENT
  const environments = knownEnvironments(folder)
  if (!environments.includes(environment)) {
    refuse(
      'NODE_ENV',
      `"${environment}" has no ${labelOf(path.join(folder, `${environment}.json`))}; allowed: ${environments.join(', ')}`
    )
  }

  const variables = settingVariables(folder)
  const layers = new Layers(variables)
  for (const name of ['default', environment, 'local', `local-${environment}`]) {
    const file = path.join(folder, `${name}.json`)
    const values = readJsonFile(file, labelOf(file))
    if (values) layers.add(values, labelOf(file))
  }
  if (env.NODE_CONFIG) {
    let values: unknown
    try {
      values = JSON.parse(env.NODE_CONFIG)
    } catch {
      values = undefined
    }
    if (!isPlainObject(values)) {
      refuse('NODE_CONFIG', `not a JSON object; allowed: settings as JSON, e.g. NODE_CONFIG='{"port":3031}'`)
    }
    layers.add(values as Settings, 'NODE_CONFIG')
  }
  for (const { path: at, name } of variables) {
    const text = env[name]
    if (text === undefined || text === '') continue
    layers.set(at, environmentValue(schemaAt(schema, at), text), name, text)
  }
  return { settings: layers.settings, origin: layers, environment }
}
