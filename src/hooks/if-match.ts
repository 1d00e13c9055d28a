import { BadRequest } from '@feathersjs/errors'
import { PreconditionFailed } from '../errors'
import type { HookContext, NextFunction } from '../declarations'
import { parseVersion } from '../declarative/versions'

/**
 * Conditional requests on records that carry a version: the versions a write may change the record
 * at, from `If-Match` over REST or `$ifMatch` in the query on any transport (the Feathers client
 * over Socket.io has no headers per call), into `params.ifMatch`, and those it may not, from
 * `If-None-Match` over REST, into `params.ifNoneMatch`. RecordService adds the conditions to the
 * write statement itself, so nothing can change the record between the check and the write, and
 * answers 412 when the record is there for the caller but the condition does not hold. A get whose
 * `If-None-Match` names the record's version is a 304.
 *
 * Malformed input is a 400, not a 412: a value that cannot name a version is the client's mistake,
 * and a client that answers a 412 by reading the record again and retrying would retry forever.
 */

// ETags are the version in quotes: `"3"`. At most this many in one If-Match, and this long.
const MAX_TAGS = 20
const MAX_HEADER_LENGTH = 400
const QUOTED_VERSION = /^"([^"]*)"$/
// If-None-Match compares weakly: `W/"3"` names version 3 as well.
const WEAK_OR_QUOTED_VERSION = /^(?:W\/)?"([^"]*)"$/

/** `*` or a list of ETags (`"3"`, `"3", "4"`) in `header`; anything else is a 400. */
function versionsOfHeader(name: string, value: string, tag: RegExp): number[] | '*' {
  const text = value.trim()
  if (text === '*') return '*'
  const tags = text.length <= MAX_HEADER_LENGTH ? text.split(',').map((item) => item.trim()) : []
  const versions = tags.map((item) => tag.exec(item)?.[1]).map(parseVersion)
  if (tags.length === 0 || tags.length > MAX_TAGS || versions.some((version) => version === undefined)) {
    throw new BadRequest(`${name} must be "*" or the ETags of versions, such as "3"`, { header: name })
  }
  return [...new Set(versions as number[])]
}

/** The versions `If-Match` allows, or none for `*` (any version: no condition). */
export function versionsOfIfMatch(header: string): number[] | undefined {
  const versions = versionsOfHeader('If-Match', header, QUOTED_VERSION)
  return versions === '*' ? undefined : versions
}

/** The versions `If-None-Match` rules out; `*` rules out every version, so any record there. */
export const versionsOfIfNoneMatch = (header: string) =>
  versionsOfHeader('If-None-Match', header, WEAK_OR_QUOTED_VERSION)

/** `$ifMatch=3` (a string over REST, a number over a socket). */
function versionOfQuery(value: unknown): number[] {
  const version = parseVersion(value)
  if (version === undefined) {
    throw new BadRequest('$ifMatch must be a version: an integer from 1', { fields: ['$ifMatch'] })
  }
  return [version]
}

/** A REST request's header, once however often it was sent (Node joins repeated ones with commas). */
const restHeader = (context: HookContext, name: string) => {
  const { provider, headers } = context.params
  const value = provider === 'rest' ? headers?.[name] : undefined
  return typeof value === 'string' ? value : undefined
}

/**
 * Around hook of `get` of a resource with history: `If-None-Match`, for the etag hook's 304. A
 * read is never refused over it: a value that names none of our versions (a cache's own tag, say)
 * simply does not match, and the record is answered (RFC 9110).
 */
export const ifNoneMatchOfGet = () => async (context: HookContext, next: NextFunction) => {
  const header = restHeader(context, 'if-none-match')
  if (header !== undefined) {
    try {
      context.params.ifNoneMatch = versionsOfIfNoneMatch(header)
    } catch {
      // no version named: no condition
    }
  }
  await next()
}

/**
 * Around hook of `get` of a resource with history: `If-Match` holds a read to the versions it
 * names, as it holds a write (RFC 9110 §13.1.1): the record at another version is a 412, a value
 * that names no version a 400, `*` any version.
 */
export const ifMatchOfGet = () => async (context: HookContext, next: NextFunction) => {
  const header = restHeader(context, 'if-match')
  const versions = header === undefined ? undefined : versionsOfIfMatch(header)
  await next()
  const version = (context.result as { version?: unknown } | undefined)?.version
  if (versions && typeof version === 'number' && !versions.includes(version)) {
    throw new PreconditionFailed(`The record is at version ${version}, not ${versions.join(' or ')}`)
  }
}

/**
 * Around hook of `update`, `patch` and `remove` of a resource with history. `$ifMatch` leaves the
 * query here, before it is validated (on any other method it stays, and is a 400 as any unknown
 * parameter). `If-Match` and `If-None-Match` are read from REST requests only: a socket's
 * handshake headers are not a call's.
 */
export const ifMatch = () => async (context: HookContext, next: NextFunction) => {
  const { params } = context
  const header = restHeader(context, 'if-match')
  const noneMatch = restHeader(context, 'if-none-match')
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
  if (noneMatch !== undefined) params.ifNoneMatch = versionsOfIfNoneMatch(noneMatch)
  await next()
}

/**
 * After hook: a REST response holding one record carries its version as `ETag: "<version>"`; a
 * get whose `If-None-Match` names that version (or `*`) is a 304 without a body.
 */
export const etag = () => async (context: HookContext) => {
  const version = (context.result as { version?: unknown } | undefined)?.version
  if (typeof version !== 'number') return
  const { ifNoneMatch } = context.params
  const notModified =
    context.method === 'get' &&
    ifNoneMatch !== undefined &&
    (ifNoneMatch === '*' || ifNoneMatch.includes(version))
  context.http = {
    ...context.http,
    ...(notModified ? { status: 304 } : {}),
    headers: { ...context.http?.headers, ETag: `"${version}"` }
  }
}
