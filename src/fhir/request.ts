import { BadRequest, NotAcceptable } from '@feathersjs/errors'
import { MAX_OFFSET } from '../declarative/query'

/** What a request under `/fhir` asks for, read from its path alone. */
export type Route =
  | { interaction: 'metadata' }
  | { interaction: 'search-type'; type: string }
  | { interaction: 'read'; type: string; id: string }
  | { interaction: 'history-instance'; type: string; id: string }
  | { interaction: 'vread'; type: string; id: string; version: string }

export const FHIR_PREFIX = '/fhir'

/** A path segment as sent; one that is not valid percent-encoding names nothing. */
function decoded(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment)
  } catch {
    return undefined
  }
}

/**
 * The route of a path under `/fhir` (one trailing slash aside), whatever the method, or undefined
 * for a path this server does not serve. Whether the type offers the interaction is the caller's
 * to check.
 */
export function routeOf(path: string): Route | undefined {
  const rest = path.slice(FHIR_PREFIX.length).replace(/(?<=.)\/$/, '')
  const segments = rest.split('/').slice(1)
  if (rest === '' || segments.some((segment) => segment === '')) return undefined
  const [type, rawId, history, rawVersion, ...more] = segments
  if (more.length > 0) return undefined
  if (segments.length === 1) {
    return type === 'metadata' ? { interaction: 'metadata' } : { interaction: 'search-type', type }
  }
  const id = decoded(rawId)
  if (id === undefined || (history !== undefined && history !== '_history')) return undefined
  if (segments.length === 2) return { interaction: 'read', type, id }
  if (segments.length === 3) return { interaction: 'history-instance', type, id }
  const version = decoded(rawVersion)
  return version === undefined ? undefined : { interaction: 'vread', type, id, version }
}

/** `_format` values that mean JSON (`+` in a query string is a space: `application/fhir json`). */
const JSON_FORMATS = new Set(['json', 'application/json', 'application/fhir+json', 'application/fhir json'])
const JSON_RANGES = new Set(['application/fhir+json', 'application/json', 'application/*', '*/*'])

const mediaType = (value: string) => value.split(';', 1)[0].trim().toLowerCase()

/** Whether one media range of an Accept header is refused outright (`q=0`). */
const refused = (range: string) =>
  range
    .split(';')
    .slice(1)
    .some((parameter) => /^\s*q\s*=\s*0(?:\.0{0,3})?\s*$/i.test(parameter))

/** JSON only: a `_format` or an `Accept` that rules it out is a 406. */
export function negotiate(accept: string | undefined, formats: string[]) {
  const unknown = formats.find((format) => !JSON_FORMATS.has(mediaType(format)))
  if (unknown !== undefined) {
    throw new NotAcceptable('This server answers JSON only: _format may be json or application/fhir+json')
  }
  if (accept === undefined || accept.trim() === '') return
  const ranges = accept.split(',').filter((range) => !refused(range))
  if (!ranges.some((range) => JSON_RANGES.has(mediaType(range)))) {
    throw new NotAcceptable('This server answers application/fhir+json (or application/json) only')
  }
}

/** Whether `Prefer` asks for `handling=strict`: unknown parameters are then a 400. */
export const isStrict = (prefer: string | undefined) =>
  prefer !== undefined &&
  prefer
    .split(/[,;]/)
    .some((preference) => preference.trim().toLowerCase().replace(/\s+/g, '') === 'handling=strict')

export type Given = ReadonlyArray<readonly [name: string, value: string]>

/** The parameters of a query string: every occurrence, in order, `+` read as a space. */
export const parametersOf = (querystring: string): Given => [...new URLSearchParams(querystring)]

export interface KnownParameters {
  /** The names this interaction takes. */
  names: ReadonlySet<string>
  /** Those that may be given more than once. */
  repeatable: ReadonlySet<string>
}

/**
 * The parameters an interaction acts on, in the order given. Empty values are ignored, as FHIR
 * says; so are unknown parameters, unless `strict`: then they are a 400 naming them. A known
 * parameter given twice (but a repeatable one) is a 400.
 */
export function knownParameters(given: Given, known: KnownParameters, strict: boolean): Given {
  const unknown = [...new Set(given.filter(([name]) => !known.names.has(name)).map(([name]) => name))]
  if (strict && unknown.length > 0) {
    throw new BadRequest(`Unknown parameters (Prefer: handling=strict): ${unknown.join(', ')}`)
  }
  const used = given.filter(([name, value]) => known.names.has(name) && value !== '')
  const seen = new Set<string>()
  for (const [name] of used) {
    if (seen.has(name) && !known.repeatable.has(name)) {
      throw new BadRequest(`${name} may be given only once`)
    }
    seen.add(name)
  }
  return used
}

export interface Paging {
  count: number
  offset: number
}

export const DEFAULT_COUNT = 10
export const MAX_COUNT = 100

function wholeNumber(given: Given, name: string): number | undefined {
  const value = given.find(([parameter]) => parameter === name)?.[1]
  if (value === undefined) return undefined
  if (!/^[0-9]+$/.test(value)) {
    throw new BadRequest(`${name} must be a whole number from 0`)
  }
  return Number(value)
}

/** `_count` (default 10, at most 100: a larger one is 100) and `_offset` (default 0). */
export function pagingOf(given: Given): Paging {
  const count = Math.min(wholeNumber(given, '_count') ?? DEFAULT_COUNT, MAX_COUNT)
  const offset = wholeNumber(given, '_offset') ?? 0
  if (offset > MAX_OFFSET) {
    throw new BadRequest(`_offset must be at most ${MAX_OFFSET}`)
  }
  return { count, offset }
}
