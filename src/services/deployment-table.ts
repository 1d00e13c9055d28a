import { Type } from '@feathersjs/typebox'
import { defaulted } from '../declarative/fields'
import { defineTable } from '../declarative/table'

/**
 * The deployment's identity: one random id per database, made by its migration. Instances on the
 * same database read the same id whatever host name they reach it by, and it names what they
 * share on Redis (src/database/deployment.ts). One row only: `onlyRow` is true, and unique.
 */
export const deployment = defineTable({
  table: 'deployment',
  description: "The deployment's id, one row",
  fields: { onlyRow: defaulted(Type.Boolean(), true) },
  createdAt: false,
  unique: [['onlyRow']],
  checks: { only_row_check: 'only_row' }
})
