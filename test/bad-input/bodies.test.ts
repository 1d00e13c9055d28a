import assert from 'node:assert/strict'
import type { Socket } from 'socket.io-client'
import { assertError, created, http, signUp, validDoctor, validPatient } from '../helpers'
import type { Reply, TestUser } from '../helpers'
import { assertSocketError, call, eachRow, socketPool, unchanged } from './support'

// Bodies that are not what a route takes, over REST and over sockets: each is refused with the
// error named here, and changes nothing (no row of any table, neither record below).

interface Fixture {
  alice: TestUser
  patient: any
  doctor: any
}

interface RestBody {
  name: string
  method: string
  path: (f: Fixture) => string
  /** Sent as JSON. */
  body?: unknown
  /** Sent as is. */
  rawBody?: string
  headers?: Record<string, string>
  /** Without a token (alice's by default). */
  anonymous?: boolean
  status: number
  error: string
  /** More to check of the answer. */
  answer?: (reply: Reply) => void
}

const patientPath = (f: Fixture) => `/api/patients/${f.patient.id}`
const doctorPath = (f: Fixture) => `/api/doctors/${f.doctor.id}`
const userPath = (f: Fixture) => `/users/${f.alice.id}`
const post = (path: string) => () => path

const register = { name: 'A', email: 'big@example.org', password: 'long enough' }
const deeplyNested = '{"name":' + '{"a":'.repeat(500) + '1' + '}'.repeat(500) + ',"age":1,"disease":"x"}'
const eightThousandKeys = Object.fromEntries(Array.from({ length: 8000 }, (_, index) => [`k${index}`, 1]))

/** An array where one record belongs: every write refuses it, whatever it holds. */
const ARRAYS: Array<[string, unknown]> = [
  ['two objects', [{ name: 'x' }, { name: 'y' }]],
  ['an empty array', []],
  ['an array of one valid record', [validPatient()]]
]
/** Where each array is sent, and what it is answered there. */
const ARRAY_TARGETS: Array<[string, string, (f: Fixture) => string, number, string]> = [
  ['PATCH', 'a patient', patientPath, 400, 'BadRequest'],
  ['PUT', 'a patient', patientPath, 400, 'BadRequest'],
  ['PATCH', 'a user', userPath, 400, 'BadRequest'],
  // Users offer no update at all.
  ['PUT', 'a user', userPath, 405, 'MethodNotAllowed'],
  ['PATCH', 'a doctor', doctorPath, 400, 'BadRequest'],
  ['PUT', 'a doctor', doctorPath, 400, 'BadRequest'],
  ['POST', 'a patient', post('/api/patients'), 400, 'BadRequest'],
  ['POST', 'a mapping', post('/api/mappings'), 400, 'BadRequest']
]
const arrayRows: RestBody[] = ARRAYS.flatMap(([label, body]) =>
  ARRAY_TARGETS.map(([method, what, path, status, error]) => ({
    name: `${method} ${what} with ${label}`,
    method,
    path,
    body,
    status,
    error
  }))
)

const LARGE = validPatient({ disease: 'x'.repeat(150_000) })
const largeOverRest: RestBody = {
  name: 'a patient over 100 kB',
  method: 'POST',
  path: post('/api/patients'),
  body: LARGE,
  status: 413,
  error: 'PayloadTooLarge'
}

/** A new patient of a body that is no patient: a 400. */
const newPatient = (name: string, rawBody: string): RestBody => ({
  name,
  method: 'POST',
  path: post('/api/patients'),
  rawBody,
  status: 400,
  error: 'BadRequest'
})

const REST_BODIES: RestBody[] = [
  largeOverRest,
  {
    name: 'malformed JSON is a 400 saying so',
    method: 'POST',
    path: post('/api/auth/register'),
    anonymous: true,
    rawBody: '{"name": "A", ',
    status: 400,
    error: 'BadRequest',
    answer: ({ body }) => {
      assert.equal(body.message, 'Malformed JSON in request body')
      assert.equal(body.className, 'bad-request')
    }
  },
  newPatient('truncated JSON', '{"name":'),
  newPatient('null', 'null'),
  newPatient('a number', '42'),
  newPatient('a string', '"patient"'),
  newPatient('a deeply nested object', deeplyNested),
  newPatient('an age beyond any number (1e999) in a patient', '{"name":"A","age":1e999,"disease":"x"}'),
  {
    name: 'an age beyond any number (1e999) in a doctor',
    method: 'POST',
    path: post('/api/doctors'),
    rawBody: '{"name":"A","age":1e999,"specialty":"x"}',
    status: 400,
    error: 'BadRequest'
  },
  newPatient('a __proto__ key', '{"name":"A","age":1,"disease":"x","__proto__":{"admin":true}}'),
  {
    name: 'a form instead of JSON',
    method: 'POST',
    path: post('/api/patients'),
    rawBody: 'name=A&age=1&disease=x',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    status: 400,
    error: 'BadRequest',
    answer: ({ body }) => assert.equal(body.message, 'The body must be one record (a JSON object)')
  },
  ...['gzip', 'br', 'deflate'].map((encoding): RestBody => ({
    name: `a JSON body that says Content-Encoding: ${encoding}`,
    method: 'POST',
    path: post('/api/patients'),
    rawBody: JSON.stringify(validPatient()),
    headers: { 'content-encoding': encoding },
    status: 400,
    error: 'BadRequest'
  })),
  {
    name: 'a body over 100 kB is a 413',
    method: 'POST',
    path: post('/api/auth/register'),
    anonymous: true,
    body: { ...register, name: 'x'.repeat(200 * 1024) },
    status: 413,
    error: 'PayloadTooLarge'
  },
  {
    name: '8,000 unknown keys: the error names 20 problems, not 8,000',
    method: 'POST',
    path: post('/api/patients'),
    body: eightThousandKeys,
    status: 400,
    error: 'BadRequest',
    answer: ({ body }) => assert.equal(body.data.length, 20)
  },
  newPatient('half a surrogate pair in a new patient', '{"name":"a\\ud800b","age":40,"disease":"Flu"}'),
  {
    name: 'half a surrogate pair in a patch',
    method: 'PATCH',
    path: patientPath,
    rawBody: '{"name":"a\\udc00"}',
    status: 400,
    error: 'BadRequest'
  },
  ...arrayRows
]

