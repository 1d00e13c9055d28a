import { Type } from '@feathersjs/typebox'

export const uuid = () => Type.String({ format: 'uuid' })

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export const isUuid = (value: unknown): value is string => typeof value === 'string' && UUID.test(value)

/** The longest email address there can be (RFC 5321's path limit less the angle brackets). */
export const MAX_EMAIL_LENGTH = 254

/**
 * The one form of an email address that is stored, looked up and throttled: trimmed, lower-cased.
 * Login lookup and login throttle must key on the same string, or padding would get round the count.
 */
export const normalisedEmail = (email: string) => email.trim().toLowerCase()

export const timestamp = () => Type.String({ format: 'date-time' })

/** One of a few strings: stored as text with a CHECK of the values. */
export const oneOf = <const V extends readonly string[]>(values: V) =>
  Type.Unsafe<V[number]>({ type: 'string', enum: [...values] })

/** Text with at least one non-space character. */
export const text = (maxLength: number) => Type.String({ minLength: 1, maxLength, pattern: '\\S' })

/** A person's name and age in whole years, within `ages`. */
export const person = (ages: { minimum: number; maximum: number }) => ({
  name: text(200),
  age: Type.Integer(ages)
})

/** `$ilike` for name searches: a bounded pattern string. */
export const ilike = () => ({ $ilike: Type.String({ maxLength: 200 }) })

/** The data resolver for `updatedAt` on update and patch. */
export const now = async () => new Date().toISOString()
