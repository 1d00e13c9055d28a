import { readFileSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { allowedValues, schemaAt, settingsOf } from './schema-text'
import type { JsonSchema, SettingPath } from './schema-text'
import { VARIABLES_FILE, settingVariables } from './sources'

/*
 * The table of every setting in docs/configuration.md, written from the schema (type, allowed
 * values, `description`), config/default.json (defaults), the other config/<environment>.json
 * files (their values) and config/custom-environment-variables.json (variables):
 * `npm run docs:settings` writes it, test/settings-docs.test.ts fails when it is not current.
 */

export const TABLE_BEGIN = '<!-- settings-table:begin (npm run docs:settings writes this table) -->'
export const TABLE_END = '<!-- settings-table:end -->'

type Settings = Record<string, unknown>

interface ConfigFiles {
  defaults: Settings
  environments: { name: string; values: Settings }[]
  variables: Map<string, string>
}

const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Settings

function readConfigFiles(dir: string): ConfigFiles {
  const environments = readdirSync(dir)
    .filter((file) => file.endsWith('.json') && file !== 'default.json' && file !== VARIABLES_FILE)
    .filter((file) => !file.startsWith('local'))
    .sort()
    .map((file) => ({ name: file.slice(0, -'.json'.length), values: readJson(path.join(dir, file)) }))
  const variables = new Map(settingVariables(dir).map(({ path: at, name }) => [at.join('.'), name]))
  return { defaults: readJson(path.join(dir, 'default.json')), environments, variables }
}

const valueAt = (settings: Settings, at: SettingPath) =>
  at.reduce<unknown>(
    (value, key) =>
      value !== null && typeof value === 'object' && Object.hasOwn(value, key)
        ? (value as Settings)[key]
        : undefined,
    settings
  )

const code = (value: unknown) => `\`${typeof value === 'string' ? value : JSON.stringify(value)}\``

/** A cell's text: one line, `|` escaped. */
const cell = (text: string) => text.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|')

function defaultText(files: ConfigFiles, at: SettingPath) {
  const value = valueAt(files.defaults, at)
  const base = value === undefined ? 'unset' : code(value)
  const others = files.environments
    .map(({ name, values }) => ({ name, value: valueAt(values, at) }))
    .filter(({ value }) => value !== undefined)
    .map(({ name, value }) => `${name}: ${code(value)}`)
  return others.length ? `${base} (${others.join('; ')})` : base
}

/**
 * The Markdown table of every setting. Fails, naming them, on settings without a description and
 * on environment variables of settings the schema does not declare.
 */
export function settingsTable(schema: JsonSchema, dir: string): string {
  const files = readConfigFiles(dir)
  const settings = settingsOf(schema)
  const undescribed = settings
    .filter(({ schema: setting }) => !setting.description)
    .map(({ path: at }) => at.join('.'))
  if (undescribed.length) {
    throw new Error(
      `Settings without a description in the schema (src/configuration.ts): ${undescribed.join(', ')}`
    )
  }
  const undeclared = [...files.variables.keys()].filter((at) => !schemaAt(schema, at.split('.')))
  if (undeclared.length) {
    throw new Error(
      `${VARIABLES_FILE} maps variables to settings the schema does not declare: ${undeclared.join(', ')}`
    )
  }
  const rows = settings.map(({ path: at, schema: setting }) => {
    const variable = files.variables.get(at.join('.'))
    return [
      variable ? code(variable) : '–',
      code(at.join('.')),
      defaultText(files, at),
      allowedValues(setting),
      setting.description ?? ''
    ]
  })
  const header = ['Environment variable', 'Setting (config files)', 'Default', 'Allowed', 'What it does']
  return [header, header.map(() => '---'), ...rows]
    .map((row) => `| ${row.map(cell).join(' | ')} |`)
    .join('\n')
}

/** `markdown` with the table between its markers replaced by `table`. */
export function withTable(markdown: string, table: string): string {
  const begin = markdown.indexOf(TABLE_BEGIN)
  const end = markdown.indexOf(TABLE_END)
  if (begin < 0 || end < begin) {
    throw new Error(`The settings table's markers are missing: ${TABLE_BEGIN} … ${TABLE_END}`)
  }
  return `${markdown.slice(0, begin + TABLE_BEGIN.length)}\n${table}\n${markdown.slice(end)}`
}
