import assert from 'node:assert/strict'
import { BadRequest, Forbidden, GeneralError, NotFound, Unavailable } from '@feathersjs/errors'
import type { FeathersError } from '@feathersjs/errors'
import { PayloadTooLarge, isDatabaseUnavailable, toPublicError } from '../../src/errors'
import type { Logger } from '../../src/logger'

// Error mapping: what leaves the server for every kind of error, and what is logged instead.

const KNEX_ORIGINAL_ERROR = Symbol.for('@feathersjs/knex/error')

/** A PostgreSQL error as pg makes it: a SQLSTATE and a severity, and the database's own text. */
const postgres = (code: string, fields: Record<string, unknown> = {}) =>
  Object.assign(new Error(`insert into "users" ... ${code} at "secret_column"`), {
    code,
    severity: 'ERROR',
    ...fields
  })

/** An error of the Knex adapter: a Feathers error carrying the database's error it came from. */
const viaAdapter = (original: unknown, wrapper: FeathersError = new GeneralError('relation "x" failed')) =>
  Object.assign(wrapper, { [KNEX_ORIGINAL_ERROR]: original })

const httpError = (status: number, fields: Record<string, unknown> = {}) =>
  Object.assign(new Error('koa-body says so'), { status, ...fields })

/** A logger that keeps what is logged as errors. */
function recordingLogger() {
  const errors: Array<{ fields: any; message: string }> = []
  const log = { error: (fields: unknown, message: string) => errors.push({ fields, message }) }
  return { log: log as unknown as Logger, errors }
}

interface Expected {
  code: number
  name: string
  message: string
  data?: unknown
}

const UNAVAILABLE: Expected = { code: 503, name: 'Unavailable', message: 'Database unavailable' }

const MAPPED: Array<[string, unknown, Expected]> = [
  [
    'a unique violation names its fields, never the values',
    postgres('23505', { detail: 'Key (email)=(a@b.c) already exists.' }),
    { code: 409, name: 'Conflict', message: 'email already exists', data: { fields: ['email'] } }
  ],
  [
    'a unique violation of an expression index names the column',
    postgres('23505', { detail: 'Key (lower(email))=(a@b.c) already exists.' }),
    { code: 409, name: 'Conflict', message: 'email already exists', data: { fields: ['email'] } }
  ],
  [
    'a unique violation of two columns names both, in camelCase',
    postgres('23505', { detail: 'Key (patient_id, doctor_id)=(1, 2) already exists.' }),
    {
      code: 409,
      name: 'Conflict',
      message: 'patientId, doctorId already exists',
      data: { fields: ['patientId', 'doctorId'] }
    }
  ],
  [
    'a unique violation without detail',
    postgres('23505'),
    { code: 409, name: 'Conflict', message: 'Record already exists', data: { fields: [] } }
  ],
  [
    'a foreign key violation names the field',
    postgres('23503', { detail: 'Key (doctor_id)=(x) is not present in table "doctors".' }),
    {
      code: 400,
      name: 'BadRequest',
      message: 'Referenced doctorId does not exist',
      data: { fields: ['doctorId'] }
    }
  ],
  [
    'a foreign key violation without detail',
    postgres('23503'),
    { code: 400, name: 'BadRequest', message: 'Referenced record does not exist', data: { fields: [] } }
  ],
  [
    'a NOT NULL violation names the column',
    postgres('23502', { column: 'user_id' }),
    { code: 400, name: 'BadRequest', message: 'Invalid data', data: { fields: ['userId'] } }
  ],
  [
    'a CHECK violation without a column',
    postgres('23514', { constraint: 'visits_status_check' }),
    { code: 400, name: 'BadRequest', message: 'Invalid data', data: { fields: [] } }
  ],
  [
    'invalid text for a type (22P02)',
    postgres('22P02'),
    { code: 400, name: 'BadRequest', message: 'Invalid value' }
  ],
  [
    'a number out of range (22003)',
    postgres('22003'),
    { code: 400, name: 'BadRequest', message: 'Invalid value' }
  ],
  [
    'a statement too complex (54001)',
    postgres('54001'),
    { code: 400, name: 'BadRequest', message: 'The request is too large or too complex' }
  ],
  ['a connection failure (08006)', postgres('08006'), UNAVAILABLE],
  ['too many connections (53300)', postgres('53300'), UNAVAILABLE],
  ['a statement timeout (57014)', postgres('57014'), UNAVAILABLE],
  ['the database shutting down (57P01)', postgres('57P01'), UNAVAILABLE],
  [
    'a refused connection',
    Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
    UNAVAILABLE
  ],
  ['a reset connection', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), UNAVAILABLE],
  [
    "knex's pool timeout",
    new Error('Knex: Timeout acquiring a connection. The pool is probably full.'),
    UNAVAILABLE
  ],
  ['a connection terminated', new Error('Connection terminated unexpectedly'), UNAVAILABLE],
  ["pg's query read timeout", new Error('Query read timeout'), UNAVAILABLE],
  [
    'a unique violation through the adapter',
    viaAdapter(postgres('23505', { detail: 'Key (email)=(a@b.c) already exists.' })),
    { code: 409, name: 'Conflict', message: 'email already exists', data: { fields: ['email'] } }
  ],
  [
    'an unreachable database through the adapter',
    viaAdapter(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })),
    UNAVAILABLE
  ],
  [
    'a request body over the limit',
    httpError(413),
    { code: 413, name: 'PayloadTooLarge', message: 'Request body is too large' }
  ],
  [
    'a body of an unsupported type',
    httpError(415),
    { code: 415, name: 'UnsupportedMediaType', message: 'Unsupported media type' }
  ],
  ['a 404 of a middleware', httpError(404), { code: 404, name: 'NotFound', message: 'Not found' }],
  ['a 403 of a middleware', httpError(403), { code: 403, name: 'Forbidden', message: 'Forbidden' }],
  [
    'malformed JSON',
    Object.assign(new SyntaxError('Unexpected token } in JSON at position 9'), { status: 400 }),
    { code: 400, name: 'BadRequest', message: 'Malformed JSON in request body' }
  ],
  [
    'a 400 whose message may be shown',
    httpError(400, { expose: true, message: 'invalid content-encoding' }),
    { code: 400, name: 'BadRequest', message: 'invalid content-encoding' }
  ],
  [
    'a 400 whose message may not be shown',
    httpError(400, { message: 'at /work/src/x.ts:1:1' }),
    { code: 400, name: 'BadRequest', message: 'Bad request' }
  ],
  [
    'a status given as statusCode',
    httpError(0, { status: undefined, statusCode: 413 }),
    { code: 413, name: 'PayloadTooLarge', message: 'Request body is too large' }
  ]
]

