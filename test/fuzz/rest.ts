// REST: cases sent as raw HTTP (paths, headers and bytes exactly as generated), and the checks of
// every answer.
import http from 'node:http'
import { CREATE_ROUTES, SERVICE_ROUTES } from '../../src/http/api-aliases'
import { baseUrl } from '../helpers'
import type { Failures } from './failures'
import { excerptOf } from './failures'
import type { Fixtures } from './fixtures'
import { MAX_ERROR_BYTES, REST_TIMEOUT_MS } from './generator'
import type { Random } from './generator'
import type { LeakRule } from './leaks'
import { leaksIn } from './leaks'
import {
  CONTENT_ENCODINGS,
  CONTENT_TYPES,
  HOSTILE_ID_SEGMENTS,
  HOSTILE_PATHS,
  REST_BASES,
  SERVICE_METHOD_OVERRIDES,
  SERVICE_PATHS,
  WHOLE_QUERIES,
  hostileBody,
  queryPieces,
  safeDecode,
  uuidLike
} from './pieces'
import type { Body } from './pieces'

export interface RestCase {
  /** Who calls: 'owner', 'anonymous' or the kind of credentials. */
  who: string
  method: string
  path: string
  headers: Record<string, string>
  body?: Body
  /** Credentials that are known to be invalid: an authenticated route must answer 401. */
  expectUnauthenticated?: boolean
}

export interface RestAnswer {
  status?: number
  headers: http.IncomingHttpHeaders
  text: string
  error?: string
}

export const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })

/** Raw HTTP, so that paths, headers and bytes go on the wire exactly as generated. */
export function send({ method, path, headers, body }: RestCase): Promise<RestAnswer> {
  const { hostname, port } = new URL(baseUrl())
  // Node sends the body of a GET, HEAD, DELETE or OPTIONS without a length unless told: it would
  // arrive as the next request on the connection.
  const withLength = body ? { ...headers, 'content-length': String(body.bytes.length) } : headers
  return new Promise((resolve) => {
    let request: http.ClientRequest
    try {
      request = http.request(
        { host: hostname, port, method, path, headers: withLength, agent, timeout: REST_TIMEOUT_MS },
        (response) => {
          const chunks: Buffer[] = []
          response.on('data', (chunk: Buffer) => chunks.push(chunk))
          response.on('end', () =>
            resolve({
              status: response.statusCode,
              headers: response.headers,
              text: Buffer.concat(chunks).toString()
            })
          )
          response.on('error', (error) => resolve({ headers: {}, text: '', error: error.message }))
        }
      )
    } catch (error) {
      resolve({ headers: {}, text: '', error: `could not send: ${(error as Error).message}` })
      return
    }
    request.on('timeout', () => request.destroy(new Error(`no answer within ${REST_TIMEOUT_MS} ms`)))
    request.on('error', (error) => resolve({ headers: {}, text: '', error: error.message }))
    request.end(body?.bytes)
  })
}

/** Every string the request carried, for telling an echo from a leak. */
export function sentStrings({ path, headers, body }: RestCase): string[] {
  const [pathname, query = ''] = path.split('?')
  const pieces = [
    path,
    pathname,
    safeDecode(pathname),
    ...pathname.split('/').flatMap((segment) => [segment, safeDecode(segment)])
  ]
  for (const pair of query.split('&')) {
    pieces.push(pair, safeDecode(pair), ...pair.split(/[=[\]]/).map(safeDecode))
  }
  pieces.push(...Object.values(headers))
  if (body && body.bytes.length < 200_000) {
    const bodyText = body.bytes.toString()
    pieces.push(bodyText)
    try {
      collectStrings(JSON.parse(bodyText), pieces)
    } catch {
      // not JSON: the text itself is enough
    }
  }
  return pieces
}

export function collectStrings(value: unknown, into: string[]) {
  if (typeof value === 'string') {
    into.push(value)
  } else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      into.push(key)
      collectStrings(item, into)
    }
  }
}

/** The Authorization header of one kind of caller, and how the report names it. */
export function authorizationFor(
  who: (typeof WHO)[number],
  f: Fixtures,
  random: Random
): { label: string; headers: Record<string, string> } {
  const bearer = (label: string, value: string) => ({ label, headers: { authorization: value } })
  switch (who) {
    case 'owner':
      return bearer('owner', `Bearer ${f.owner.token}`)
    case 'invalid':
      return random.pick([
        ...f.invalidTokens.map(({ label, token }) => bearer(label, `Bearer ${token}`)),
        bearer('Bearer alone', 'Bearer'),
        bearer('Bearer and a space', 'Bearer '),
        bearer('Basic', `Basic ${Buffer.from('a:b').toString('base64')}`),
        bearer('two tokens', `Bearer ${f.owner.token} ${f.owner.token}`)
      ])
    case 'odd':
      return random.pick([
        bearer('lower-case bearer', `bearer ${f.owner.token}`),
        bearer('two spaces after Bearer', `Bearer  ${f.owner.token}`),
        ...f.oddTokens.map(({ label, token }) => bearer(label, `Bearer ${token}`))
      ])
    default:
      return { label: 'anonymous', headers: {} }
  }
}

