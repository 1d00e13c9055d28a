// Hostile pieces the cases are made of: paths, ids, query strings, values, keys, bodies, content
// types and encodings over REST; events, paths, queries, ids and data over sockets.
import { gzipSync } from 'node:zlib'
import { CREATE_ROUTES, LOGOUT_ROUTE, SERVICE_ROUTES, apiRoutesOf } from '../../src/http/api-aliases'
import { resources } from '../../src/services'
import { validDoctor, validPatient } from '../helpers'
import type { Fixtures } from './fixtures'
import { range } from './generator'
import type { Random } from './generator'

export const safeDecode = (value: string) => {
  try {
    return decodeURIComponent(value)
  } catch {
    return value
  }
}

/** Every service: the declared resources, authentication and sessions. */
export const SERVICE_PATHS = [...resources.map(({ path }) => path), 'authentication', 'sessions']

/** Every route a client starts from: the service paths and the `/api` routes (src/http/api-aliases.ts). */
export const REST_BASES = [
  ...SERVICE_PATHS.map((path) => `/${path}`),
  ...apiRoutesOf(resources).map(({ service }) => `/api/${service}`),
  ...Object.keys(CREATE_ROUTES),
  LOGOUT_ROUTE,
  ...Object.keys(SERVICE_ROUTES)
]

export const PROTOTYPE_NAMES = [
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
export const HOSTILE_ID_SEGMENTS = [
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
export const uuidLike = (id: string) => [
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

export const HOSTILE_PATHS = [
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
export function queryPieces(f: Fixtures) {
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
export const WHOLE_QUERIES = [
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
export const raw = (literal: string) => `@@RAW:${literal}@@`
export const withRawLiterals = (json: string) => json.replace(/"@@RAW:(.*?)@@"/g, '$1')

/** Values that fit no field. Strings here are stored if a write succeeds, so none looks like SQL or a name of the schema. */
export const HOSTILE_VALUES: unknown[] = [
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

export const HOSTILE_KEYS = [
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

export function validBodyFor(service: string, f: Fixtures, random: Random): Record<string, unknown> {
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
export function mutated(body: Record<string, unknown>, random: Random): Record<string, unknown> {
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

export interface Body {
  bytes: Buffer
  label: string
}

export const text = (json: string, label: string): Body => ({ bytes: Buffer.from(json), label })

/** Bodies of every wrong shape, malformed JSON included, by the name the report gives them. */
export function bodyShapes(service: string, f: Fixtures, random: Random): Record<string, () => Body> {
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
export function hostileBody(service: string, f: Fixtures, random: Random, shape?: string): Body {
  const shapes = bodyShapes(service, f, random)
  const name = shape ?? (random.chance(0.3) ? 'a mutated object' : random.pick(Object.keys(shapes)))
  return shapes[name]()
}

export const CONTENT_TYPES = [
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

export const CONTENT_ENCODINGS = [
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

export const SERVICE_METHOD_OVERRIDES = [
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

export const SOCKET_METHODS = ['find', 'get', 'create', 'update', 'patch', 'remove']
/** Events that are no method of any service. (socket.io-client refuses its reserved names itself.) */
export const NON_METHOD_EVENTS = [
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

export const HOSTILE_SOCKET_PATHS: unknown[] = [
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
export function hostileSocketQueries(f: Fixtures): unknown[] {
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

export const HOSTILE_SOCKET_IDS = (f: Fixtures): unknown[] => [
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
export function hostileSocketData(service: string, f: Fixtures, random: Random): unknown {
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
