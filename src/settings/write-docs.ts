// `npm run docs:settings`: writes the table of every setting in docs/configuration.md (see table.ts).
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { configurationSchema } from '../configuration'
import { settingsTable, withTable } from './table'

const file = path.resolve('docs', 'configuration.md')
const before = readFileSync(file, 'utf8')
const after = withTable(before, settingsTable(configurationSchema, path.resolve('config')))
if (after === before) {
  console.log(`${path.relative('.', file)}: the settings table is current`)
} else {
  writeFileSync(file, after)
  console.log(`${path.relative('.', file)}: settings table written`)
}
