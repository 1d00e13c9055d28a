import { BadRequest } from '@feathersjs/errors'
import { isUuid } from '../declarative/fields'
import { MAX_LIST_ITEMS } from '../declarative/query'
import { boundsOf, parseDateValue } from './dates'
import { MATCHES_NOTHING } from './vocabulary'
import type { FieldQuery, SearchParameter, ValueQuery } from './vocabulary'

/**
 * The search parameters a mapping declares, each on one of the record's own fields and made into
 * the service's own query syntax, so a search runs the service's `find` with its scope and audit.
 */

/** `%`, `_` and the escape character itself are plain characters in the pattern. */
const escapeLike = (text: string) => text.replace(/[\\%_]/g, (character) => `\\${character}`)

// The service's `$ilike` takes a pattern of at most this many characters (src/schemas/common.ts).
const MAX_PATTERN = 200

function pattern(name: string, text: string) {
  if (text.length > MAX_PATTERN) {
    throw new BadRequest(`${name} is too long: at most ${MAX_PATTERN} characters can be searched`)
  }
  return text
}

/** `_id`: an id or a comma-separated list of them; one that is not a UUID matches nothing. */
export const ids = (): SearchParameter<'id'> => ({
  type: 'token',
  field: 'id',
  description: 'The id, or a comma-separated list of ids',
  query(value, name) {
    const listed = value.split(',')
    if (listed.length > MAX_LIST_ITEMS) {
      throw new BadRequest(`${name} names at most ${MAX_LIST_ITEMS} ids`)
    }
    const uuids = [...new Set(listed.filter(isUuid).map((id) => id.toLowerCase()))]
    return uuids.length === 0 ? MATCHES_NOTHING : { id: { $in: uuids } }
  }
})

/**
 * A reference to a record of `type` kept in `field`: `<id>` or `<type>/<id>`. A reference to
 * another type, or an id that is not a UUID, matches nothing.
 */
export const reference = <const F extends string>(type: string, field: F): SearchParameter<F> => ({
  type: 'reference',
  field,
  description: `\`<id>\` or \`${type}/<id>\``,
  query(value) {
    const slash = value.lastIndexOf('/')
    const id = slash === -1 ? value : value.slice(slash + 1)
    if ((slash !== -1 && value.slice(0, slash) !== type) || !isUuid(id)) {
      return MATCHES_NOTHING
    }
    return { [field]: { $in: [id.toLowerCase()] } }
  }
})

/** A prefix of the text in `field`, ignoring case (`%` and `_` are plain characters). */
export const prefix = <const F extends string>(field: F): SearchParameter<F> => ({
  type: 'string',
  field,
  description: 'A prefix of the text, ignoring case',
  query(value, name) {
    return { [field]: { $ilike: pattern(name, `${escapeLike(value)}%`) } }
  }
})

/** The whole text in `field`, ignoring case. */
export const wholeIgnoringCase = <const F extends string>(field: F): SearchParameter<F> => ({
  type: 'token',
  field,
  description: 'The whole text, ignoring case',
  query(value, name) {
    return { [field]: { $ilike: pattern(name, escapeLike(value)) } }
  }
})

// The instants PostgreSQL and the service's date-time format both take: years 0001 to 9999.
const FIRST_INSTANT = Date.parse('0001-01-01T00:00:00Z')
const AFTER_LAST_INSTANT = Date.parse('+010000-01-01T00:00:00Z')

/**
 * An instant in `field`, by a date or a date-time and a prefix (see dates.ts); may be given more
 * than once, each narrowing the range.
 */
export const date = <const F extends string>(field: F): SearchParameter<F> => ({
  type: 'date',
  field,
  repeatable: true,
  description:
    '`eq` (the default), `ge`, `gt`, `le` or `lt`, then a day (`2026-12-01`, UTC) or a date-time with its zone to the second or millisecond (`2026-12-01T10:00:00Z`); may be given twice for a range',
  query(value, name): ValueQuery {
    const parsed = parseDateValue(value)
    if (!parsed) {
      throw new BadRequest(
        `${name} must be a prefix (eq, ge, gt, le, lt) and a date (YYYY-MM-DD) or a date-time with a zone (YYYY-MM-DDThh:mm:ss[.sss]Z)`
      )
    }
    const { from, before } = boundsOf(parsed)
    if (
      (from !== undefined && from >= AFTER_LAST_INSTANT) ||
      (before !== undefined && before <= FIRST_INSTANT)
    ) {
      return MATCHES_NOTHING
    }
    const condition: FieldQuery = {}
    if (from !== undefined && from > FIRST_INSTANT) condition.$gte = new Date(from).toISOString()
    if (before !== undefined && before < AFTER_LAST_INSTANT) condition.$lt = new Date(before).toISOString()
    // A bound past every instant there can be takes nothing away.
    return Object.keys(condition).length === 0 ? {} : { [field]: condition }
  }
})