/** Errors that are public as they are: the same object leaves. */
const PUBLIC: Array<[string, FeathersError]> = [
  ['a NotFound of the app', new NotFound('No record found for id 1')],
  ['a BadRequest of the app', new BadRequest('validation failed', { fields: ['age'] })],
  ['a Forbidden of the app', new Forbidden('Only the creator may change this record')],
  ['a 503 of the app', new Unavailable('Database unavailable')],
  ['a 413 of the app', new PayloadTooLarge()]
]

/** Errors that become a bare 500, logged with what they were. */
const UNEXPECTED: Array<[string, unknown]> = [
  ['a plain Error', new Error('select secret from patients at /work/src/app.ts:10:5')],
  ['a GeneralError of the app', new GeneralError('relation "x" does not exist')],
  ['a thrown text', 'something'],
  ['null', null],
  ['an undefined column (42703)', postgres('42703')],
  ['a syntax error (42601)', postgres('42601')],
  ["a protocol violation (08P01): this client's doing", postgres('08P01')],
  ['an error of the adapter that carries an unmapped database error', viaAdapter(postgres('42P01'))],
  [
    'a BadRequest of the adapter that carries the database text',
    viaAdapter(postgres('42883'), new BadRequest('operator does not exist: uuid = integer'))
  ],
  ['an HTTP 500 of a middleware', httpError(500)],
  ['an HTTP status that is not an error', httpError(302)]
]

describe('unit: toPublicError', () => {
  for (const [name, error, expected] of MAPPED) {
    it(`${name}: ${expected.code} ${expected.message}`, () => {
      const { log, errors } = recordingLogger()
      const mapped = toPublicError(error, log)
      const { code, name: className, message, data } = mapped
      assert.deepEqual({ code, name: className, message, ...(data === undefined ? {} : { data }) }, expected)
      assert.doesNotMatch(JSON.stringify(mapped.toJSON()), /a@b\.c|insert|secret_column|\/work\//)
      assert.deepEqual(errors, [], 'a mapped error is not logged')
    })
  }

  for (const [name, error] of PUBLIC) {
    it(`${name} leaves as it is`, () => {
      const { log, errors } = recordingLogger()
      assert.equal(toPublicError(error, log), error)
      assert.deepEqual(errors, [])
    })
  }

  for (const [name, error] of UNEXPECTED) {
    it(`${name} is a bare 500, and logged`, () => {
      const { log, errors } = recordingLogger()
      const mapped = toPublicError(error, log)
      assert.deepEqual(mapped.toJSON(), {
        name: 'GeneralError',
        message: 'Internal Server Error',
        code: 500,
        className: 'general-error'
      })
      const original = (error as any)?.[KNEX_ORIGINAL_ERROR] ?? error
      assert.deepEqual(errors, [{ fields: { err: original }, message: 'Unexpected error' }])
    })
  }

  it('an error mapped once passes again unchanged, and is logged once', () => {
    const { log, errors } = recordingLogger()
    const first = toPublicError(new Error('boom'), log)
    assert.equal(toPublicError(first, log), first)
    const conflict = toPublicError(postgres('23505'), log)
    assert.equal(toPublicError(conflict, log), conflict)
    assert.equal(errors.length, 1)
  })
})

describe('unit: isDatabaseUnavailable', () => {
  const rows: Array<[string, unknown, boolean]> = [
    ['a connection failure (08006)', postgres('08006'), true],
    ['a statement timeout (57014)', postgres('57014'), true],
    ['too many connections (53300)', postgres('53300'), true],
    ['a refused connection', Object.assign(new Error('x'), { code: 'ECONNREFUSED' }), true],
    ['a timeout', Object.assign(new Error('x'), { code: 'ETIMEDOUT' }), true],
    ['an unknown host', Object.assign(new Error('x'), { code: 'ENOTFOUND' }), true],
    ["knex's pool timeout", new Error('Knex: Timeout acquiring a connection.'), true],
    ['one through the adapter', viaAdapter(postgres('57P01')), true],
    ['a protocol violation (08P01)', postgres('08P01'), false],
    ['a unique violation', postgres('23505'), false],
    ['a plain Error', new Error('boom'), false],
    ['a 503 of the app', new Unavailable('Database unavailable'), false],
    ['undefined', undefined, false]
  ]
  for (const [name, error, expected] of rows) {
    it(`${name}: ${expected}`, () => {
      assert.equal(isDatabaseUnavailable(error), expected)
    })
  }
})
