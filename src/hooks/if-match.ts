import { BadRequest } from '@feathersjs/errors'
import type { HookContext, NextFunction } from '../declarations'
import { MAX_VERSION } from '../services/resource'

/**
 * Conditional writes of records that carry a version: the versions a write may change the record
 * at, from `If-Match` over REST or `$ifMatch` in the query on any transport (the Feathers client
 * over Socket.io has no headers per call), into `params.ifMatch`. RecordService adds the condition
 * to the write statement itself, so nothing can change the record between the check and the
 * write, and answers 412 when the record is there for the caller but at another version.
 *
 * Malformed input is a 400, not a 412: a value that cannot name a version is the client's mistake,
 * and a client that answers a 412 by reading the record again and retrying would retry forever.
 */

// ETags are the version in quotes: `"3"`. At most this many in one If-Match, and this long.
const MAX_TAGS = 20
const MAX_HEADER_LENGTH = 400
const QUOTED_VERSION = /^"([1-9][0-9]{0,9})"$/

const asVersion = (text: string) => {
  const version = Number(text)
  return version <= MAX_VERSION ? version : undefined
}

/** `*` (any version: no condition) or a list of ETags (`"3"`, `"3", "4"`); anything else is a 400. */
export function versionsOfIfMatch(header: string): number[] | undefined {
  const value = header.trim()
  if (value === '*') return undefined
  const tags = value.length <= MAX_HEADER_LENGTH ? value.split(',').map((tag) => tag.trim()) : []
  const versions = tags
    .map((tag) => QUOTED_VERSION.exec(tag)?.[1])
    .map((digits) => digits && asVersion(digits))
  if (tags.length === 0 || tags.length > MAX_TAGS || versions.some((version) => version === undefined)) {
    throw new BadRequest('If-Match must be "*" or the ETags of versions, such as "3"', {
      header: 'If-Match'
    })
  }
  return [...new Set(versions as number[])]
}

/** `$ifMatch=3` (a string over REST, a number over a socket). */
function versionOfQuery(value: unknown): number[] {
  const text = typeof value === 'number' ? String(value) : value
  const version = typeof text === 'string' && /^[1-9][0-9]{0,9}$/.test(text) ? asVersion(text) : undefined
  if (version === undefined) {
    throw new BadRequest('$ifMatch must be a version: an integer from 1', { fields: ['$ifMatch'] })
  }
  return [version]
}

/**
 * Around hook of `update`, `patch` and `remove` of a resource with history. `$ifMatch` leaves the
 * query here, before it is validated (on any other method it stays, and is a 400 as any unknown
 * parameter). `If-Match` is read from REST requests only: a socket's handshake headers are not a
 * call's.
 */
export const ifMatch = () => async (context: HookContext, next: NextFunction) => {
  const { params } = context
  const header = params.provider === 'rest' ? params.headers?.['if-match'] : undefined
  const query = params.query
  const hasQuery = query !== undefined && query !== null && Object.hasOwn(query, '$ifMatch')
  if (hasQuery) {
    const { $ifMatch: _given, ...rest } = query
    params.query = rest
  }
  if (typeof header === 'string' && hasQuery) {
    throw new BadRequest('Name the version once: in If-Match or in $ifMatch', { fields: ['$ifMatch'] })
  }
  const versions =
    typeof header === 'string'
      ? versionsOfIfMatch(header)
      : hasQuery
        ? versionOfQuery(query.$ifMatch)
        : undefined
  if (versions) params.ifMatch = versions
  await next()
}

/** After hook: a REST response holding one record carries its version as `ETag: "<version>"`. */
export const etag = () => async (context: HookContext) => {
  const version = (context.result as { version?: unknown } | undefined)?.version
  if (typeof version === 'number') {
    context.http = { ...context.http, headers: { ...context.http?.headers, ETag: `"${version}"` } }
  }
}
