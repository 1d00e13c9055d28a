import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import path from 'node:path'
import { BadRequest, GeneralError } from '@feathersjs/errors'
import { logger } from '../src/logger'
import { testContext } from './setup'
import { captureLogs, captureOutput, http, signUp, uniqueEmail, validPatient } from './helpers'
import { closeSockets, connectSocket } from './sockets'

const requestLines = (lines: Record<string, any>[]) =>
  lines.filter((line) => line.msg === 'request completed')
const callLines = (lines: Record<string, any>[]) =>
  lines.filter((line) => line.msg === 'socket call completed')

// pino's numeric levels
const DEBUG = 20
const INFO = 30
const ERROR = 50

describe('logs', () => {
  afterEach(() => closeSockets())

  describe('REST', () => {
    it('one line per request: request id, method, path, status, time taken and the caller', async () => {
      const alice = await signUp('Alice')
      const lines = await captureLogs(async () => {
        await http('GET', '/api/patients?$limit=1&name=Jane', {
          token: alice.token,
          headers: { 'X-Request-Id': 'trace-42' }
        })
      })
      assert.equal(requestLines(lines).length, 1, JSON.stringify(lines))
      const [line] = requestLines(lines)
      assert.deepEqual(Object.keys(line).sort(), [
        'hostname',
        'level',
        'msg',
        'pid',
        'req',
        'res',
        'responseTime',
        'time',
        'userId'
      ])
      assert.deepEqual(
        { level: line.level, req: line.req, res: line.res, userId: line.userId },
        {
          level: INFO,
          req: { id: 'trace-42', method: 'GET', url: '/api/patients' },
          res: { statusCode: 200 },
          userId: alice.id
        }
      )
      assert.equal(typeof line.responseTime, 'number')
      assert.equal(typeof line.time, 'number')
    })

    it('an anonymous or refused request is logged with its status and no caller', async () => {
      const lines = await captureLogs(async () => {
        await http('GET', '/api/patients')
      })
      const [line] = requestLines(lines)
      assert.deepEqual([line.res.statusCode, line.userId], [401, null])
    })

    it('/health is logged at debug, not at info', async () => {
      const atInfo = await captureLogs(async () => {
        assert.equal((await http('GET', '/health')).status, 200)
      })
      assert.deepEqual(requestLines(atInfo), [])
      const atDebug = await captureLogs(async () => {
        await http('GET', '/health')
      }, 'debug')
      assert.deepEqual(
        requestLines(atDebug).map((line) => [line.level, line.req.url, line.res.statusCode]),
        [[DEBUG, '/health', 200]]
      )
    })

    it('a 500 is logged as an error (pino `err`) with the request id the client was given', async () => {
      const { app } = testContext().server
      app.use('fake-failing-for-log' as any, {
        async find() {
          throw new Error('something broke deep inside')
        }
      })
      let requestId: string | null = null
      const lines = await captureLogs(async () => {
        const reply = await http('GET', '/fake-failing-for-log')
        assert.equal(reply.status, 500)
        assert.equal(reply.body.message, 'Internal Server Error')
        requestId = reply.headers.get('x-request-id')
      })
      const error = lines.find((line) => line.level === ERROR)
      assert.ok(error, JSON.stringify(lines))
      assert.equal(error.msg, 'Unexpected error')
      assert.deepEqual(error.req, { id: requestId, method: 'GET', url: '/fake-failing-for-log' })
      assert.equal(error.err.type, 'Error')
      assert.equal(error.err.message, 'something broke deep inside')
      assert.match(error.err.stack, /^Error: something broke deep inside\n\s+at /)
      const [request] = requestLines(lines)
      assert.deepEqual([request.req.id, request.res.statusCode], [requestId, 500])
    })
  })

  describe('Socket.io', () => {
    it('one line per call: connection id, service, method, id, status or error, time taken and the caller', async () => {
      const alice = await signUp('Alice')
      const patient = (await http('POST', '/api/patients', { token: alice.token, body: validPatient() })).body
      const socket = await connectSocket(alice.token)
      const missing = randomUUID()
      const lines = await captureLogs(async () => {
        await socket.client.service('patients').get(patient.id)
        await assert.rejects(socket.client.service('patients').get(missing), { name: 'NotFound' })
        await socket.client.service('patients').find({ query: { name: 'Jane Roe' } })
      })
      const calls = callLines(lines)
      assert.equal(calls.length, 3, JSON.stringify(lines))
      for (const line of calls) {
        assert.deepEqual(Object.keys(line).sort(), [
          'call',
          'hostname',
          'level',
          'msg',
          'pid',
          'res',
          'responseTime',
          'socket',
          'time',
          'userId'
        ])
        assert.deepEqual(
          [line.level, line.socket.id, line.userId, typeof line.responseTime],
          [INFO, socket.socket.id, alice.id, 'number']
        )
      }
      assert.deepEqual(
        calls.map((line) => [line.call, line.res]),
        [
          [{ service: 'patients', method: 'get', id: patient.id }, { statusCode: 200 }],
          [
            { service: 'patients', method: 'get', id: missing },
            { statusCode: 404, error: 'NotFound' }
          ],
          [{ service: 'patients', method: 'find' }, { statusCode: 200 }]
        ]
      )
    })

    it('a call naming no method is logged too, and an anonymous socket has no caller', async () => {
      const socket = await connectSocket()
      const lines = await captureLogs(async () => {
        const reply = await socket.socket.emitWithAck('no-such-method', 'patients')
        assert.equal(reply.name, 'NotFound')
        await assert.rejects(socket.client.service('patients').find(), { name: 'NotAuthenticated' })
      })
      assert.deepEqual(
        callLines(lines).map((line) => [line.call.method, line.res, line.userId]),
        [
          ['no-such-method', { statusCode: 404, error: 'NotFound' }, null],
          ['find', { statusCode: 401, error: 'NotAuthenticated' }, null]
        ]
      )
    })

    it('a 500 in a socket call is logged as an error with the connection id', async () => {
      const { app } = testContext().server
      app.use('fake-failing-on-socket' as any, {
        async find() {
          throw new Error('broke during a socket call')
        }
      })
      const alice = await signUp('Alice')
      const socket = await connectSocket(alice.token)
      const lines = await captureLogs(async () => {
        await assert.rejects(socket.client.service('fake-failing-on-socket' as any).find(), {
          name: 'GeneralError',
          message: 'Internal Server Error'
        })
      })
      const error = lines.find((line) => line.level === ERROR)
      assert.equal(error?.msg, 'Unexpected error', JSON.stringify(lines))
      assert.deepEqual([error.socket.id, error.err.message], [socket.socket.id, 'broke during a socket call'])
      const [call] = callLines(lines)
      assert.deepEqual(
        [call.call.service, call.res],
        ['fake-failing-on-socket', { statusCode: 500, error: 'GeneralError' }]
      )
    })
  })

  describe('formats', () => {
    it('logFormat "pretty" (npm run dev) writes one readable line per entry, redacted as JSON is', () => {
      const script = [
        "const { configureLogger, logger } = require('./src/logger')",
        "configureLogger({ level: 'info', format: 'pretty' }).then(() => {",
        "  logger.info({ req: { id: 'trace-7', method: 'GET', url: '/api/patients' }, patient: { name: 'Jane Pretty' } }, 'request completed')",
        '})'
      ].join('\n')
      const run = spawnSync(process.execPath, ['-r', 'tsx/cjs', '-e', script], {
        cwd: path.join(__dirname, '..'),
        encoding: 'utf8',
        env: { ...process.env, NO_COLOR: '1' }
      })
      assert.equal(run.status, 0, run.stderr)
      assert.match(
        run.stdout,
        /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: request completed \{"req":\{"id":"trace-7","method":"GET","url":"\/api\/patients"\},"patient":\{"name":"\[Redacted\]"\}\}\n$/
      )
    })
  })

  describe('redaction', () => {
    it('no password, token or patient field reaches the log, over REST and Socket.io, in errors or in explicit lines', async () => {
      const { app } = testContext().server
      const marker = randomUUID().slice(0, 8)
      const patientBody = { name: `Zebulon Quux ${marker}`, age: 137, disease: `Rare condition ${marker}` }
      const user = {
        name: `Dr. Secretive ${marker}`,
        email: uniqueEmail(`secret-${marker}`),
        password: `pass ${marker} word`
      }
      const newPassword = `new pass ${marker}`
      const secrets = [
        patientBody.name,
        patientBody.disease,
        `Patched ${marker}`,
        user.name,
        user.email,
        user.password,
        newPassword
      ]
      // A service whose 500s carry a patient (and a token) in their data, as a careless hook might,
      // and a database error (not mapped: a 500) whose detail holds a value.
      app.use('fake-failing-with-patient' as any, {
        async create(data: any) {
          throw new GeneralError('Rejected', {
            patient: data,
            accessToken: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl'
          })
        },
        async find() {
          const error: any = new Error('the trigger refused it')
          Object.assign(error, {
            code: 'P0001',
            severity: 'ERROR',
            constraint: 'users_email_key',
            detail: `Key (email)=(${user.email})`,
            where: 'PL/pgSQL function'
          })
          throw error
        },
        // A real one: a statement with the patient's values, on a column that does not exist (42703)
        async patch(_id: string, data: any) {
          return app
            .get('postgresqlClient')('patients')
            .insert({ ...data, diagnosis: data.disease })
        }
      })

      const { text, lines } = await captureOutput(async () => {
        // REST
        const registered = await http('POST', '/api/auth/register', { body: user })
        assert.equal(registered.status, 201)
        const login = await http('POST', '/api/auth/login', {
          body: { email: user.email, password: user.password }
        })
        assert.equal(login.status, 201)
        const token = login.body.accessToken
        secrets.push(token)
        await http('POST', '/api/auth/login', { body: { email: user.email, password: `wrong ${marker}` } })
        secrets.push(`wrong ${marker}`)
        const patient = (await http('POST', '/api/patients', { token, body: patientBody })).body
        await http('PATCH', `/api/patients/${patient.id}`, { token, body: { name: `Patched ${marker}` } })
        await http(
          'GET',
          `/api/patients?name=${encodeURIComponent(patientBody.name)}&disease[$ne]=${encodeURIComponent(patientBody.disease)}`,
          { token }
        )
        assert.equal(
          (await http('POST', '/fake-failing-with-patient', { token, body: patientBody })).status,
          500
        )
        assert.equal((await http('GET', '/fake-failing-with-patient', { token })).status, 500)
        assert.equal(
          (await http('PATCH', `/fake-failing-with-patient/${randomUUID()}`, { token, body: patientBody }))
            .status,
          500
        )
        await http('PATCH', `/users/${registered.body.id}`, { token, body: { password: newPassword } })

        // Socket.io: a login with the password on the socket, then the same calls
        const socket = await connectSocket()
        const auth = await socket.client.authenticate({
          strategy: 'local',
          email: user.email,
          password: newPassword
        })
        secrets.push(auth.accessToken)
        const onSocket = await socket.client
          .service('patients')
          .create({ ...patientBody, name: `${patientBody.name} again` })
        await socket.client
          .service('patients')
          .patch(onSocket.id, { disease: `${patientBody.disease} worse` })
        await socket.client.service('patients').find({ query: { name: patientBody.name } })
        await assert.rejects(socket.client.service('fake-failing-with-patient' as any).create(patientBody), {
          name: 'GeneralError'
        })
        await assert.rejects(socket.client.service('fake-failing-with-patient' as any).find(), {
          name: 'GeneralError'
        })
        await socket.client.logout()

        // Explicit lines, as future code might write them
        const error = new BadRequest('Invalid patient', { patient: patientBody })
        logger.info({ patient: patientBody }, 'a patient')
        logger.info({ data: { name: patientBody.name, disease: patientBody.disease } }, 'nested data')
        logger.warn({ error: { data: { patient: patientBody } }, entry: { patient: patientBody } }, 'deeper')
        logger.error({ err: error, records: [patientBody, { user }] }, 'an error with a patient')
        logger.error({ err: new Error('wrapper', { cause: error }) }, 'a cause with a patient')
        logger.info(
          {
            req: {
              headers: { authorization: `Bearer ${token}`, cookie: `session=${token}`, 'x-api-key': marker }
            }
          },
          'headers'
        )
        logger.info(
          { body: { refreshToken: `refresh-${marker}`, jwt: token, clientSecret: `secret-${marker}` } },
          'credentials'
        )
        logger.info({ note: `the token was ${token}` }, 'a token inside a text')
        logger.info('interpolated %o', patientBody)
        logger.child({ patient: patientBody }).info('a child with a patient')
        secrets.push(`refresh-${marker}`, `secret-${marker}`)
      })

      const leaked = secrets.filter((secret) => text.includes(secret))
      assert.deepEqual(leaked, [], `in the log: ${leaked.join(', ')}`)
      assert.doesNotMatch(text, /"age":\d|"password":"(?!\[Redacted\])|\$argon2|Bearer (?!\[Redacted\])|eyJ/)
      // The lines are there, with what they were logged for
      assert.equal(requestLines(lines).length, 10)
      assert.equal(callLines(lines).length, 7)
      const explicit = lines.find((line) => line.msg === 'a patient')
      assert.deepEqual(explicit?.patient, { name: '[Redacted]', age: '[Redacted]', disease: '[Redacted]' })
      const withError = lines.find((line) => line.msg === 'an error with a patient')
      assert.deepEqual(
        [
          withError?.err.type,
          withError?.err.name,
          withError?.err.message,
          withError?.err.code,
          withError?.err.data
        ],
        [
          'BadRequest',
          'BadRequest',
          'Invalid patient',
          400,
          { patient: { name: '[Redacted]', age: '[Redacted]', disease: '[Redacted]' } }
        ]
      )
      assert.equal(lines.find((line) => line.msg === 'headers')?.req.headers.authorization, '[Redacted]')
      // The 500s: the patient in the error's data redacted; the database error with its SQLSTATE and constraint, not its detail
      const unexpected = lines.filter((line) => line.msg === 'Unexpected error')
      assert.equal(unexpected.length, 5)
      for (const line of unexpected.filter((line) => line.err.type === 'GeneralError')) {
        assert.deepEqual(line.err.data, {
          patient: { name: '[Redacted]', age: '[Redacted]', disease: '[Redacted]' },
          accessToken: '[Redacted]'
        })
      }
      for (const line of unexpected.filter((line) => line.err.code === 'P0001')) {
        assert.deepEqual(
          [line.err.type, line.err.constraint, line.err.detail, line.err.where],
          ['Error', 'users_email_key', '[Redacted]', '[Redacted]']
        )
      }
      // Knex names the failed statement in the message, with its placeholders, not its values
      const statement = unexpected.find((line) => line.err.code === '42703')
      assert.match(
        statement?.err.message,
        /^insert into "patients" .* values \(\$1, \$2, \$3, \$4\) - column "diagnosis" of relation "patients" does not exist$/
      )
    })
  })
})
