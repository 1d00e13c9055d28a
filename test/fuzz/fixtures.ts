// Fixtures: a user who owns patients, doctors and mappings, another user, and tokens; and the rows
// of the tables, so that a refused write is seen to change nothing.
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { testContext } from '../setup'
import type { AnyResource } from '../../src/declarative/declaration'
import { referencesOf } from '../../src/declarative/references'
import { resources } from '../../src/services'
import {
  created,
  http as request,
  logIn,
  signUp,
  tablesClientsWrite,
  testDatabase,
  validDoctor,
  validPatient
} from '../helpers'
import type { TestUser } from '../helpers'

export interface Fixtures {
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

export interface Credential {
  label: string
  token: string
}

export const base64url = (value: string) => Buffer.from(value).toString('base64url')
export const HMAC = { HS256: 'sha256', HS512: 'sha512' } as const

export function signJwt(
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
export function tokensFor(owner: TestUser) {
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

export async function createFixtures(): Promise<Fixtures> {
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

/** The tables a client's call may change: the declared resources' and the sessions. */
export const TABLES = [...tablesClientsWrite(), 'sessions']
export type Snapshot = Map<string, { table: string; row: Record<string, unknown>; json: string }>

export async function snapshot(): Promise<Snapshot> {
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
export function acceptedIds(result: unknown, into: Set<string>) {
  for (const record of Array.isArray(result) ? result : [result]) {
    const id = (record as { id?: unknown } | null)?.id
    if (typeof id === 'string') into.add(id.toLowerCase())
  }
}

/**
 * The fields that name another record (references, owners, creators; camelCase, as the app's Knex
 * reads them): a row whose parent went may go (or lose its creator) with it.
 */
export const FOREIGN_KEYS = [
  ...new Set(
    (resources as readonly AnyResource[]).flatMap((resource) => [
      ...referencesOf(resource).map(({ field }) => field),
      ...[resource.ownerField, resource.scopeField].filter(
        (field): field is string => Boolean(field) && field !== 'id'
      ),
      ...('creator' in resource.declaration.owner && resource.declaration.owner.creator
        ? [resource.declaration.owner.creator]
        : [])
    ])
  )
]

/** What a call may change without answering it: the session of a spent refresh token presented again ends. */
export const mayChange = (f: Fixtures) => new Set(f.spareSessions)

/**
 * Every difference between the two snapshots must come from a call that succeeded (its answer
 * named the record) or from the database's cascades of one (a removed user's patients, a removed
 * patient's or doctor's mappings, a removed creator's doctors set to no creator).
 */
export function unexplainedChanges(before: Snapshot, after: Snapshot, accepted: Set<string>) {
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
