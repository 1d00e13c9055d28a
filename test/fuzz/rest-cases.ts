// The classes of REST cases: each listed hostile piece at least once, whatever the seed, then
// requests made at random of every piece. Each class is one test, with a generator of its own.
import { validPatient } from '../helpers'
import type { Fixtures } from './fixtures'
import { REST_RANDOM_CASES, range } from './generator'
import type { Random } from './generator'
import {
  CONTENT_ENCODINGS,
  CONTENT_TYPES,
  HOSTILE_ID_SEGMENTS,
  HOSTILE_PATHS,
  HOSTILE_VALUES,
  WHOLE_QUERIES,
  hostileBody,
  queryPieces,
  text,
  uuidLike,
  withRawLiterals
} from './pieces'
import { randomRestCase, serviceOf } from './rest'
import type { RestCase } from './rest'

export interface RestClass {
  name: string
  cases: (random: Random, f: Fixtures) => RestCase[]
}

const ACCEPT = { accept: 'application/json' }
const ANONYMOUS_JSON = { ...ACCEPT, 'content-type': 'application/json' }
const asOwner = (f: Fixtures) => ({ ...ACCEPT, authorization: `Bearer ${f.owner.token}` })
const asOwnerWithJson = (f: Fixtures) => ({ ...asOwner(f), 'content-type': 'application/json' })
const bearer = (token: string) => ({ ...ACCEPT, authorization: `Bearer ${token}` })

/** Every query piece, and every whole query string, once each. */
const allQueryPieces = (f: Fixtures) => [...queryPieces(f), ...WHOLE_QUERIES.map((query) => query.slice(1))]

/** The writes every body shape, encoding and content type is sent to. */
const writes = (f: Fixtures): Array<[string, string]> => [
  ['POST', '/api/patients'],
  ['PATCH', `/api/patients/${f.patients[0]}`],
  ['PUT', `/api/doctors/${f.doctors[0]}`],
  ['PATCH', `/api/doctors/${f.otherDoctors[0]}`],
  ['POST', '/api/mappings'],
  ['POST', '/api/auth/register'],
  ['POST', '/api/auth/login'],
  ['PATCH', `/users/${f.owner.id}`]
]

const WRONG_SHAPES = [
  '[]',
  '[valid]',
  '[valid, valid]',
  'a scalar',
  '__proto__ key',
  'deep objects',
  'malformed JSON',
  '8000 unknown keys'
]

const plainPatient = () => text(JSON.stringify(validPatient()), 'plain')

/** Random requests, in batches of this many: one test each. */
const RANDOM_BATCH = 50