/** A socket call with data no service takes. */
interface SocketBody {
  name: string
  args: (f: Fixture) => unknown[]
  code: number
  /** The error must be this REST answer's body, as it is. */
  sameAsRest?: RestBody
}

const SOCKET_BODIES: SocketBody[] = [
  {
    name: 'patch with an array of two objects',
    args: (f) => ['patch', 'patients', f.patient.id, [{ name: 'x' }, { name: 'y' }], {}],
    code: 400
  },
  { name: 'patch with an empty array', args: (f) => ['patch', 'doctors', f.doctor.id, [], {}], code: 400 },
  {
    name: 'create with an array of two valid records',
    args: () => ['create', 'patients', [validPatient(), validPatient()], {}],
    code: 400
  },
  {
    name: 'half a surrogate pair in a new patient',
    args: () => ['create', 'patients', { ...validPatient(), name: 'a\ud800' }, {}],
    code: 400
  },
  {
    name: 'create over 100 kB: the 413 of REST',
    args: () => ['create', 'patients', LARGE],
    code: 413,
    sameAsRest: largeOverRest
  },
  {
    name: 'update over 100 kB: the 413 of REST',
    args: (f) => ['update', 'patients', f.patient.id, LARGE],
    code: 413,
    sameAsRest: largeOverRest
  },
  {
    name: 'patch over 100 kB: the 413 of REST',
    args: (f) => ['patch', 'patients', f.patient.id, { disease: LARGE.disease }],
    code: 413,
    sameAsRest: largeOverRest
  },
  {
    // Under the limit the data is read: a disease too long is the schema's 400.
    name: 'create under 100 kB with a disease too long: the schema’s 400',
    args: () => ['create', 'patients', validPatient({ disease: 'x'.repeat(90_000) })],
    code: 400
  }
]

async function restCall(f: Fixture, { method, path, body, rawBody, headers, anonymous }: RestBody) {
  return http(method, path(f), { token: anonymous ? undefined : f.alice.token, body, rawBody, headers })
}

describe('bad input: bodies', () => {
  const f = {} as Fixture
  const sockets = socketPool()
  let socket: Socket

  before(async () => {
    f.alice = await signUp('Alice')
    f.patient = await created('/api/patients', f.alice, validPatient())
    f.doctor = await created('/api/doctors', f.alice, validDoctor())
    socket = await sockets.as(f.alice)
  })

  const nothingChanged = () =>
    unchanged(f.alice, [
      { path: patientPath(f), record: f.patient },
      { path: doctorPath(f), record: f.doctor }
    ])

  describe('over REST: refused, nothing changed', () => {
    eachRow(REST_BODIES, async (row) => {
      const check = await nothingChanged()
      const reply = await restCall(f, row)
      assertError(reply, row.status, row.error)
      row.answer?.(reply)
      await check()
    })
  })

  describe('over a socket: refused, nothing changed', () => {
    eachRow(SOCKET_BODIES, async ({ args, code, sameAsRest }) => {
      const check = await nothingChanged()
      const answer = await call(socket, ...args(f))
      assertSocketError(answer, code)
      if (sameAsRest) {
        assert.deepEqual(answer.error, (await restCall(f, sameAsRest)).body)
      }
      await check()
    })
  })

  it('a whole surrogate pair is one character like any other', async () => {
    const patient = await created('/api/patients', f.alice, validPatient())
    const emoji = await http('PATCH', `/api/patients/${patient.id}`, {
      token: f.alice.token,
      body: { name: 'Jane \ud83d\ude00' }
    })
    assert.deepEqual([emoji.status, emoji.body.name], [200, 'Jane 😀'])
  })
})
