import { Type } from '@feathersjs/typebox'

/** The highest version a record can reach (the column is a PostgreSQL integer). */
export const MAX_VERSION = 2 ** 31 - 1

/** A record's version: 1 when created, one more on every change (kept by the database). */
export const versionSchema = () => Type.Integer({ minimum: 1, maximum: MAX_VERSION })

const VERSION_DIGITS = /^[1-9][0-9]{0,9}$/

/** The version a text names (`"3"` → 3), or undefined when it names none: the one parser of versions. */
export function parseVersion(text: unknown): number | undefined {
  const digits = typeof text === 'number' ? String(text) : text
  if (typeof digits !== 'string' || !VERSION_DIGITS.test(digits)) return undefined
  const version = Number(digits)
  return version <= MAX_VERSION ? version : undefined
}