export const REST_CLASSES: RestClass[] = [
  {
    name: 'paths that name no route, as the owner',
    cases: (_random, f) =>
      HOSTILE_PATHS.map((path) => ({ who: 'owner', method: 'GET', path, headers: asOwner(f) }))
  },
  {
    name: 'ids that are not ids, with every method',
    cases: (_random, f) =>
      HOSTILE_ID_SEGMENTS.map((id, index) => {
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
        return {
          who: 'owner',
          method,
          path: `${base}/${id}`,
          headers: body ? asOwnerWithJson(f) : asOwner(f),
          body
        }
      })
  },
  {
    name: 'query strings of every hostile piece, on the collections',
    cases: (random, f) =>
      allQueryPieces(f).map((piece) => ({
        who: 'owner',
        method: 'GET',
        path: `${random.pick(['/api/patients', '/api/doctors', '/api/mappings', '/users', '/api/audit'])}?${piece}`,
        headers: asOwner(f)
      }))
  },
  {
    name: 'bodies of every wrong shape, on every write',
    cases: (random, f) =>
      writes(f).flatMap(([method, path]) =>
        WRONG_SHAPES.map((shape) => ({
          who: 'owner',
          method,
          path,
          headers: asOwnerWithJson(f),
          body: hostileBody(serviceOf(path), f, random, shape)
        }))
      )
  },
  {
    name: 'content encodings and content types that do not match the body, on every write',
    cases: (_random, f) => [
      ...writes(f).flatMap(([method, path], index): RestCase[] => [
        {
          who: 'owner',
          method,
          path,
          headers: {
            ...asOwnerWithJson(f),
            'content-encoding': CONTENT_ENCODINGS[index % CONTENT_ENCODINGS.length]
          },
          body: plainPatient()
        },
        {
          who: 'owner',
          method,
          path,
          headers: { ...asOwner(f), 'content-type': CONTENT_TYPES[index + 2] },
          body: text('name=A&age=1', 'a form')
        }
      ]),
      ...['gzip', 'br', 'deflate'].map((encoding) => ({
        who: 'owner',
        method: 'POST',
        path: '/api/patients',
        headers: { ...asOwnerWithJson(f), 'content-encoding': encoding },
        body: plainPatient()
      }))
    ]
  },
  {
    name: 'access tokens that are not valid: a 401 on every authenticated route, no session from a JWT login',
    cases: (_random, f) =>
      f.invalidTokens.flatMap(({ label, token }): RestCase[] => [
        ...['/api/patients', '/users', '/api/audit', `/api/doctors/${f.doctors[0]}`].map((path) => ({
          who: label,
          method: 'GET',
          path,
          headers: bearer(token),
          expectUnauthenticated: true
        })),
        {
          who: 'anonymous',
          method: 'POST',
          path: '/authentication',
          headers: ANONYMOUS_JSON,
          body: text(JSON.stringify({ strategy: 'jwt', accessToken: token }), 'a JWT login')
        },
        { who: label, method: 'DELETE', path: '/authentication', headers: bearer(token) }
      ])
  },
  {
    name: 'logouts without a session: anonymous, or naming a token that is not the caller’s',
    cases: (_random, f) => [
      ...[
        '/authentication/abc',
        `/authentication/${f.owner.token}`,
        '/authentication/__proto__',
        '/authentication'
      ].map((path) => ({ who: 'anonymous', method: 'DELETE', path, headers: ACCEPT })),
      {
        who: 'owner',
        method: 'DELETE',
        path: `/authentication/${f.invalidTokens[0].token}`,
        headers: asOwner(f)
      },
      { who: 'anonymous', method: 'POST', path: '/api/auth/logout', headers: ACCEPT }
    ]
  },
  {
    name: 'refresh tokens that get nothing: a 401 at the alias and at the service path',
    cases: (_random, f) =>
      f.refreshTokens.flatMap(({ label, token }): RestCase[] => [
        {
          who: 'anonymous',
          method: 'POST',
          path: '/api/auth/refresh',
          headers: ANONYMOUS_JSON,
          body: text(JSON.stringify({ refreshToken: token }), label),
          expectUnauthenticated: true
        },
        {
          who: 'anonymous',
          method: 'POST',
          path: '/authentication',
          headers: ANONYMOUS_JSON,
          body: text(JSON.stringify({ strategy: 'refresh', refreshToken: token }), label),
          expectUnauthenticated: true
        }
      ])
  },
  {
    name: 'refresh tokens of another type than text',
    cases: () =>
      HOSTILE_VALUES.map((value) => ({
        who: 'anonymous',
        method: 'POST',
        path: '/api/auth/refresh',
        headers: ANONYMOUS_JSON,
        // A number past what JSON allows is a 400 before it reaches a strategy.
        body: text(
          withRawLiterals(JSON.stringify({ refreshToken: value })),
          'a refresh token of another type'
        )
      }))
  },
  {
    name: 'refresh bodies of every wrong shape',
    cases: (random, f) =>
      ['[]', '[valid]', 'a scalar', '__proto__ key', 'deep objects', 'malformed JSON'].map((shape) => ({
        who: 'anonymous',
        method: 'POST',
        path: '/api/auth/refresh',
        headers: ANONYMOUS_JSON,
        body: hostileBody('authentication', f, random, shape)
      }))
  },
  {
    name: 'logouts and sessions with access tokens that are not valid: a 401',
    cases: (_random, f) =>
      f.invalidTokens.flatMap(({ label, token }): RestCase[] => [
        {
          who: label,
          method: 'POST',
          path: '/api/auth/logout',
          headers: bearer(token),
          expectUnauthenticated: true
        },
        {
          who: label,
          method: 'GET',
          path: '/api/auth/sessions',
          headers: bearer(token),
          expectUnauthenticated: true
        },
        {
          who: label,
          method: 'DELETE',
          path: `/api/auth/sessions/${f.spareSessions[0]}`,
          headers: bearer(token),
          expectUnauthenticated: true
        }
      ])
  },
  {
    name: 'the owner’s sessions, ended with ids that are not theirs or no ids',
    cases: (_random, f) =>
      [...HOSTILE_ID_SEGMENTS, ...uuidLike(f.otherSessions[0]), f.otherSessions[0]].map((id) => ({
        who: 'owner',
        method: 'DELETE',
        path: `/api/auth/sessions/${id}`,
        headers: asOwner(f)
      }))
  },
  {
    name: 'the owner’s sessions, found with query strings of every hostile piece',
    cases: (_random, f) =>
      allQueryPieces(f).map((piece) => ({
        who: 'owner',
        method: 'GET',
        path: `/api/auth/sessions?${piece}`,
        headers: asOwner(f)
      }))
  },
  ...range(REST_RANDOM_CASES / RANDOM_BATCH).map((batch): RestClass => ({
    name: `random requests ${batch * RANDOM_BATCH + 1}–${(batch + 1) * RANDOM_BATCH}`,
    cases: (random, f) => range(RANDOM_BATCH).map(() => randomRestCase(random, f))
  }))
]
