// A fuzz test of our own: generated hostile paths, ids, query strings, bodies and headers over REST,
// and raw Socket.io calls (hostile events, paths, ids, argument lists, queries), from a seeded
// generator. Every answer must arrive, be below 500, show no stack, SQL, schema name or file path
// and (REST) carry the security headers; a write that was refused must change no row.
//
// Deterministic for a seed: FUZZ_SEED=<integer> replays a run (the seed is in every failure
// message); FUZZ_TRACE=1 prints every call and its answer. All failures are collected and reported
// once, deduplicated and grouped by answer, at the end of each test. To run this file alone (a file
// argument adds to the spec of .mocharc.json instead of replacing it):
//   DATABASE_URL=… NODE_ENV=test npx mocha --no-config --require tsx/cjs --require test/setup.ts test/fuzz.test.ts
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import http from 'node:http'
import { gzipSync } from 'node:zlib'
import { rawSocket } from './sockets'
import type { Socket } from 'socket.io-client'
import { testContext } from './setup'
import {
  baseUrl,
  created,
  http as request,
  logIn,
  signUp,
  testDatabase,
  validDoctor,
  validPatient
} from './helpers'
import type { TestUser } from './helpers'

// ------------------------------------------------------------------------------------------------
// The generator

const DEFAULT_SEED = 20261130

function seedFromEnvironment() {
  const text = process.env.FUZZ_SEED
  if (!text) {
    return DEFAULT_SEED
  }
  const seed = Number(text)
  if (!Number.isSafeInteger(seed)) {
    throw new Error(`FUZZ_SEED must be an integer, not '${text}'`)
  }
  return seed >>> 0
}

const SEED = seedFromEnvironment()
const REST_RANDOM_CASES = 300
const SOCKET_RANDOM_CASES = 240
const ACK_TIMEOUT_MS = 3000
const REST_TIMEOUT_MS = 10_000
/**
 * An error names what was wrong, but a few bytes of input must not buy megabytes of answer (ajv with
 * allErrors lists every unknown key): no error answer may be larger than this.
 */
const MAX_ERROR_BYTES = 64 * 1024
/** FUZZ_TRACE=1 prints every call and the start of its answer. */
const TRACE = process.env.FUZZ_TRACE === '1'

/** mulberry32: small, fast and good enough to pick hostile pieces reproducibly. */
class Random {
  private state: number

  constructor(seed: number) {
    this.state = seed >>> 0
  }

  next() {
    this.state = (this.state + 0x6d2b79f5) >>> 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  int(below: number) {
    return Math.floor(this.next() * below)
  }

  chance(probability: number) {
    return this.next() < probability
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]
  }

  /** 1 to `max` picks. */
  some<T>(items: readonly T[], max: number): T[] {
    return Array.from({ length: 1 + this.int(max) }, () => this.pick(items))
  }
}

const range = (length: number) => Array.from({ length }, (_, index) => index)

// ------------------------------------------------------------------------------------------------
// What must never reach a client

interface SchemaNames {
  /** Tables, columns, constraints, indexes, functions, triggers with an underscore: never API words. */
  snakeCase: string[]
  /** Every table and column name. */
  identifiers: string[]
}