export function extraHeaders(random: Random): Record<string, string> {
  const headers: Record<string, string> = {}
  if (random.chance(0.1)) headers['x-service-method'] = random.pick(SERVICE_METHOD_OVERRIDES)
  if (random.chance(0.1))
    headers['if-match'] = random.pick([
      '"1"',
      '"abc"',
      '*',
      'W/"1"',
      '"99999999999999999999"',
      '"'.repeat(500)
    ])
  if (random.chance(0.05)) headers.accept = random.pick(['text/html', '*/*', 'application/xml', 'nope'])
  if (random.chance(0.05)) headers['x-request-id'] = random.pick(['__proto__', 'a\tb', 'x'.repeat(2000)])
  if (random.chance(0.05))
    headers.origin = random.pick(['https://evil.example', 'null', 'http://localhost:3030'])
  if (random.chance(0.05)) headers['accept-encoding'] = random.pick(['gzip', 'br', 'nope', '*;q=0'])
  if (random.chance(0.05))
    headers['user-agent'] = random.pick(['x'.repeat(8000), '\u00e9\u00ff', '__proto__'])
  if (random.chance(0.05))
    headers['x-forwarded-for'] = random.pick(['1.2.3.4, 5.6.7.8', 'not an address', 'x'.repeat(2000)])
  return headers
}

const SERVICE_AT = new RegExp(`^/(?:api/)?(${SERVICE_PATHS.join('|')})\\b`)

/** The service a route leads to (src/http/api-aliases.ts), for a body that fits it. */
export function serviceOf(path: string) {
  const route = Object.keys(CREATE_ROUTES).find((alias) => path.startsWith(alias))
  if (route) return CREATE_ROUTES[route]
  const serviceRoute = Object.keys(SERVICE_ROUTES).find((alias) => path.startsWith(alias))
  if (serviceRoute) return SERVICE_ROUTES[serviceRoute]
  if (path.startsWith('/api/auth/')) return 'authentication'
  return SERVICE_AT.exec(path)?.[1] ?? 'patients'
}

export function idsFor(service: string, f: Fixtures, method: string) {
  switch (service) {
    case 'patients':
      return [...f.patients, ...f.otherPatients]
    case 'doctors':
      return [...f.doctors, ...f.otherDoctors]
    case 'mappings':
      return [...f.mappings, ...f.otherMappings, ...f.patients]
    case 'users':
      // The owner must stay: the rest of the run uses the owner's token.
      return method === 'DELETE' ? [f.other.id] : [f.owner.id, f.other.id]
    case 'sessions':
      // Never the session of the owner's token: the rest of the run uses it.
      return [...f.spareSessions, ...f.otherSessions]
    default:
      return [f.owner.id]
  }
}

export function servicePath(random: Random, f: Fixtures, method: string) {
  const base = random.pick(REST_BASES)
  const service = serviceOf(base)
  if (random.chance(0.35)) return base
  const ids = idsFor(service, f, method)
  const id = random.chance(0.5)
    ? random.pick(ids)
    : random.chance(0.7)
      ? random.pick(HOSTILE_ID_SEGMENTS)
      : random.pick(uuidLike(random.pick(ids)))
  const tail = random.chance(0.08) ? random.pick(['/history', '/history/1', '/history/__proto__', '/x']) : ''
  return `${base}/${id}${tail}`
}

export const METHODS = [
  'GET',
  'GET',
  'GET',
  'POST',
  'POST',
  'PUT',
  'PATCH',
  'PATCH',
  'DELETE',
  'DELETE',
  'HEAD',
  'OPTIONS',
  'TRACE',
  'PROPFIND'
]
export const WHO = [
  'owner',
  'owner',
  'owner',
  'owner',
  'anonymous',
  'anonymous',
  'invalid',
  'invalid',
  'odd'
] as const

export const logsOut = (method: string, path: string) =>
  (method === 'DELETE' && /^\/+authentication\b/.test(path)) ||
  (method === 'POST' && /^\/api\/auth\/logout\b/.test(path))

