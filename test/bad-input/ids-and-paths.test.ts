import type { Socket } from 'socket.io-client'
import { assertError, created, http, signUp, validPatient } from '../helpers'
import type { TestUser } from '../helpers'
import { assertSocketError, call, eachRow, socketPool } from './support'

// Ids that are not UUIDs, paths that name no service, names of Object.prototype where a service or
// an id belongs, and malformed percent-encoding: each is answered with the error named here,
// before any SQL, over REST and over sockets.

interface Fixture {
  alice: TestUser
  patient: any
}

interface RestPath {
  name: string
  method: string
  path: (f: Fixture) => string
  /** With alice's token. */
  token: boolean
  body?: unknown
  status: number
  error: string
}

const NOT_UUIDS: Array<[string, string]> = [
  ['/api/patients/abc', 'a word'],
  ['/api/doctors/1', 'a number'],
  ['/mappings/%27%20OR%201=1', 'SQL'],
  ['/api/patients/00000000-0000-0000-0000-00000000000g', 'a UUID with a letter past f']
]

function notAUuid(path: string, label: string): RestPath[] {
  // Mappings are never updated or patched: those methods are not offered at all.
  const offered = (method: string) => !path.startsWith('/mappings') || ['GET', 'DELETE'].includes(method)
  return ['GET', 'PATCH', 'PUT', 'DELETE'].map((method) => ({
    name: `${method} ${path}: ${label} as an id`,
    method,
    path: () => path,
    token: true,
    body: method === 'PATCH' || method === 'PUT' ? validPatient() : undefined,
    ...(offered(method) ? { status: 400, error: 'BadRequest' } : { status: 405, error: 'MethodNotAllowed' })
  }))
}

const get = (path: string, token: boolean, status: number, error: string, name: string): RestPath => ({
  name: `GET ${path}${token ? '' : ' without a token'}: ${name}`,
  method: 'GET',
  path: () => path,
  token,
  status,
  error
})

/** Names of Object.prototype where a service belongs: an unknown path. */
const PROTOTYPE_PATHS = ['/__proto__', '/constructor/x', '/toString', '/hasOwnProperty/x', '/api/__proto__']
/** Names of Object.prototype where an id belongs: no token first, then an id that is no UUID. */
const PROTOTYPE_IDS = [
  '/patients/__proto__',
  '/patients/constructor',
  '/api/patients/toString',
  '/api/doctors/__proto__'
]

const REST_PATHS: RestPath[] = [
  ...NOT_UUIDS.flatMap(([path, label]) => notAUuid(path, label)),
  get('/users/not-a-uuid', true, 400, 'BadRequest', 'an id that is not a UUID'),
  get('/api/nothing-here', false, 404, 'NotFound', 'a path no service has'),
  ...PROTOTYPE_PATHS.map((path) => get(path, false, 404, 'NotFound', 'a prototype name is no service')),
  ...PROTOTYPE_IDS.flatMap((path) => [
    get(path, false, 401, 'NotAuthenticated', 'no token comes first'),
    get(path, true, 400, 'BadRequest', 'a prototype name is no id')
  ]),
  get('/api/mappings/%ZZ', false, 400, 'BadRequest', 'malformed percent-encoding'),
  get('/api/mappings/%E0%A4%A', true, 400, 'BadRequest', 'a truncated UTF-8 sequence'),
  get('/api/patients/%ZZ', true, 400, 'BadRequest', 'malformed percent-encoding'),
  ...['/authentication/abc', '/authentication/__proto__'].map((path): RestPath => ({
    name: `DELETE ${path} without a session: a logout of nobody`,
    method: 'DELETE',
    path: () => path,
    token: false,
    status: 401,
    error: 'NotAuthenticated'
  }))
]

interface SocketPath {
  name: string
  /** Over alice's socket, or an anonymous one. */
  authenticated: boolean
  args: (f: Fixture) => unknown[]
  code: number
}

const NO_SERVICE = ['__proto__', 'constructor', 'toString', '', 42, null]

/** Ids that name no record, and what a remove with one answers. */
const NO_IDS: Array<{ label: string; id: (f: Fixture) => unknown; remove: number }> = [
  // Without an id, a remove would be of many records: not offered.
  { label: 'null', id: () => null, remove: 405 },
  { label: '42', id: () => 42, remove: 400 },
  { label: '{"$ne":null}', id: () => ({ $ne: null }), remove: 400 },
  { label: '["x"]', id: () => ['x'], remove: 400 },
  { label: '"constructor"', id: () => 'constructor', remove: 400 },
  { label: 'a UUID with one more letter', id: (f) => `${f.patient.id.toUpperCase()}x`, remove: 400 }
]

const SOCKET_PATHS: SocketPath[] = [
  ...[false, true].flatMap((authenticated) =>
    NO_SERVICE.map((path) => ({
      name: `find on ${JSON.stringify(path)}${authenticated ? '' : ', anonymous'}: no such service`,
      authenticated,
      args: () => ['find', path, {}],
      code: 404
    }))
  ),
  { name: 'a get without an id', authenticated: true, args: () => ['get', 'patients'], code: 400 },
  ...NO_IDS.flatMap(({ label, id, remove }): SocketPath[] => [
    {
      name: `get with ${label} as the id`,
      authenticated: true,
      args: (f) => ['get', 'patients', id(f), {}],
      code: 400
    },
    {
      name: `remove with ${label} as the id`,
      authenticated: true,
      args: (f) => ['remove', 'mappings', id(f), {}],
      code: remove
    }
  ]),
  {
    name: 'a logout of nobody, naming a session',
    authenticated: false,
    args: () => ['remove', 'authentication', 'abc', {}],
    code: 401
  },
  { name: 'a logout of nobody', authenticated: false, args: () => ['remove', 'authentication'], code: 401 }
]

describe('bad input: ids and paths', () => {
  const f = {} as Fixture
  const sockets = socketPool()
  let anonymous: Socket
  let asAlice: Socket

  before(async () => {
    f.alice = await signUp('Alice')
    f.patient = await created('/api/patients', f.alice, validPatient())
    anonymous = await sockets.anonymous()
    asAlice = await sockets.as(f.alice)
  })

  describe('over REST', () => {
    eachRow(REST_PATHS, async ({ method, path, token, body, status, error }) => {
      assertError(
        await http(method, path(f), { token: token ? f.alice.token : undefined, body }),
        status,
        error
      )
    })
  })

  describe('over a socket', () => {
    eachRow(SOCKET_PATHS, async ({ authenticated, args, code }) => {
      assertSocketError(await call(authenticated ? asAlice : anonymous, ...args(f)), code)
    })
  })
})