/** The schema's own names, read from the database the app uses (so new tables are covered too). */
async function readSchemaNames(): Promise<SchemaNames> {
  const db = testDatabase()
  const names = async (sql: string) =>
    ((await db.raw(sql)).rows as Array<{ name: string }>).map(({ name }) => name)
  const [tables, columns, others] = await Promise.all([
    names(`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()`),
    names(`SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema()`),
    names(`SELECT conname AS name FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = current_schema()
           UNION SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()
           UNION SELECT proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = current_schema()
           UNION SELECT tgname FROM pg_trigger WHERE NOT tgisinternal`)
  ])
  const identifiers = [...new Set([...tables, ...columns])].map((name) => name.toLowerCase())
  const snakeCase = [...new Set([...identifiers, ...others.map((name) => name.toLowerCase())])].filter(
    (name) => name.includes('_')
  )
  return { snakeCase, identifiers }
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

interface LeakRule {
  kind: string
  pattern: RegExp
}

/**
 * What counts as a leak, matched on the lower-cased JSON text of an answer after everything the
 * request itself sent has been cut out of it (an error may echo the caller's own input, e.g. "No
 * record found for id '…'"; that is not a leak):
 * - a stack: a `"stack":` key, an escaped newline followed by `at `, or `at … (/file:1:2)`;
 * - SQL: select…from, insert into, update … set, delete from, with … as (, returning, `$1`-style
 *   placeholders, and PostgreSQL's or Knex's own error phrases;
 * - a schema name: any table, column, constraint, index, function or trigger name that contains an
 *   underscore (`user_id`, `created_at`, `patient_counts`, `mappings_doctor_id_foreign`): the API
 *   speaks camelCase, so it never has a reason to say one; any table or column name in double
 *   quotes (`"patients"`, `"age"`), the way PostgreSQL and Knex quote identifiers; and PostgreSQL's
 *   `relation "`, `column "`, `constraint "`. A bare single word such as `patients` or `age` is NOT a
 *   leak: it is also a service or an API field name ("Service 'patients' not found", "must have
 *   required property 'age'");
 * - a file path: /node_modules/, /src/, a `.ts:`/`.js:` position, /work/, /home/, /usr/, node:internal;
 * - a password: a `"password":` key or an argon2 hash.
 */
function leakRules({ snakeCase, identifiers }: SchemaNames): LeakRule[] {
  const words = (names: string[]) => names.map(escapeRegExp).join('|')
  return [
    {
      kind: 'stack',
      pattern: /"stack"\s*:|\\n\s*at\s|\bat\s+(?:\S+\s+)?\(?(?:\/|file:|node:)[^\s()"']*:\d+:\d+/
    },
    {
      kind: 'SQL',
      pattern:
        /\bselect\s[\s\S]{0,300}?\sfrom\s|\binsert\s+into\s|\bupdate\s+\S+\s+set\s|\bdelete\s+from\s|\bwith\s+\S+\s+as\s*\(|\breturning\s|(?<![\w$])\$\d+\b|syntax error at or near|invalid input syntax|violates [\w\s-]*constraint|duplicate key value|bind message|undefined binding|\bknex\b|operator does not exist|\bsqlstate\b/
    },
    { kind: 'schema name', pattern: new RegExp(`\\b(?:${words(snakeCase)})\\b`) },
    { kind: 'schema name', pattern: new RegExp(`\\\\"(?:${words(identifiers)})\\\\"`) },
    { kind: 'schema name', pattern: /\b(?:relation|column|constraint|table|index|schema)\s+\\"/ },
    {
      kind: 'file path',
      pattern:
        /\/node_modules\/|\/src\/|\.(?:ts|js|mjs|cjs):\d+|\/work\/|\/home\/|\/usr\/|node:internal|file:\/\//
    },
    { kind: 'password', pattern: /"password"\s*:|\$argon2/ },
    // A file of the project served by mistake (package.json, config/*.json).
    { kind: 'file content', pattern: /"devdependencies"\s*:|"authentication"\s*:\s*\{\s*"entity"/ }
  ]
}

/** What could make (part of) a leak: anything else the request sent is harmless when echoed. */
const LEAK_LIKE =
  /[_"'/\\$:()]|select|insert|update|delete|from|with|returning|stack|\bat\b|knex|relation|column|constraint/

/**
 * Cuts what the request sent out of the answer's text, as is and JSON-escaped: pieces of 4
 * characters or more that could make a leak (searching for every one of 20 000 query keys in a
 * megabyte-sized answer would take minutes).
 */
function withoutEcho(text: string, sent: Iterable<string>, keep: Set<string>) {
  let result = text.toLowerCase()
  const pieces = [...new Set([...sent].map((piece) => piece.toLowerCase()))]
    .filter((piece) => piece.length >= 4 && !keep.has(piece) && LEAK_LIKE.test(piece))
    .sort((a, b) => b.length - a.length)
  for (const piece of pieces) {
    for (const form of new Set([piece, JSON.stringify(piece).slice(1, -1)])) {
      result = result.split(form).join('«echo»')
    }
  }
  return result
}

/** Every rule the answer's text breaks, with the spot where it does. */
function leaksIn(text: string, sent: Iterable<string>, rules: LeakRule[], keep: Set<string>) {
  const cleaned = withoutEcho(text, sent, keep)
  return rules.flatMap(({ kind, pattern }) => {
    const match = pattern.exec(cleaned)
    return match ? [{ kind, excerpt: excerptOf(cleaned, match.index) }] : []
  })
}

// ------------------------------------------------------------------------------------------------
// Failures, collected and deduplicated

interface Failure {
  kind: string
  where: string
  status: string
  excerpt: string
  count: number
}

const excerptOf = (text: string, around?: number) => {
  const start = around === undefined ? 0 : Math.max(0, around - 60)
  const flat = text.replace(/\s+/g, ' ')
  return (start > 0 ? '…' : '') + flat.slice(start, start + 160) + (flat.length > start + 160 ? '…' : '')
}

/** UUIDs and long runs folded, so one hole found through many ids is one line. */
const shapeOf = (where: string) =>
  where
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, ':uuid')
    .replace(/(.)\1{15,}/g, '$1…')
    .slice(0, 140)

/** How many places a report lists under one answer (FUZZ_TRACE=1 prints them all). */
const PLACES_PER_ANSWER = TRACE ? Infinity : 12

class Failures {
  private byKey = new Map<string, Failure>()
  checked = 0

  add(kind: string, where: string, status: string, excerpt: string) {
    const key = `${kind}|${shapeOf(where)}|${status}`
    const known = this.byKey.get(key)
    if (known) {
      known.count++
    } else {
      this.byKey.set(key, { kind, where: shapeOf(where), status, excerpt, count: 1 })
    }
  }

  get list() {
    return [...this.byKey.values()].sort(
      (a, b) => a.kind.localeCompare(b.kind) || a.where.localeCompare(b.where)
    )
  }

  /** One paragraph per kind, status and answer; under it every place that gave that answer. */
  report(what: string) {
    const groups = new Map<string, Failure[]>()
    for (const failure of this.list) {
      const key = `[${failure.kind}] ${failure.status ? `${failure.status}: ` : ''}${failure.excerpt}`
      groups.set(key, [...(groups.get(key) ?? []), failure])
    }
    const paragraphs = [...groups].map(([key, failures]) => {
      const places = failures
        .slice(0, PLACES_PER_ANSWER)
        .map(({ where, count }) => `      ${where}${count > 1 ? ` (×${count})` : ''}`)
      const more =
        failures.length > PLACES_PER_ANSWER ? [`      … and ${failures.length - PLACES_PER_ANSWER} more`] : []
      return `  ${key}\n${[...places, ...more].join('\n')}`
    })
    return `FUZZ_SEED=${SEED}: ${this.byKey.size} distinct failures in ${this.checked} ${what}\n${paragraphs.join('\n')}`
  }

  assertNone(what: string) {
    assert.ok(this.byKey.size === 0, this.report(what))
  }
}

// ------------------------------------------------------------------------------------------------
// Fixtures: a user who owns patients, doctors and mappings, another user, and tokens

interface Fixtures {
  owner: TestUser
  other: TestUser
  /** The owner's first. */
  patients: string[]
  doctors: string[]
  mappings: string[]
  otherPatients: string[]
  otherDoctors: string[]
  otherMappings: string[]
  /** Credentials that are not valid: any authenticated route must answer them 401. */
  invalidTokens: Credential[]
  /** Odd but valid credentials (e.g. the owner's id upper-cased as `sub`): anything but a 5xx. */
  oddTokens: Credential[]
  /** Refresh tokens that get no new tokens: unknown, malformed, spent (which ends its session). */
  refreshTokens: Credential[]
  /** Sessions of the owner beside the one of `owner.token`: a call may end them. */
  spareSessions: string[]
  /** Another user's session: ending it is a 404. */
  otherSessions: string[]
}

interface Credential {
  label: string
  token: string
}

const base64url = (value: string) => Buffer.from(value).toString('base64url')
const HMAC = { HS256: 'sha256', HS512: 'sha512' } as const

function signJwt(
  payload: unknown,
  secret: string,
  alg: 'HS256' | 'HS512' | 'none' = 'HS256',
  typ = 'access'
) {
  const signed = `${base64url(JSON.stringify({ alg, typ }))}.${base64url(JSON.stringify(payload))}`
  const signature = alg === 'none' ? '' : createHmac(HMAC[alg], secret).update(signed).digest('base64url')
  return `${signed}.${signature}`
}

/** JWTs made with the test server's own secret, each wrong in one way, and plain garbage. */
function tokensFor(owner: TestUser) {
  const { secret, jwtOptions } = testContext().settings.authentication as unknown as {
    secret: string
    jwtOptions: { audience: string; issuer: string }
  }
  const now = Math.floor(Date.now() / 1000)
  const claims = { aud: jwtOptions.audience, iss: jwtOptions.issuer, iat: now, exp: now + 3600 }
  const sign = (payload: Record<string, unknown>, alg?: 'HS256' | 'HS512' | 'none') =>
    signJwt(payload, secret, alg)
  const invalid: Record<string, string> = {
    'JWT without sub': sign({ ...claims, sid: owner.sessionId }),
    'JWT without sid': sign({ ...claims, sub: owner.id }),
    'JWT with a sid that is no UUID': sign({ ...claims, sub: owner.id, sid: 'not-a-uuid' }),
    'JWT with an object as sid': sign({ ...claims, sub: owner.id, sid: { id: owner.sessionId } }),
    'JWT with __proto__ as sid': sign({ ...claims, sub: owner.id, sid: '__proto__' }),
    'JWT with a sub that is no UUID': sign({ ...claims, sub: 'not-a-uuid' }),
    'JWT with a number as sub': sign({ ...claims, sub: 12345 }),
    'JWT with an object as sub': sign({ ...claims, sub: { id: owner.id } }),
    'JWT with an array as sub': sign({ ...claims, sub: [owner.id] }),
    'JWT with null as sub': sign({ ...claims, sub: null }),
    'JWT with an empty sub': sign({ ...claims, sub: '' }),
    'JWT with sub __proto__': sign({ ...claims, sub: '__proto__' }),
    'JWT of an unknown user': sign({ ...claims, sub: '00000000-0000-4000-8000-000000000000' }),
    'JWT with a wrong audience': sign({ ...claims, sub: owner.id, aud: 'another-api' }),
    'JWT without audience': sign({ ...claims, sub: owner.id, aud: undefined }),
    'JWT with a wrong issuer': sign({ ...claims, sub: owner.id, iss: 'someone-else' }),
    'expired JWT': sign({ ...claims, sub: owner.id, exp: now - 60 }),
    'JWT with a string as exp': sign({ ...claims, sub: owner.id, exp: 'tomorrow' }),
    'JWT not valid before an hour': sign({ ...claims, sub: owner.id, nbf: now + 3600 }),
    'JWT with alg none': sign({ ...claims, sub: owner.id }, 'none'),
    'JWT signed HS512': sign({ ...claims, sub: owner.id }, 'HS512'),
    'JWT signed with another secret': signJwt({ ...claims, sub: owner.id }, 'not-the-secret'),
    'JWT of a string payload': signJwt('just a string', secret),
    'x.y.z': 'x.y.z',
    'a.b': 'a.b',
    'the text null': 'null',
    'the text __proto__': '__proto__',
    'a token with one more character': `${owner.token}x`,
    'a token without signature': `${owner.token.split('.').slice(0, 2).join('.')}.`,
    'e30.e30.e30': 'e30.e30.e30',
    '6000 characters': 'A'.repeat(6000)
  }
  const odd: Record<string, string> = {
    'JWT with the owner id upper-cased as sub': sign({
      ...claims,
      sub: owner.id.toUpperCase(),
      sid: owner.sessionId
    }),
    'JWT with the session id upper-cased as sid': sign({
      ...claims,
      sub: owner.id,
      sid: owner.sessionId.toUpperCase()
    }),
    'JWT without exp': sign({ aud: claims.aud, iss: claims.iss, sub: owner.id, sid: owner.sessionId })
  }
  const credentials = (tokens: Record<string, string>) =>
    Object.entries(tokens).map(([label, token]) => ({ label, token }))
  return { invalidTokens: credentials(invalid), oddTokens: credentials(odd) }
}

async function createFixtures(): Promise<Fixtures> {
  const [owner, other] = await Promise.all([signUp('Fuzz Owner'), signUp('Fuzz Other')])
  const make = async (path: string, user: TestUser, body: unknown) =>
    (await created(path, user, body)).id as string
  const patients = [
    await make('/api/patients', owner, validPatient()),
    await make('/api/patients', owner, validPatient({ name: 'Joe' }))
  ]
  const doctors = [await make('/api/doctors', owner, validDoctor())]
  const otherPatients = [await make('/api/patients', other, validPatient({ name: 'Other' }))]
  const otherDoctors = [await make('/api/doctors', other, validDoctor({ name: 'Dr. Other' }))]
  const mappings = [
    await make('/api/mappings', owner, { patientId: patients[0], doctorId: doctors[0] }),
    await make('/api/mappings', owner, { patientId: patients[1], doctorId: otherDoctors[0] })
  ]
  const otherMappings = [
    await make('/api/mappings', other, { patientId: otherPatients[0], doctorId: doctors[0] })
  ]
  // A session of the owner whose first refresh token is spent: presenting it again ends that session.
  const spent = await logIn(owner)
  const refreshed = await request('POST', '/api/auth/refresh', { body: { refreshToken: spent.refreshToken } })
  assert.equal(refreshed.status, 201)
  const ended = await logIn(owner)
  assert.equal((await request('POST', '/api/auth/logout', { token: ended.token })).status, 200)
  const spare = await logIn(owner)
  const refreshTokens: Record<string, string> = {
    'a spent refresh token': spent.refreshToken,
    "an ended session's refresh token": ended.refreshToken,
    'a refresh token no one was given': Buffer.alloc(32, 1).toString('base64url'),
    'a refresh token with one more character': `${refreshed.body.refreshToken}x`,
    'a refresh token without its last character': refreshed.body.refreshToken.slice(0, -1),
    'a refresh token in base64': Buffer.from(spent.refreshToken, 'base64url').toString('base64'),
    'a refresh token with a space': ` ${refreshed.body.refreshToken}`,
    "the owner's access token": owner.token,
    'an empty string': '',
    __proto__: '__proto__',
    '43 characters of punctuation': '!'.repeat(43),
    '10,000 characters': 'A'.repeat(10_000)
  }
  return {
    owner,
    other,
    patients,
    doctors,
    mappings,
    otherPatients,
    otherDoctors,
    otherMappings,
    ...tokensFor(owner),
    refreshTokens: Object.entries(refreshTokens).map(([label, token]) => ({ label, token })),
    spareSessions: [spare.sessionId, spent.sessionId, ended.sessionId],
    otherSessions: [other.sessionId]
  }
}

// ------------------------------------------------------------------------------------------------
// Rows: a refused write changes nothing

const TABLES = ['users', 'patients', 'doctors', 'mappings', 'sessions'] as const
type Snapshot = Map<string, { table: string; row: Record<string, unknown>; json: string }>

async function snapshot(): Promise<Snapshot> {
  const db = testDatabase()
  const rows: Snapshot = new Map()
  for (const table of TABLES) {
    for (const row of (await db(table).select('*')) as Array<Record<string, unknown>>) {
      rows.set(String(row.id), { table, row, json: JSON.stringify(row) })
    }
  }
  return rows
}

/** The ids of records that a call answered with success: what it was allowed to create, change or remove. */
function acceptedIds(result: unknown, into: Set<string>) {
  for (const record of Array.isArray(result) ? result : [result]) {
    const id = (record as { id?: unknown } | null)?.id
    if (typeof id === 'string') into.add(id.toLowerCase())
  }
}

// The app's Knex converts column names to camelCase: so do the rows read through it.
const FOREIGN_KEYS = ['userId', 'patientId', 'doctorId', 'createdBy']

/** What a call may change without answering it: the session of a spent refresh token presented again ends. */
const mayChange = (f: Fixtures) => new Set(f.spareSessions)

/**
 * Every difference between the two snapshots must come from a call that succeeded (its answer
 * named the record) or from the database's cascades of one (a removed user's patients, a removed
 * patient's or doctor's mappings, a removed creator's doctors set to no creator).
 */
function unexplainedChanges(before: Snapshot, after: Snapshot, accepted: Set<string>) {
  const gone = new Set([...before.keys()].filter((id) => !after.has(id)))
  const parentGone = (row: Record<string, unknown>) => FOREIGN_KEYS.some((key) => gone.has(String(row[key])))
  const problems: Array<{ where: string; row: string }> = []
  for (const [id, { table, row, json }] of before) {
    const now = after.get(id)
    if (accepted.has(id) || json === now?.json) continue
    if (!now && parentGone(row)) continue
    if (now && table === 'doctors' && now.row.createdBy === null && gone.has(String(row.createdBy))) continue
    problems.push(
      now
        ? { where: `${table}: a row changed`, row: `${json} → ${now.json}` }
        : { where: `${table}: a row removed`, row: json }
    )
  }
  for (const [id, { table, json }] of after) {
    if (!before.has(id) && !accepted.has(id)) problems.push({ where: `${table}: a row created`, row: json })
  }
  return problems
}

// ------------------------------------------------------------------------------------------------
// Hostile pieces

const SERVICE_PATHS = ['users', 'authentication', 'patients', 'doctors', 'mappings', 'audit', 'sessions']

const REST_BASES = [
  ...SERVICE_PATHS.map((path) => `/${path}`),
  '/api/patients',
  '/api/doctors',
  '/api/mappings',
  '/api/audit',
  '/api/auth/login',
  '/api/auth/register',
  '/api/auth/refresh',
  '/api/auth/logout',
  '/api/auth/sessions'
]

const PROTOTYPE_NAMES = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'valueOf',
  '__defineGetter__',
  'isPrototypeOf'
]

/** Path segments that are not ids, already as they go on the wire. */
const HOSTILE_ID_SEGMENTS = [
  ...PROTOTYPE_NAMES,
  'abc',
  '-1',
  '0',
  '1.5',
  '99999999999999999999999999999',
  '1e309',
  'NaN',
  'Infinity',
  'null',
  'undefined',
  'true',
  '[]',
  '%5B%5D',
  '%7B%7D',
  'x%5B%5D=1',
  '%00',
  'a%00b',
  '%ZZ',
  '%',
  '%E0%A4%A',
  '%C0%AE',
  '%FF',
  '%ED%A0%80',
  '%F0%9F%92%A9',
  '%E2%80%AE',
  '%20',
  '.',
  '..',
  '%2e%2e',
  '%2F',
  '%27%20OR%201=1--',
  '%27',
  '%22',
  '%5C',
  ';',
  '*',
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  'x'.repeat(300),
  'x'.repeat(5000),
  'x'.repeat(20_000)
]

/** Almost UUIDs, made from a real one. */
const uuidLike = (id: string) => [
  id.toUpperCase(),
  id.replace(/-/g, ''),
  `${id}0`,
  id.slice(0, -1),
  `${id.slice(0, -1)}g`,
  `%7B${id}%7D`,
  `%20${id}`,
  `${id}%00`,
  `${id},${id}`
]

const HOSTILE_PATHS = [
  '/__proto__',
  '/constructor',
  '/constructor/x',
  '/toString',
  '/hasOwnProperty',
  '/__proto__/patients',
  '/patients/__proto__',
  '/patients/constructor',
  '/patients/toString',
  '/patients/__proto__/x',
  '/users/hasOwnProperty',
  '/authentication/__proto__',
  '/api/patients/constructor',
  '/api/patients/__proto__',
  '/api/doctors/valueOf',
  '/api/mappings/__proto__',
  '/api/mappings/%ZZ',
  '/api/mappings/%',
  '/api/mappings/%E0%A4%A',
  '/api/audit/%ZZ',
  '/api/patients/%ZZ',
  '/patients/%ZZ',
  '/%ZZ',
  '/api/%ZZ',
  '/api/__proto__',
  '/api/auth/__proto__',
  '/api//patients',
  '//patients',
  '/patients//',
  '/api/patients/',
  '/api/patients//',
  '/api/patients/./x',
  '/api/patients/../users',
  '/patients/../../etc/passwd',
  '/api/patients/%2e%2e/users',
  '/api/patients/%2F',
  '/patients/%00',
  '/api/patients/%00',
  '/%00',
  '/patients%00',
  '/api/patients/\u00e9',
  '/api/patients/%C3%A9',
  '/api/patients/%F0%9F%92%A9',
  '/PATIENTS',
  '/Patients',
  '/api/Patients',
  '/patients.json',
  '/patients;x=1',
  '/api/auth/login/x',
  '/api/auth/',
  '/api/',
  '/api',
  '/authentication/x/y',
  '/audit/x/y/z',
  `/${'a/'.repeat(300)}`,
  `/api/patients/${'x'.repeat(20_000)}`,
  '/docs/%ZZ',
  '/docs/../../package.json',
  '/docs/..%2f..%2fpackage.json',
  '/docs/%2e%2e/%2e%2e/config/default.json',
  '/docs/index.html%00.js',
  '/openapi.json/x',
  '/health/__proto__',
  '/socket.io/?EIO=4&transport=polling',
  '/socket.io/x'
]

/** Pieces of query strings, each already as it goes on the wire. */
function queryPieces(f: Fixtures) {
  const other = f.other.id
  const deepOr = (depth: number) => `$or[0]${'[$or][0]'.repeat(depth)}[name]=x`
  const wide = (operator: string, count: number) =>
    range(count)
      .map((index) => `${operator}[${index}][name]=x`)
      .join('&')
  const list = (key: string, count: number, value: (index: number) => string) =>
    range(count)
      .map((index) => `${key}=${value(index)}`)
      .join('&')
  return [
    'nope=1',
    'user_id=1',
    'created_at=2020',
    'password=x',
    'strategy=local',
    '$where=1',
    '$regex=x',
    'name[$regex]=.*',
    'name[$where]=1',
    'age[$foo]=1',
    'name[$like]=%25',
    'name[$ilike]=%25%25',
    'name[$ilike]=%5C',
    `name[$ilike]=${'x'.repeat(5000)}`,
    '$limit=-1',
    '$limit=1e309',
    '$limit=NaN',
    '$limit=Infinity',
    '$limit=99999999999999999999',
    '$limit[]=1',
    '$limit[$gt]=1',
    '$skip=-1',
    '$skip=1e309',
    '$skip=1.5',
    '$skip=abc',
    '$sort[userId]=1',
    '$sort[name]=-1',
    '$sort[name]=2',
    '$sort[__proto__]=1',
    '$sort=name',
    '$sort[password]=1',
    '$sort[user_id]=1',
    '$sort[createdAt][$gt]=1',
    '$select[]=password',
    '$select[]=userId',
    '$select=name',
    '$select[]=__proto__',
    '$select[0][a]=1',
    `userId[$ne]=${other}`,
    `userId=${other}`,
    `userId[$in][]=${other}`,
    `$or[0][userId]=${other}`,
    `$and[0][$or][0][userId]=${other}`,
    `createdBy=${other}`,
    `patientId=${f.otherPatients[0]}`,
    '__proto__[x]=1',
    '__proto__=1',
    '__proto__[userId]=x',
    'constructor[prototype][x]=1',
    'constructor=1',
    'toString=1',
    'hasOwnProperty=1',
    'age=99999999999999999999999',
    'age=1e400',
    'age=-1e400',
    'age[$gt]=1e309',
    'age[$in]=1',
    'age=%00',
    'name=%00',
    `name=${'x'.repeat(3000)}`,
    'id=not-a-uuid',
    `id=${f.patients[0].toUpperCase()}`,
    'id[$in][]=x',
    `id[$nin][]=${f.patients[0]}`,
    deepOr(5),
    deepOr(40),
    wide('$or', 25),
    wide('$or', 400),
    wide('$and', 30),
    `$and[0][$or][0][$or][0][name]=x`,
    '$or=string',
    '$or[]=',
    '$or[0]=x',
    list('age[$in][]', 300, (index) => String(index)),
    list('age[$in][]', 900, (index) => String(index)),
    list('id[$in][]', 200, () => f.patients[0]),
    range(1500)
      .map((index) => `k${index}=1`)
      .join('&'),
    `a${'[b]'.repeat(60)}=1`,
    '%ZZ=1',
    'a=%ZZ',
    '=',
    '&&&',
    '[]=1',
    'a[=1',
    'a]=1',
    'a[]=1&a[b]=2',
    `$limit=1&$limit=2`
  ]
}

/** Whole query strings that are special on their own (koa-qs caches parsed queries by their text). */
const WHOLE_QUERIES = [
  '?',
  '??',
  '?&',
  '?=',
  '?%ZZ',
  '?__proto__',
  '?constructor',
  '?toString',
  '?hasOwnProperty',
  '?valueOf'
]

/** A value for the placeholder `"@@RAW:<literal>@@"`: JSON that JSON.stringify cannot write. */
const raw = (literal: string) => `@@RAW:${literal}@@`
const withRawLiterals = (json: string) => json.replace(/"@@RAW:(.*?)@@"/g, '$1')

/** Values that fit no field. Strings here are stored if a write succeeds, so none looks like SQL or a name of the schema. */
const HOSTILE_VALUES: unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  1.5,
  2 ** 53,
  -(2 ** 63),
  1e308,
  raw('1e999'),
  raw('-1e999'),
  raw('99999999999999999999999999'),
  raw('1e-400'),
  raw('-0'),
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\u202e',
  '\ud800',
  '\uffff',
  'x'.repeat(300),
  'x'.repeat(5000),
  [],
  [1, 2],
  [{ $gt: 0 }],
  {},
  { $gt: 0 },
  { $ne: null },
  '__proto__',
  'constructor',
  '1e309',
  'NaN',
  '42'
]

const HOSTILE_KEYS = [
  'nope',
  'id',
  'userId',
  'createdBy',
  'createdAt',
  'updatedAt',
  'version',
  'user_id',
  'password',
  'strategy',
  '$limit',
  '$or',
  ''
]

function validBodyFor(service: string, f: Fixtures, random: Random): Record<string, unknown> {
  switch (service) {
    case 'patients':
      return validPatient()
    case 'doctors':
      return validDoctor()
    case 'mappings':
      return {
        patientId: random.pick([...f.patients, ...f.otherPatients]),
        doctorId: random.pick([...f.doctors, ...f.otherDoctors])
      }
    case 'users':
      // Never a valid password: a fuzzed patch must not change the owner's password.
      return { name: 'Fuzzed User', email: `fuzz-${random.int(1e9)}@example.org`, password: 'short' }
    case 'authentication':
      return random.pick([
        { strategy: 'local', email: f.owner.email, password: 'not the password' },
        { strategy: 'jwt', accessToken: random.pick(f.invalidTokens).token },
        { strategy: 'refresh', refreshToken: random.pick(f.refreshTokens).token }
      ])
    default:
      return { name: 'x' }
  }
}

/** One to three changes to a valid body: a field of the wrong type, an unknown or server-owned key, a prototype key. */
function mutated(body: Record<string, unknown>, random: Random): Record<string, unknown> {
  const result: Record<string, unknown> = { ...body }
  for (let changes = 1 + random.int(3); changes > 0; changes--) {
    const fields = Object.keys(result)
    const action = random.int(4)
    if (action === 0 && fields.length) {
      result[random.pick(fields)] = random.pick(HOSTILE_VALUES)
    } else if (action === 1 && fields.length) {
      delete result[random.pick(fields)]
    } else if (action === 2) {
      result[random.pick(HOSTILE_KEYS)] = random.pick(HOSTILE_VALUES)
    } else {
      Object.defineProperty(result, random.pick(['__proto__', 'constructor']), {
        value: random.pick([{ admin: true }, { prototype: { polluted: true } }, null, 'x']),
        enumerable: true,
        configurable: true,
        writable: true
      })
    }
  }
  return result
}

interface Body {
  bytes: Buffer
  label: string
}

const text = (json: string, label: string): Body => ({ bytes: Buffer.from(json), label })

/** Bodies of every wrong shape, malformed JSON included, by the name the report gives them. */
function bodyShapes(service: string, f: Fixtures, random: Random): Record<string, () => Body> {
  const valid = validBodyFor(service, f, random)
  const json = (value: unknown) => withRawLiterals(JSON.stringify(value))
  const malformed = [
    '{"name":',
    '{name:1}',
    "{'a':1}",
    '{"a":1}}',
    '{"a":1,}',
    '[',
    '',
    ' ',
    'nul',
    '{"a":"\\x"}',
    '"\\ud800"'
  ]
  return {
    'a mutated object': () => text(json(mutated(valid, random)), 'a mutated object'),
    '[]': () => text('[]', '[]'),
    '[valid]': () => text(json([valid]), '[valid]'),
    '[valid, valid]': () => text(json([valid, valid]), '[valid, valid]'),
    '[mutated]': () => text(json([mutated(valid, random)]), '[mutated]'),
    'a scalar': () =>
      text(random.pick(['null', '42', '"patient"', 'true', '{}', '-1e999', '""']), 'a scalar'),
    'deep objects': () => text(`${'{"a":'.repeat(2000)}1${'}'.repeat(2000)}`, 'deep objects'),
    'deep arrays': () => text(`${'['.repeat(5000)}${']'.repeat(5000)}`, 'deep arrays'),
    'a deep field': () =>
      text(json({ ...valid, name: { a: { b: { c: { d: [[[[{}]]]] } } } } }), 'a deep field'),
    '__proto__ key': () =>
      text(`{"__proto__":{"userId":"${f.other.id}","admin":true},${json(valid).slice(1)}`, '__proto__ key'),
    'constructor key': () =>
      text(`{"constructor":{"prototype":{"polluted":true}},${json(valid).slice(1)}`, 'constructor key'),
    'over the body limit': () => text(json({ ...valid, name: 'x'.repeat(120_000) }), 'over the body limit'),
    'a huge string': () => text(json({ ...valid, disease: 'x'.repeat(90_000) }), 'a huge string'),
    'malformed JSON': () => text(random.pick(malformed), 'malformed JSON'),
    'a byte order mark': () => text(`\ufeff${json(valid)}`, 'a byte order mark'),
    '8000 unknown keys': () =>
      text(
        json({ ...valid, ...Object.fromEntries(range(8000).map((index) => [`k${index}`, 1])) }),
        '8000 unknown keys'
      ),
    'bytes that are not UTF-8': () => ({
      bytes: Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0xc3]),
      label: 'bytes that are not UTF-8'
    }),
    'a real gzip body': () => ({ bytes: gzipSync(json(valid)), label: 'a real gzip body' }),
    'a gzip bomb': () => ({ bytes: gzipSync(Buffer.alloc(5_000_000, 0x20)), label: 'a gzip bomb' })
  }
}

/** A body of the given shape, or of any shape (a mutated object one time in three). */
function hostileBody(service: string, f: Fixtures, random: Random, shape?: string): Body {
  const shapes = bodyShapes(service, f, random)
  const name = shape ?? (random.chance(0.3) ? 'a mutated object' : random.pick(Object.keys(shapes)))
  return shapes[name]()
}

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/json; charset=utf-16',
  'application/json; charset=nope',
  'application/xml',
  'application/vnd.api+json',
  'application/csp-report',
  '*/*',
  'json',
  ''
]

const CONTENT_ENCODINGS = [
  'gzip',
  'br',
  'deflate',
  'identity',
  'compress',
  'x-gzip',
  'gzip, br',
  'GZIP',
  'nope'
]

const SERVICE_METHOD_OVERRIDES = [
  'find',
  'remove',
  'patch',
  '__proto__',
  'constructor',
  'toString',
  'setup',
  'hooks',
  '_find',
  '_remove',
  'publish'
]

// ------------------------------------------------------------------------------------------------
// REST

interface RestCase {
  /** Who calls: 'owner', 'anonymous' or the kind of credentials. */
  who: string
  method: string
  path: string
  headers: Record<string, string>
  body?: Body
  /** Credentials that are known to be invalid: an authenticated route must answer 401. */
  expectUnauthenticated?: boolean
}

interface RestAnswer {
  status?: number
  headers: http.IncomingHttpHeaders
  text: string
  error?: string
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })

/** Raw HTTP, so that paths, headers and bytes go on the wire exactly as generated. */
function send({ method, path, headers, body }: RestCase): Promise<RestAnswer> {
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

const safeDecode = (value: string) => {
  try {
    return decodeURIComponent(value)
  } catch {
    return value
  }
}

/** Every string the request carried, for telling an echo from a leak. */
function sentStrings({ path, headers, body }: RestCase): string[] {
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

function collectStrings(value: unknown, into: string[]) {
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
function authorizationFor(
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

function extraHeaders(random: Random): Record<string, string> {
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

const serviceOf = (path: string) =>
  /^\/api\/auth\/register/.test(path)
    ? 'users'
    : /^\/api\/auth\/sessions/.test(path)
      ? 'sessions'
      : /^\/api\/auth\//.test(path)
        ? 'authentication'
        : (/^\/(?:api\/)?(users|authentication|patients|doctors|mappings|audit|sessions)\b/.exec(path)?.[1] ??
          'patients')

function idsFor(service: string, f: Fixtures, method: string) {
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

function servicePath(random: Random, f: Fixtures, method: string) {
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

const METHODS = [
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
const WHO = [
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

const logsOut = (method: string, path: string) =>
  (method === 'DELETE' && /^\/+authentication\b/.test(path)) ||
  (method === 'POST' && /^\/api\/auth\/logout\b/.test(path))

function randomRestCase(random: Random, f: Fixtures): RestCase {
  const method = random.pick(METHODS)
  let path = random.chance(0.2) ? random.pick(HOSTILE_PATHS) : servicePath(random, f, method)
  if (random.chance(0.08)) {
    path += random.pick(WHOLE_QUERIES)
  } else if (random.chance(0.5)) {
    path += `${path.includes('?') ? '&' : '?'}${random.some(queryPieces(f), 3).join('&')}`
  }
  const who = random.pick(WHO)
  // A logout as the owner would be a success that ends the owner's session for the rest of the run.
  const caller = authorizationFor(who === 'owner' && logsOut(method, path) ? 'anonymous' : who, f, random)
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
function corpusRestCases(random: Random, f: Fixtures): RestCase[] {
  const owner = { accept: 'application/json', authorization: `Bearer ${f.owner.token}` }
  const json = { ...owner, 'content-type': 'application/json' }
  const cases: RestCase[] = []
  for (const path of HOSTILE_PATHS) {
    cases.push({ who: 'owner', method: 'GET', path, headers: owner })
  }
  HOSTILE_ID_SEGMENTS.forEach((id, index) => {
    const [method, base] = [
      ['GET', '/api/patients'],
      ['DELETE', '/api/doctors'],
      ['GET', '/api/mappings'],
      ['PATCH', '/users'],
      ['PUT', '/patients'],
      ['DELETE', '/api/mappings']
    ][index % 6]
    const body =
      method === 'PATCH' || method === 'PUT' ? text(JSON.stringify(validPatient()), 'valid') : undefined
    cases.push({ who: 'owner', method, path: `${base}/${id}`, headers: body ? json : owner, body })
  })
  for (const piece of [...queryPieces(f), ...WHOLE_QUERIES.map((query) => query.slice(1))]) {
    cases.push({
      who: 'owner',
      method: 'GET',
      path: `${random.pick(['/api/patients', '/api/doctors', '/api/mappings', '/users', '/api/audit'])}?${piece}`,
      headers: owner
    })
  }
  const writes: Array<[string, string]> = [
    ['POST', '/api/patients'],
    ['PATCH', `/api/patients/${f.patients[0]}`],
    ['PUT', `/api/doctors/${f.doctors[0]}`],
    ['PATCH', `/api/doctors/${f.otherDoctors[0]}`],
    ['POST', '/api/mappings'],
    ['POST', '/api/auth/register'],
    ['POST', '/api/auth/login'],
    ['PATCH', `/users/${f.owner.id}`]
  ]
  for (const [index, [method, path]] of writes.entries()) {
    for (const shape of [
      '[]',
      '[valid]',
      '[valid, valid]',
      'a scalar',
      '__proto__ key',
      'deep objects',
      'malformed JSON',
      '8000 unknown keys'
    ]) {
      cases.push({
        who: 'owner',
        method,
        path,
        headers: json,
        body: hostileBody(serviceOf(path), f, random, shape)
      })
    }
    const encoding = CONTENT_ENCODINGS[index % CONTENT_ENCODINGS.length]
    cases.push({
      who: 'owner',
      method,
      path,
      headers: { ...json, 'content-encoding': encoding },
      body: text(JSON.stringify(validPatient()), 'plain')
    })
    cases.push({
      who: 'owner',
      method,
      path,
      headers: { ...owner, 'content-type': CONTENT_TYPES[index + 2] },
      body: text('name=A&age=1', 'a form')
    })
  }
  for (const encoding of ['gzip', 'br', 'deflate']) {
    cases.push({
      who: 'owner',
      method: 'POST',
      path: '/api/patients',
      headers: { ...json, 'content-encoding': encoding },
      body: text(JSON.stringify(validPatient()), 'plain')
    })
  }
  for (const { label, token } of f.invalidTokens) {
    const headers = { accept: 'application/json', authorization: `Bearer ${token}` }
    for (const path of ['/api/patients', '/users', '/api/audit', `/api/doctors/${f.doctors[0]}`]) {
      cases.push({ who: label, method: 'GET', path, headers, expectUnauthenticated: true })
    }
    const login = text(JSON.stringify({ strategy: 'jwt', accessToken: token }), 'a JWT login')
    cases.push({
      who: 'anonymous',
      method: 'POST',
      path: '/authentication',
      headers: { accept: 'application/json', 'content-type': 'application/json' },
      body: login
    })
    cases.push({ who: label, method: 'DELETE', path: '/authentication', headers })
  }
  // Logouts without a session: anonymous, or naming a token that is not the caller's.
  for (const path of [
    '/authentication/abc',
    `/authentication/${f.owner.token}`,
    '/authentication/__proto__',
    '/authentication'
  ]) {
    cases.push({ who: 'anonymous', method: 'DELETE', path, headers: { accept: 'application/json' } })
  }
  cases.push({
    who: 'owner',
    method: 'DELETE',
    path: `/authentication/${f.invalidTokens[0].token}`,
    headers: owner
  })
  cases.push({
    who: 'anonymous',
    method: 'POST',
    path: '/api/auth/logout',
    headers: { accept: 'application/json' }
  })
  // Refresh tokens that get nothing: every one a 401, at the alias and at the service path.
  const anonymousJson = { accept: 'application/json', 'content-type': 'application/json' }
  for (const { label, token } of f.refreshTokens) {
    cases.push({
      who: 'anonymous',
      method: 'POST',
      path: '/api/auth/refresh',
      headers: anonymousJson,
      body: text(JSON.stringify({ refreshToken: token }), label),
      expectUnauthenticated: true
    })
    cases.push({
      who: 'anonymous',
      method: 'POST',
      path: '/authentication',
      headers: anonymousJson,
      body: text(JSON.stringify({ strategy: 'refresh', refreshToken: token }), label),
      expectUnauthenticated: true
    })
  }
  for (const value of HOSTILE_VALUES) {
    cases.push({
      who: 'anonymous',
      method: 'POST',
      path: '/api/auth/refresh',
      headers: anonymousJson,
      // A number past what JSON allows is a 400 before it reaches a strategy.
      body: text(withRawLiterals(JSON.stringify({ refreshToken: value })), 'a refresh token of another type')
    })
  }
  for (const shape of ['[]', '[valid]', 'a scalar', '__proto__ key', 'deep objects', 'malformed JSON']) {
    cases.push({
      who: 'anonymous',
      method: 'POST',
      path: '/api/auth/refresh',
      headers: anonymousJson,
      body: hostileBody('authentication', f, random, shape)
    })
  }
  // Logouts and the sessions of anyone with an invalid token: 401.
  for (const { label, token } of f.invalidTokens) {
    const headers = { accept: 'application/json', authorization: `Bearer ${token}` }
    cases.push({ who: label, method: 'POST', path: '/api/auth/logout', headers, expectUnauthenticated: true })
    cases.push({
      who: label,
      method: 'GET',
      path: '/api/auth/sessions',
      headers,
      expectUnauthenticated: true
    })
    cases.push({
      who: label,
      method: 'DELETE',
      path: `/api/auth/sessions/${f.spareSessions[0]}`,
      headers,
      expectUnauthenticated: true
    })
  }
  // The owner's sessions, with hostile ids and queries.
  for (const id of [...HOSTILE_ID_SEGMENTS, ...uuidLike(f.otherSessions[0]), f.otherSessions[0]]) {
    cases.push({ who: 'owner', method: 'DELETE', path: `/api/auth/sessions/${id}`, headers: owner })
  }
  for (const piece of [...queryPieces(f), ...WHOLE_QUERIES.map((query) => query.slice(1))]) {
    cases.push({ who: 'owner', method: 'GET', path: `/api/auth/sessions?${piece}`, headers: owner })
  }
  return cases
}

const header = (headers: http.IncomingHttpHeaders, name: string) => String(headers[name] ?? '')

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** The request as the report names it: caller, method, path, body shape and unusual headers. */
function describeRequest({ who, method, path, body, headers }: RestCase) {
  const encoding = headers['content-encoding'] ? ` [content-encoding: ${headers['content-encoding']}]` : ''
  const type =
    headers['content-type'] && headers['content-type'] !== 'application/json'
      ? ` [content-type: ${headers['content-type']}]`
      : ''
  return `${who}: ${method} ${path}${body ? ` <${body.label}>` : ''}${encoding}${type}`
}

function checkRestAnswer(
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
function malformedPage(body: unknown): boolean {
  const page = body as { total?: unknown; limit?: unknown; skip?: unknown; data?: unknown } | undefined
  if (!page || typeof page !== 'object' || !Array.isArray(page.data) || !('total' in page)) {
    return false
  }
  const { total, limit, skip } = page
  const count = (value: unknown, max = Number.MAX_SAFE_INTEGER) =>
    Number.isInteger(value) && (value as number) >= 0 && (value as number) <= max
  return !(count(total) && count(limit, 100) && count(skip))
}

// ------------------------------------------------------------------------------------------------
// Sockets

interface SocketCall {
  event: string
  /** The arguments before the acknowledgement callback. */
  args: unknown[]
  authenticated: boolean
  /** An event that is no service method: there is no one to answer it, the socket must survive it. */
  fireAndForget?: boolean
  label: string
}

interface Ack {
  answered: boolean
  error?: any
  result?: any
}

function emitWithAck(socket: Socket, event: string, args: unknown[]): Promise<Ack> {
  return new Promise((resolve) => {
    socket
      .timeout(ACK_TIMEOUT_MS)
      .emit(event, ...args, (timeout: Error | null, error?: unknown, result?: unknown) =>
        resolve(timeout ? { answered: false } : { answered: true, error, result })
      )
  })
}

/** A raw socket, anonymous or logged in with the owner's token, reopened if the server closes it. */
class RawSocket {
  private socket?: Socket
  closedBy: string[] = []
  /** Every event the server pushed to this socket. */
  events: Array<{ event: string; payload: unknown }> = []

  constructor(private readonly accessToken?: string) {}

  async ready(): Promise<Socket> {
    if (this.socket?.connected) {
      return this.socket
    }
    this.socket?.close()
    const socket = await rawSocket()
    socket.onAny((event: string, payload: unknown) => this.events.push({ event, payload }))
    if (this.accessToken) {
      const login = await emitWithAck(socket, 'create', [
        'authentication',
        { strategy: 'jwt', accessToken: this.accessToken }
      ])
      assert.ok(login.answered && !login.error, `socket login: ${JSON.stringify(login)}`)
    }
    this.socket = socket
    return socket
  }

  close() {
    this.socket?.close()
  }
}

const SOCKET_METHODS = ['find', 'get', 'create', 'update', 'patch', 'remove']
/** Events that are no method of any service. (socket.io-client refuses its reserved names itself.) */
const NON_METHOD_EVENTS = [
  ...PROTOTYPE_NAMES,
  'setup',
  'hooks',
  '_find',
  '_remove',
  'FIND',
  'find ',
  'publish',
  'emit',
  'on',
  ''
]

const HOSTILE_SOCKET_PATHS: unknown[] = [
  ...PROTOTYPE_NAMES,
  '',
  '/',
  '//',
  'patients/__proto__',
  'patients/constructor',
  '__proto__/patients',
  'constructor/prototype',
  'PATIENTS',
  '/patients/',
  'patients/x',
  'patients/x/y',
  'api/patients',
  'api/mappings/%ZZ',
  'docs',
  'x'.repeat(10_000),
  null,
  42,
  true,
  {},
  [],
  ['patients'],
  { toString: 'patients' }
]

/** Query objects: wrong types, unknown fields and operators, deep, wide and huge. */
function hostileSocketQueries(f: Fixtures): unknown[] {
  const deep = (depth: number): unknown => (depth === 0 ? { name: 'x' } : { $or: [deep(depth - 1)] })
  const deepAnd = (depth: number): unknown => (depth === 0 ? { age: 1 } : { $and: [deepAnd(depth - 1)] })
  return [
    'a string',
    42,
    null,
    true,
    [],
    [1, 2],
    ['$limit', 1],
    {},
    { $limit: 'x' },
    { $limit: -1 },
    { $limit: 1e308 },
    { $limit: { $gt: 1 } },
    { $skip: -1 },
    { $skip: 2 ** 53 },
    { $sort: { userId: 1 } },
    { $sort: { name: 'up' } },
    { $sort: { user_id: 1 } },
    { $sort: 'name' },
    { $select: ['password'] },
    { $select: ['name', 'name'] },
    { $select: 'name' },
    { $where: 'true' },
    { name: { $regex: '.*' } },
    { name: { $where: '1' } },
    { name: { $ilike: 'x'.repeat(5000) } },
    { age: { $gt: 'x' } },
    { age: 1e308 },
    { age: { $in: 'x' } },
    // Past PostgreSQL's 65535 bind parameters, with values that pass validation (ages 20 to 119).
    { age: { $in: range(70_000).map((index) => 20 + (index % 100)) } },
    { age: { $nin: range(70_000).map((index) => 20 + (index % 100)) } },
    { age: { $in: range(5000).map((index) => 20 + (index % 100)) } },
    { name: { $in: range(70_000).map((index) => `n${index}`) } },
    { id: { $in: range(20_000).map(() => f.patients[0]) } },
    { name: { $in: range(5000).map((index) => `n${index}`) } },
    { userId: { $ne: f.other.id } },
    { userId: f.other.id },
    { userId: { $in: [f.other.id, f.owner.id] } },
    { $or: [{ userId: f.other.id }] },
    { $or: range(500).map(() => ({ name: 'x' })) },
    { $and: range(500).map(() => ({ age: 1 })) },
    deep(8),
    deep(300),
    deepAnd(300),
    { $or: 'x' },
    { $or: [null] },
    { $and: [[]] },
    { id: {} },
    { id: [] },
    { id: null },
    JSON.parse('{"__proto__":{"userId":"x"}}'),
    JSON.parse('{"constructor":{"prototype":{"polluted":true}}}'),
    { toString: 'x' },
    { hasOwnProperty: 1 },
    { a: { b: { c: { d: { e: { f: { g: 1 } } } } } } },
    { nope: 1 },
    Object.fromEntries(range(10_000).map((index) => [`k${index}`, 1])),
    Buffer.from('a query'),
    { name: Buffer.from('x') },
    { paginate: false },
    { provider: undefined, user: { id: f.other.id } },
    { authentication: { strategy: 'jwt', accessToken: 'x' } }
  ]
}

const HOSTILE_SOCKET_IDS = (f: Fixtures): unknown[] => [
  null,
  '',
  0,
  -1,
  1e308,
  true,
  {},
  { $ne: null },
  [],
  [f.patients[0], f.otherPatients[0]],
  ...PROTOTYPE_NAMES,
  'abc',
  '%ZZ',
  'x'.repeat(10_000),
  Buffer.from(f.patients[0]),
  ...uuidLike(f.patients[0]).map(safeDecode),
  f.otherPatients[0],
  f.otherDoctors[0],
  f.otherMappings[0],
  f.other.id
]

/** Data that fits no service: wrong shapes, wrong types, prototype keys, deep and big. */
function hostileSocketData(service: string, f: Fixtures, random: Random): unknown {
  const valid = validBodyFor(service, f, random)
  return random.pick<() => unknown>([
    () => mutated(valid, random),
    () => mutated(valid, random),
    () => null,
    () => 'a string',
    () => 42,
    () => true,
    () => [],
    () => [valid],
    () => [valid, valid],
    () => JSON.parse(`{"__proto__":{"admin":true},"name":"x"}`),
    () => Buffer.from(JSON.stringify(valid)),
    () => ({ ...valid, name: Buffer.from('x') }),
    () => JSON.parse(`${'{"a":'.repeat(2000)}1${'}'.repeat(2000)}`),
    () => ({ ...valid, name: 'x'.repeat(300_000) })
  ])()
}

function socketServiceFor(path: unknown) {
  return typeof path === 'string' && SERVICE_PATHS.includes(path) ? path : 'patients'
}

/** The arguments of `method` on `path` (before the ack): some missing, too many, or of the wrong type. */
function socketArgs(method: string, path: unknown, f: Fixtures, random: Random): unknown[] {
  const service = socketServiceFor(path)
  const ids =
    service === 'users' && method === 'remove'
      ? [f.other.id]
      : idsFor(service, f, method === 'remove' ? 'DELETE' : 'GET')
  const id = random.chance(0.4) ? random.pick(ids) : random.pick(HOSTILE_SOCKET_IDS(f))
  const data = random.chance(0.3) ? validBodyFor(service, f, random) : hostileSocketData(service, f, random)
  const query = random.chance(0.4) ? {} : random.pick(hostileSocketQueries(f))
  const full: Record<string, unknown[]> = {
    find: [query],
    get: [id, query],
    create: [data, query],
    update: [id, data, query],
    patch: [id, data, query],
    remove: [id, query]
  }
  const args = full[method] ?? [id, data, query]
  const shape = random.int(10)
  if (shape === 0) return args.slice(0, random.int(args.length))
  if (shape === 1) return [...args, random.pick(hostileSocketQueries(f)), 'extra']
  return args
}

/** A logout on the owner's socket would be a success that ends the owner's session for the rest of the run. */
const socketLogsOut = (method: string, path: unknown) =>
  method === 'remove' && typeof path === 'string' && /^\/*authentication\b/.test(path)

function randomSocketCall(random: Random, f: Fixtures): SocketCall {
  let authenticated = random.chance(0.6)
  if (random.chance(0.06)) {
    const event = random.pick(NON_METHOD_EVENTS)
    return {
      event,
      args: [random.pick(SERVICE_PATHS), {}],
      authenticated,
      fireAndForget: true,
      label: `emit('${event}')`
    }
  }
  const method = random.pick(SOCKET_METHODS)
  const path = random.chance(0.2) ? random.pick(HOSTILE_SOCKET_PATHS) : random.pick(SERVICE_PATHS)
  const args = socketArgs(method, path, f, random)
  authenticated &&= !socketLogsOut(method, path)
  return {
    event: method,
    args: [path, ...args],
    authenticated,
    label: `emit('${method}', ${describePath(path)}, …${args.length})`
  }
}

const describePath = (path: unknown) =>
  typeof path === 'string'
    ? `'${path.length > 40 ? `${path.slice(0, 20)}…` : path}'`
    : (JSON.stringify(path) ?? String(path))

/** Each listed socket hole at least once, whatever the seed. */
function corpusSocketCalls(random: Random, f: Fixtures): SocketCall[] {
  const calls: SocketCall[] = []
  const call = (event: string, args: unknown[], authenticated: boolean, label: string) =>
    calls.push({ event, args, authenticated: authenticated && !socketLogsOut(event, args[0]), label })
  for (const authenticated of [false, true]) {
    for (const path of HOSTILE_SOCKET_PATHS) {
      call('find', [path, {}], authenticated, `emit('find', ${describePath(path)}, {})`)
      call('get', [path, f.patients[0], {}], authenticated, `emit('get', ${describePath(path)}, id, {})`)
    }
    for (const method of SOCKET_METHODS) {
      for (const path of ['patients', 'doctors', 'mappings', 'users', 'audit', 'authentication']) {
        call(method, [path], authenticated, `emit('${method}', '${path}') with no arguments`)
      }
    }
  }
  for (const query of hostileSocketQueries(f)) {
    for (const path of ['patients', 'doctors', random.pick(['mappings', 'audit', 'users'])]) {
      call(
        'find',
        [path, query],
        true,
        `emit('find', '${path}', ${excerptOf(JSON.stringify(query) ?? String(query)).slice(0, 60)})`
      )
    }
  }
  for (const id of HOSTILE_SOCKET_IDS(f)) {
    const [method, path] = random.pick([
      ['get', 'patients'],
      ['remove', 'mappings'],
      ['get', 'users'],
      ['remove', 'doctors'],
      ['get', 'audit']
    ])
    call(method, [path, id, {}], true, `emit('${method}', '${path}', ${describePath(id)}, {})`)
    call(
      'patch',
      ['patients', id, { name: 'x' }, {}],
      true,
      `emit('patch', 'patients', ${describePath(id)}, data, {})`
    )
  }
  for (const path of ['patients', 'doctors', 'mappings', 'users']) {
    for (let index = 0; index < 6; index++) {
      const data = hostileSocketData(path, f, random)
      call(
        'create',
        [path, data, {}],
        true,
        `emit('create', '${path}', ${excerptOf(JSON.stringify(data) ?? String(data)).slice(0, 50)}, {})`
      )
    }
    call(
      'patch',
      [path, idsFor(path, f, 'PATCH')[0], [validBodyFor(path, f, random)], {}],
      true,
      `emit('patch', '${path}', id, [data], {})`
    )
    call('update', [path, idsFor(path, f, 'PUT')[0], [], {}], true, `emit('update', '${path}', id, [], {})`)
  }
  for (const { label, token } of f.invalidTokens) {
    call(
      'create',
      ['authentication', { strategy: 'jwt', accessToken: token }, {}],
      false,
      `emit('create', 'authentication', { strategy: 'jwt', accessToken: <${label}> })`
    )
  }
  for (const refreshToken of [...f.refreshTokens.map(({ token }) => token), ...HOSTILE_VALUES]) {
    call(
      'create',
      ['authentication', { strategy: 'refresh', refreshToken }, {}],
      false,
      `emit('create', 'authentication', { strategy: 'refresh', refreshToken: ${excerptOf(JSON.stringify(refreshToken) ?? 'undefined').slice(0, 40)} })`
    )
  }
  for (const id of [...HOSTILE_SOCKET_IDS(f), f.otherSessions[0]]) {
    call('remove', ['sessions', id, {}], true, `emit('remove', 'sessions', ${describePath(id)}, {})`)
  }
  const authentications: unknown[] = [
    { strategy: 'jwt' },
    { strategy: 'jwt', accessToken: {} },
    { strategy: 'jwt', accessToken: ['x'] },
    { strategy: 'local', email: [], password: {} },
    { strategy: 'local', email: f.owner.email },
    { strategy: '__proto__' },
    { strategy: 'constructor' },
    { strategy: 'toString', accessToken: 'x' },
    { accessToken: 1 },
    null,
    'x',
    []
  ]
  for (const data of authentications) {
    call(
      'create',
      ['authentication', data, {}],
      false,
      `emit('create', 'authentication', ${excerptOf(JSON.stringify(data) ?? 'undefined').slice(0, 60)})`
    )
  }
  for (const event of NON_METHOD_EVENTS) {
    calls.push({
      event,
      args: ['patients', {}],
      authenticated: true,
      fireAndForget: true,
      label: `emit('${event}')`
    })
  }
  return calls
}

function socketSentStrings(call: SocketCall): string[] {
  const pieces: string[] = [call.event]
  collectStrings(call.args, pieces)
  return pieces
}

function checkAck(call: SocketCall, ack: Ack, rules: LeakRule[], keep: Set<string>, failures: Failures) {
  const where = `${call.authenticated ? 'authenticated' : 'anonymous'} ${call.label}`
  failures.checked++
  if (!ack.answered) {
    failures.add('no answer', where, 'none', `no acknowledgement within ${ACK_TIMEOUT_MS} ms`)
    return
  }
  const error = ack.error
  const status = error ? String(error.code ?? 'no code') : 'ok'
  const answerText = JSON.stringify([error ?? null, ack.result ?? null]) ?? ''
  if (error) {
    if (
      typeof error.code !== 'number' ||
      typeof error.name !== 'string' ||
      typeof error.message !== 'string'
    ) {
      failures.add('not a Feathers error', where, status, excerptOf(JSON.stringify(error)))
    }
    if (typeof error.code === 'number' && error.code >= 500) {
      failures.add('5xx', where, status, excerptOf(JSON.stringify(error)))
    }
    const bytes = Buffer.byteLength(JSON.stringify(error))
    if (bytes > MAX_ERROR_BYTES) {
      failures.add(
        'an oversized error answer',
        where,
        status,
        `${bytes} bytes: ${excerptOf(JSON.stringify(error))}`
      )
    }
  }
  if (!error && malformedPage(ack.result)) {
    failures.add('a page with impossible numbers', where, status, excerptOf(answerText))
  }
  for (const { kind, excerpt } of leaksIn(answerText, socketSentStrings(call), rules, keep)) {
    failures.add(`leak: ${kind}`, where, status, excerpt)
  }
}

async function runSocketCall(
  call: SocketCall,
  sockets: { anonymous: RawSocket; owner: RawSocket },
  accepted: Set<string>
) {
  const raw = call.authenticated ? sockets.owner : sockets.anonymous
  const socket = await raw.ready()
  if (call.fireAndForget) {
    socket.emit(call.event, ...call.args)
    // The socket must still answer a plain call afterwards.
    return emitWithAck(socket, 'find', ['doctors', { $limit: 1 }])
  }
  const ack = await emitWithAck(socket, call.event, call.args)
  if (ack.answered && !ack.error && call.event !== 'find' && call.event !== 'get') {
    acceptedIds(ack.result, accepted)
  }
  if (TRACE) {
    console.log(
      `${call.authenticated ? 'authenticated' : 'anonymous'} ${call.label}: ${excerptOf(JSON.stringify([ack.error ?? null, ack.result ?? null]) ?? '')}`
    )
  }
  if (!socket.connected) {
    raw.closedBy.push(call.label)
  }
  return ack
}

/** A hostile event that no method answers must leave the socket answering the next call. */
function checkAlive(call: SocketCall, ack: Ack, failures: Failures) {
  failures.checked++
  const alive = ack.answered && (!ack.error || (typeof ack.error.code === 'number' && ack.error.code < 500))
  if (!alive)
    failures.add('socket unusable after a hostile event', call.label, '', JSON.stringify(ack.error ?? null))
}

/** No socket closed by the server; no event for the anonymous one; the owner's events leak nothing. */
function checkSockets(
  sockets: { anonymous: RawSocket; owner: RawSocket },
  rules: LeakRule[],
  keep: Set<string>,
  failures: Failures
) {
  for (const label of [...sockets.anonymous.closedBy, ...sockets.owner.closedBy]) {
    failures.add('the server closed the socket', label, '', '')
  }
  for (const { event } of sockets.anonymous.events) {
    failures.add('an anonymous socket received an event', event, '', '')
  }
  for (const { event, payload } of sockets.owner.events) {
    for (const { kind, excerpt } of leaksIn(JSON.stringify(payload) ?? '', [], rules, keep)) {
      failures.add(`leak in an event: ${kind}`, event, '', excerpt)
    }
  }
}

// ------------------------------------------------------------------------------------------------

describe('fuzz: hostile input over REST and sockets', function () {
  this.timeout(120_000)
  let f: Fixtures
  let rules: LeakRule[]
  /** Table and column names that are also API words: never cut out of an answer as an "echo". */
  let keep: Set<string>

  before(async () => {
    f = await createFixtures()
    const names = await readSchemaNames()
    rules = leakRules(names)
    keep = new Set(names.identifiers.filter((name) => !name.includes('_')))
  })

  after(() => agent.destroy())

  it(`REST: no 5xx, no leak, security headers on every answer, refused writes change nothing (seed ${SEED})`, async () => {
    const random = new Random(SEED)
    const cases = [
      ...corpusRestCases(random, f),
      ...range(REST_RANDOM_CASES).map(() => randomRestCase(random, f))
    ]
    const failures = new Failures()
    const accepted = mayChange(f)
    const before = await snapshot()
    // One at a time: the answers (and what each write leaves for the next) depend on the seed alone.
    for (const request of cases) {
      const answer = await send(request)
      if (TRACE)
        console.log(
          `${request.who}: ${request.method} ${request.path.slice(0, 120)} → ${answer.status ?? answer.error} ${excerptOf(answer.text)}`
        )
      checkRestAnswer(request, answer, rules, keep, failures)
      if (
        answer.status !== undefined &&
        answer.status < 300 &&
        !['GET', 'HEAD', 'OPTIONS'].includes(request.method)
      ) {
        acceptedIds(parseJson(answer.text), accepted)
      }
    }
    for (const { where, row } of unexplainedChanges(before, await snapshot(), accepted)) {
      failures.add('a refused request changed a row', where, '', row)
    }
    failures.assertNone('REST answers')
  })

  it(`sockets: every call acknowledged, no 5xx, no leak, refused writes change nothing (seed ${SEED})`, async () => {
    const random = new Random(SEED ^ 0x9e3779b9)
    const calls = [
      ...corpusSocketCalls(random, f),
      ...range(SOCKET_RANDOM_CASES).map(() => randomSocketCall(random, f))
    ]
    const sockets = { anonymous: new RawSocket(), owner: new RawSocket(f.owner.token) }
    const failures = new Failures()
    const accepted = mayChange(f)
    const before = await snapshot()
    try {
      for (const call of calls) {
        const ack = await runSocketCall(call, sockets, accepted)
        if (call.fireAndForget) checkAlive(call, ack, failures)
        else checkAck(call, ack, rules, keep, failures)
      }
    } finally {
      sockets.anonymous.close()
      sockets.owner.close()
    }
    checkSockets(sockets, rules, keep, failures)
    if (TRACE)
      console.log(
        `events: ${sockets.owner.events.length} to the owner, ${sockets.anonymous.events.length} to the anonymous socket`
      )
    for (const { where, row } of unexplainedChanges(before, await snapshot(), accepted)) {
      failures.add('a refused request changed a row', where, '', row)
    }
    failures.assertNone('socket calls')
  })
})