export function randomRestCase(random: Random, f: Fixtures): RestCase {
  const method = random.pick(METHODS)
  let path = random.chance(0.2) ? random.pick(HOSTILE_PATHS) : servicePath(random, f, method)
  if (random.chance(0.08)) {
    path += random.pick(WHOLE_QUERIES)
  } else if (random.chance(0.5)) {
    path += `${path.includes('?') ? '&' : '?'}${random.some(queryPieces(f), 3).join('&')}`
  }
  const who = random.pick(WHO)
  // A logout with the owner's token (as sent, or oddly written) would be a success that ends the
  // owner's session for the rest of the run.
  const ownersToken = who === 'owner' || who === 'odd'
  const caller = authorizationFor(ownersToken && logsOut(method, path) ? 'anonymous' : who, f, random)
  const headers: Record<string, string> = {
    accept: 'application/json',
    ...caller.headers,
    ...extraHeaders(random)
  }
  const withBody = ['POST', 'PUT', 'PATCH'].includes(method) || random.chance(0.05)
  const body = withBody ? hostileBody(serviceOf(path), f, random) : undefined
  if (body) {
    headers['content-type'] = random.chance(0.8) ? 'application/json' : random.pick(CONTENT_TYPES)
    if (!headers['content-type']) delete headers['content-type']
    if (body.label.includes('gzip')) headers['content-encoding'] = 'gzip'
    else if (random.chance(0.1)) headers['content-encoding'] = random.pick(CONTENT_ENCODINGS)
  }
  return { who: caller.label, method, path, headers, body }
}

/** Each listed piece at least once, whatever the seed. */

export const header = (headers: http.IncomingHttpHeaders, name: string) => String(headers[name] ?? '')

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** The request as the report names it: caller, method, path, body shape and unusual headers. */
export function describeRequest({ who, method, path, body, headers }: RestCase) {
  const encoding = headers['content-encoding'] ? ` [content-encoding: ${headers['content-encoding']}]` : ''
  const type =
    headers['content-type'] && headers['content-type'] !== 'application/json'
      ? ` [content-type: ${headers['content-type']}]`
      : ''
  return `${who}: ${method} ${path}${body ? ` <${body.label}>` : ''}${encoding}${type}`
}

export function checkRestAnswer(
  request: RestCase,
  answer: RestAnswer,
  rules: LeakRule[],
  keep: Set<string>,
  failures: Failures
) {
  const where = describeRequest(request)
  failures.checked++
  if (answer.status === undefined) {
    failures.add('no answer', where, 'none', answer.error ?? '')
    return
  }
  const status = String(answer.status)
  if (answer.status >= 500) {
    failures.add('5xx', where, status, excerptOf(answer.text))
  }
  if (request.expectUnauthenticated && answer.status !== 401) {
    failures.add('invalid token not answered 401', where, status, excerptOf(answer.text))
  }
  for (const { kind, excerpt } of leaksIn(answer.text, sentStrings(request), rules, keep)) {
    failures.add(`leak: ${kind}`, where, status, excerpt)
  }
  if (
    header(answer.headers, 'x-content-type-options') !== 'nosniff' ||
    !header(answer.headers, 'content-security-policy')
  ) {
    failures.add('security headers missing', where, status, excerptOf(answer.text))
  }
  const body = parseJson(answer.text) as { code?: unknown; name?: unknown; message?: unknown } | undefined
  if (answer.status >= 400 && Buffer.byteLength(answer.text) > MAX_ERROR_BYTES) {
    failures.add(
      'an oversized error answer',
      where,
      status,
      `${Buffer.byteLength(answer.text)} bytes: ${excerptOf(answer.text)}`
    )
  }
  if (answer.status < 300 && malformedPage(body)) {
    failures.add('a page with impossible numbers', where, status, excerptOf(answer.text))
  }
  if (
    answer.status >= 400 &&
    request.method !== 'HEAD' &&
    !(body?.code === answer.status && typeof body.name === 'string' && typeof body.message === 'string')
  ) {
    failures.add('not a Feathers JSON error', where, status, excerptOf(answer.text))
  }
}

/**
 * A page (`{ total, limit, skip, data }`) whose numbers are not what any query may ask for: the
 * contract caps `$limit` at 100, and `skip` is where the page starts.
 */
export function malformedPage(body: unknown): boolean {
  const page = body as { total?: unknown; limit?: unknown; skip?: unknown; data?: unknown } | undefined
  if (!page || typeof page !== 'object' || !Array.isArray(page.data) || !('total' in page)) {
    return false
  }
  const { total, limit, skip } = page
  const count = (value: unknown, max = Number.MAX_SAFE_INTEGER) =>
    Number.isInteger(value) && (value as number) >= 0 && (value as number) <= max
  return !(count(total) && count(limit, 100) && count(skip))
}
