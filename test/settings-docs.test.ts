import assert from 'node:assert/strict'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Type } from '@feathersjs/typebox'
import { configurationSchema } from '../src/configuration'
import { TABLE_BEGIN, TABLE_END, settingsTable, withTable } from '../src/settings/table'

const ROOT = path.join(__dirname, '..')
const DOC = path.join(ROOT, 'docs', 'configuration.md')

describe('the settings table (docs/configuration.md)', () => {
  it('is current: every setting of the schema, with its variable, default and allowed values (npm run docs:settings)', () => {
    const doc = readFileSync(DOC, 'utf8')
    const current = withTable(doc, settingsTable(configurationSchema, path.join(ROOT, 'config')))
    assert.ok(
      doc === current,
      'docs/configuration.md does not show the settings as they are: run `npm run docs:settings` and commit the result'
    )
  })

  it('has a row for each setting and each environment variable', () => {
    const doc = readFileSync(DOC, 'utf8')
    const table = doc.slice(doc.indexOf(TABLE_BEGIN), doc.indexOf(TABLE_END))
    const mapping = readFileSync(path.join(ROOT, 'config', 'custom-environment-variables.json'), 'utf8')
    const variables = [...mapping.matchAll(/"([A-Z][A-Z0-9_]*)"/g)].map(([, name]) => name)
    assert.ok(variables.length >= 20)
    for (const name of variables) {
      assert.match(table, new RegExp(`^\\| \`${name}\` \\| `, 'm'), name)
    }
    for (const setting of [
      'port',
      'http.trustProxy',
      'database.timeouts.healthMs',
      'authentication.secret'
    ]) {
      assert.match(
        table,
        new RegExp(`^\\| [^|]+ \\| \`${setting.replace(/\./g, '\\.')}\` \\| `, 'm'),
        setting
      )
    }
  })

  describe('cannot be written for a setting that does not explain itself', () => {
    let dir: string
    beforeEach(() => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'healthcare-config-'))
      cpSync(path.join(ROOT, 'config'), dir, { recursive: true })
    })
    afterEach(() => rmSync(dir, { recursive: true, force: true }))

    const withSetting = (setting: ReturnType<typeof Type.Integer>) =>
      Type.Object({ ...configurationSchema.properties, sockets: Type.Object({ max: setting }) })

    it('a setting without a description', () => {
      assert.throws(
        () => settingsTable(withSetting(Type.Integer({ minimum: 1 })), dir),
        /^Error: Settings without a description in the schema \(src\/configuration\.ts\): sockets\.max$/
      )
    })

    it('a variable for a setting the schema does not declare', () => {
      const file = path.join(dir, 'custom-environment-variables.json')
      writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), colour: 'COLOUR' }))
      assert.throws(
        () => settingsTable(configurationSchema, dir),
        /maps variables to settings the schema does not declare: colour$/
      )
    })

    it('a described setting gets its row: variable, default, allowed values, description', () => {
      const file = path.join(dir, 'custom-environment-variables.json')
      writeFileSync(
        file,
        JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), sockets: { max: 'SOCKETS_MAX' } })
      )
      const defaults = path.join(dir, 'default.json')
      writeFileSync(
        defaults,
        JSON.stringify({ ...JSON.parse(readFileSync(defaults, 'utf8')), sockets: { max: 500 } })
      )
      const table = settingsTable(
        withSetting(Type.Integer({ minimum: 1, description: 'At most | this many.' })),
        dir
      )
      assert.match(
        table,
        /^\| `SOCKETS_MAX` \| `sockets\.max` \| `500` \| a whole number, at least 1 \| At most \\\| this many\. \|$/m
      )
    })
  })
})
