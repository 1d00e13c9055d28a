import assert from 'node:assert/strict'
import type { Socket } from 'socket.io-client'
import { assertError, created, http, signUp, validPatient } from '../helpers'
import type { TestUser } from '../helpers'
import { assertSocketError, call, eachRow, socketPool, unchanged } from './support'

// Queries no service takes, in a query string and over a socket: each is a 400 before any SQL,
// and a write that carried one changed nothing.

interface Fixture {
  alice: TestUser
  /** Alice's only patient. */
  patient: any
}

interface QueryString {
  name: string
  method?: 'GET' | 'PATCH'
  /** The path and its query string. */
  url: (f: Fixture) => string
  /** For a PATCH: a valid change, refused for its query alone. */
  body?: unknown
  /** A 400 BadRequest unless said otherwise. */
  status?: number
  error?: string
}

const list = (count: number, item: (index: number) => string) =>
  Array.from({ length: count }, (_, index) => item(index)).join('&')

/** Query strings on a collection, each a 400. */
const ON_A_COLLECTION: Array<[string, string, string]> = [
  ['/api/patients', 'an id that is not a UUID', 'id=not-a-uuid'],
  ['/api/patients', 'the owner field, with an operator', 'userId[$in][]=x'],
  ['/api/patients', 'text for a number', 'age=abc'],
  ['/api/patients', 'a number past a double (1e400)', 'age=1e400'],
  ['/api/patients', 'an integer past PostgreSQL’s', 'age[$gt]=99999999999999999999999'],
  ['/api/patients', 'a $limit past PostgreSQL’s', '$limit=99999999999999999999'],
  ['/api/patients', 'a negative $skip', '$skip=-5'],
  ['/api/patients', 'a fractional $skip', '$skip=1.5'],
  ['/api/patients', '$sort by 2', '$sort[age]=2'],
  ['/api/patients', '$sort by an unknown field', '$sort[nope]=1'],
  ['/api/patients', '$select of the password', '$select[]=password'],
  ['/api/patients', '$like, an operator not offered', 'name[$like]=%25'],
  ['/api/patients', '$regex', 'name[$regex]=.*'],
  ['/api/patients', 'eight levels of brackets', 'a[b][c][d][e][f][g][h]=1'],
  ['/api/patients', 'nested $or', '$or[0][$or][0][$or][0][name]=x'],
  ['/api/patients', 'an operator inside $in', 'name[$in][0][$gt]=1'],
  ['/api/patients', '$or that is no list', `$or=${encodeURIComponent('not-an-array')}`],
  ['/api/patients', '500 $or clauses', list(500, (index) => `$or[${index}][name]=x`)],
  ['/api/patients', '2,000 parameters', list(2000, (index) => `k${index}=1`)],
  ['/api/patients', 'a $skip that is not finite', '$skip=1e309'],
  ['/api/patients', 'a $limit that is not finite', '$limit=1e309'],
  ['/api/patients', 'Infinity', 'age=Infinity'],
  ['/api/patients', 'a bound that is not finite', 'age[$gt]=-1e999'],
  ['/users', 'the password', 'password=x'],
  ['/users', 'an unknown field', 'unknown=1'],
  ['/users', '$regex on users', 'name[$regex]=a'],
  ['/users', 'text for $limit', '$limit=abc'],
  ['/users', 'a negative $limit', '$limit=-1'],
  ['/users', 'a $skip past PostgreSQL’s', '$skip=1e300'],
  ['/users', '$sort by the password', '$sort[password]=1']
]

/**
 * Query strings the parser (qs) would read as less than they say: a parameter named after a
 * property of Object.prototype, or one past 1,000 parameters, would be dropped without a word.
 */
const DROPPED = [
  '$ifMatch[__proto__]=1',
  '__proto__[age]=1',
  'toString=1',
  'age[hasOwnProperty]=1',
  '%5F_proto__=1'
]

const QUERY_STRINGS: QueryString[] = [
  ...ON_A_COLLECTION.map(([path, name, query]) => ({
    name: `GET ${path}: ${name}`,
    url: () => `${path}?${query}`
  })),
  ...DROPPED.flatMap((query): QueryString[] => [
    { name: `GET /api/patients?${query}`, url: () => `/api/patients?${query}` },
    {
      name: `PATCH a patient with ?${query}`,
      method: 'PATCH',
      url: (f) => `/api/patients/${f.patient.id}?${query}`,
      body: { age: 77 }
    }
  ]),
  {
    // Longer than the HTTP parser takes for a request line and its headers (16 kB).
    name: 'GET /api/patients: a name of 20,000 characters',
    url: () => `/api/patients?name=${'x'.repeat(20_000)}`,
    status: 431,
    error: 'RequestHeaderFieldsTooLarge'
  },
  {
    name: 'PATCH a patient with $ifMatch past 1,000 empty parameters',
    method: 'PATCH',
    url: (f) => `/api/patients/${f.patient.id}?${'&'.repeat(1000)}$ifMatch=9`,
    body: { age: 77 }
  }
]

interface SocketQuery {
  name: string
  path?: (f: Fixture) => string
  query: unknown
}

const ages = (count: number) => Array.from({ length: count }, (_, index) => index % 150)
const within = { $in: Array.from({ length: 100 }, (_, index) => index) }

const SOCKET_QUERIES: SocketQuery[] = [
  { name: 'a list of 101 items', query: { age: { $in: ages(101) } } },
  { name: 'a list of 65,534 items', query: { age: { $in: ages(65_534) } } },
  { name: 'a list of 140,000 items', query: { age: { $in: ages(140_000) } } },
  {
    name: 'nested clauses whose values add up past the limit',
    query: {
      $and: Array.from({ length: 20 }, () => ({ $or: Array.from({ length: 20 }, () => ({ age: within })) }))
    }
  },
  // A query string can say neither null nor a boolean: a socket's query may not either.
  { name: 'null as $limit', query: { $limit: null } },
  { name: 'null as a value', query: { age: null } },
  { name: 'a boolean as a value', query: { age: true } },
  { name: 'a boolean in a list', query: { age: { $in: [false] } } },
  { name: 'a boolean as $skip', query: { $skip: false } },
  {
    name: 'null as $limit of a history',
    path: (f) => `patients/${f.patient.id}/history`,
    query: { $limit: null }
  },
  { name: 'half a surrogate pair', query: { name: '\udfff' } }
]

describe('bad input: queries', () => {
  const f = {} as Fixture
  const sockets = socketPool()
  let socket: Socket

  before(async () => {
    f.alice = await signUp('Alice')
    f.patient = await created('/api/patients', f.alice, validPatient())
    socket = await sockets.as(f.alice)
  })

  describe('in a query string: refused, nothing changed', () => {
    eachRow(QUERY_STRINGS, async ({ method = 'GET', url, body, status = 400, error = 'BadRequest' }) => {
      const check = await unchanged(f.alice, [{ path: `/api/patients/${f.patient.id}`, record: f.patient }])
      assertError(await http(method, url(f), { token: f.alice.token, body }), status, error)
      await check()
    })

    it('a prototype name as a value is a value like any other', async () => {
      const reply = await http('GET', '/api/patients?name=constructor', { token: f.alice.token })
      assert.deepEqual([reply.status, reply.body.total], [200, 0])
    })
  })

  describe('over a socket: a 400', () => {
    eachRow(SOCKET_QUERIES, async ({ path, query }) => {
      assertSocketError(await call(socket, 'find', path?.(f) ?? 'patients', query), 400)
    })

    it('a list within the limits is answered', async () => {
      const { error, result } = await call(socket, 'find', 'patients', { age: within })
      assert.equal(error, null)
      assert.deepEqual(
        result.data.map(({ id }: { id: string }) => id),
        [f.patient.id]
      )
    })

    it('text and numbers are answered', async () => {
      const { error, result } = await call(socket, 'find', 'patients', { age: f.patient.age, $limit: 5 })
      assert.equal(error, null)
      assert.deepEqual([result.limit, result.data.map(({ id }: { id: string }) => id)], [5, [f.patient.id]])
    })
  })
})
