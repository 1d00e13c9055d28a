import assert from 'node:assert/strict'
import socketio from '@feathersjs/socketio-client'
import { io } from 'socket.io-client'
import { authenticate } from '@feathersjs/authentication'
import { createClient } from '../src/client'
import { audit } from '../src/hooks/audit-trail'
import { appendAuditOfRead } from '../src/declarative/runtime/audit-batch'
import { testContext } from './setup'
import {
  ISO_DATE,
  UUID,
  assertError,
  countRows,
  created,
  http,
  signUp,
  statementsDuring,
  testDatabase,
  uniqueEmail,
  validDoctor,
  validPatient
} from './helpers'
import type { TestUser } from './helpers'

const auditOf = async (user: TestUser, query = '') => {
  const reply = await http('GET', `/api/audit${query}`, { token: user.token })
  assert.equal(reply.status, 200, JSON.stringify(reply.body))
  return reply.body
}

/** The caller's records, oldest first, as [action, service, recordId]. */
const trailOf = async (user: TestUser) => {
  const page = await auditOf(user, '?$limit=100&$sort[createdAt]=1&$sort[id]=1')
  return page.data.map((record: any) => [record.action, record.service, record.recordId])
}

// Records written within one millisecond share createdAt; compare without relying on their order.
const sorted = (rows: unknown[][]) => [...rows].map((row) => JSON.stringify(row)).sort()

describe('audit trail', () => {
  it('records a login, with the user, the session it opened, the client address and the time', async () => {
    const alice = await signUp('Alice')
    const page = await auditOf(alice)
    assert.equal(page.total, 1)
    const [record] = page.data
    assert.deepEqual(Object.keys(record).sort(), [
      'action',
      'createdAt',
      'id',
      'ip',
      'recordId',
      'service',
      'userId'
    ])
    assert.match(record.id, UUID)
    assert.equal(record.userId, alice.id)
    assert.equal(record.action, 'login')
    assert.equal(record.service, 'authentication')
    assert.equal(record.recordId, alice.sessionId)
    assert.equal(record.ip, '127.0.0.1')
    assert.match(record.createdAt, ISO_DATE)
  })

  it('gives records time-ordered ids (UUID version 7) that carry their creation time', async () => {
    const alice = await signUp('Alice')
    await http('GET', '/api/patients', { token: alice.token })
    const page = await auditOf(alice, '?$sort[createdAt]=1&$sort[id]=1')
    assert.equal(page.total, 2)
    for (const record of page.data) {
      assert.match(record.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      const idMilliseconds = Number.parseInt(record.id.replace(/-/g, '').slice(0, 12), 16)
      assert.ok(
        Math.abs(idMilliseconds - Date.parse(record.createdAt)) < 5_000,
        `${record.id} vs ${record.createdAt}`
      )
    }
    const [login, find] = page.data.map((record: any) => record.id.slice(0, 13))
    assert.ok(login <= find, `${login} <= ${find}`) // the time prefixes, in the records' order
  })

  it('records every call on patients, reads included, with the record it was about', async () => {
    const alice = await signUp('Alice')
    const patient = await created('/api/patients', alice, validPatient())
    assert.equal((await http('GET', '/api/patients', { token: alice.token })).status, 200)
    assert.equal((await http('GET', `/api/patients/${patient.id}`, { token: alice.token })).status, 200)
    assert.equal(
      (
        await http('PUT', `/api/patients/${patient.id}`, {
          token: alice.token,
          body: validPatient({ age: 43 })
        })
      ).status,
      200
    )
    assert.equal(
      (await http('PATCH', `/api/patients/${patient.id}`, { token: alice.token, body: { age: 44 } })).status,
      200
    )
    assert.equal((await http('DELETE', `/api/patients/${patient.id}`, { token: alice.token })).status, 200)
    assert.deepEqual(await trailOf(alice), [
      ['login', 'authentication', alice.sessionId],
      ['create', 'patients', patient.id],
      ['find', 'patients', null],
      ['get', 'patients', patient.id],
      ['update', 'patients', patient.id],
      ['patch', 'patients', patient.id],
      ['remove', 'patients', patient.id]
    ])
  })

  it('records every call on mappings, but not the doctor and patient loaded with them', async () => {
    const alice = await signUp('Alice')
    const patient = await created('/api/patients', alice, validPatient())
    const doctor = await created('/api/doctors', alice, validDoctor())
    const mapping = await created('/api/mappings', alice, { patientId: patient.id, doctorId: doctor.id })
    assert.equal((await http('GET', `/api/mappings/${patient.id}`, { token: alice.token })).status, 200)
    assert.equal((await http('GET', `/mappings/${mapping.id}`, { token: alice.token })).status, 200)
    assert.equal((await http('DELETE', `/api/mappings/${mapping.id}`, { token: alice.token })).status, 200)
    assert.deepEqual(await trailOf(alice), [
      ['login', 'authentication', alice.sessionId],
      ['create', 'patients', patient.id],
      ['create', 'mappings', mapping.id],
      ['find', 'mappings', null],
      ['get', 'mappings', mapping.id],
      ['remove', 'mappings', mapping.id]
    ])
  })

  it('records failed logins: with the user of a known email, without one for an unknown email', async () => {
    const alice = await signUp('Alice')
    const unknown = uniqueEmail('nobody')
    assertError(
      await http('POST', '/api/auth/login', { body: { email: alice.email, password: 'wrong password' } }),
      401,
      'NotAuthenticated'
    )
    assertError(
      await http('POST', '/api/auth/login', { body: { email: unknown, password: 'wrong password' } }),
      401,
      'NotAuthenticated'
    )
    assert.deepEqual(await trailOf(alice), [
      ['login', 'authentication', alice.sessionId],
      ['login-failed', 'authentication', null]
    ])
    const db = testDatabase()
    const anonymous = await db('audit')
      .where({ action: 'login-failed', userId: null })
      .orderBy('createdAt', 'desc')
      .first()
    assert.equal(anonymous.service, 'authentication')
    assert.equal(anonymous.ip, '127.0.0.1')
  })

  it('records a failed call of an authenticated caller as <method>-failed', async () => {
    const alice = await signUp('Alice')
    const bob = await signUp('Bob')
    const bobs = await created('/api/patients', bob, validPatient())
    assertError(await http('GET', `/api/patients/${bobs.id}`, { token: alice.token }), 404, 'NotFound')
    assertError(
      await http('POST', '/api/patients', { token: alice.token, body: { name: 'No age' } }),
      400,
      'BadRequest'
    )
    assert.deepEqual(
      sorted(await trailOf(alice)),
      sorted([
        ['login', 'authentication', alice.sessionId],
        ['get-failed', 'patients', bobs.id],
        ['create-failed', 'patients', null]
      ])
    )
    // Bob's trail shows only what Bob did.
    assert.deepEqual(await trailOf(bob), [
      ['login', 'authentication', bob.sessionId],
      ['create', 'patients', bobs.id]
    ])
  })

  it('pages only the caller’s own records, whatever the query says', async () => {
    const alice = await signUp('Alice')
    const bob = await signUp('Bob')
    await created('/api/patients', bob, validPatient())
    for (const query of [
      '',
      `?userId=${bob.id}`,
      `?userId[$ne]=${alice.id}`,
      `?$or[0][userId]=${bob.id}`,
      '?service=patients'
    ]) {
      const page = await auditOf(alice, query)
      assert.ok(
        page.data.every((record: any) => record.userId === alice.id),
        query
      )
      assert.ok(!page.data.some((record: any) => record.service === 'patients'), query)
    }
    const page = await auditOf(alice, '?$limit=1')
    assert.deepEqual(
      { total: page.total, limit: page.limit, skip: page.skip, size: page.data.length },
      { total: 1, limit: 1, skip: 0, size: 1 }
    )
  })

  it('answers 401 without a token and 404 for someone else’s record', async () => {
    const alice = await signUp('Alice')
    const bob = await signUp('Bob')
    assertError(await http('GET', '/api/audit'), 401, 'NotAuthenticated')
    const [bobsLogin] = (await auditOf(bob)).data
    assertError(await http('GET', `/api/audit/${bobsLogin.id}`, { token: alice.token }), 404, 'NotFound')
    const own = await http('GET', `/api/audit/${(await auditOf(alice)).data[0].id}`, { token: alice.token })
    assert.equal(own.status, 200)
    assert.equal(own.body.userId, alice.id)
  })

  it('refuses create, update, patch and remove over REST with 405 and changes nothing', async () => {
    const alice = await signUp('Alice')
    const [login] = (await auditOf(alice)).data
    const before = await countRows('audit')
    const record = { userId: alice.id, action: 'login', service: 'authentication' }
    assertError(
      await http('POST', '/api/audit', { token: alice.token, body: record }),
      405,
      'MethodNotAllowed'
    )
    assertError(
      await http('PUT', `/api/audit/${login.id}`, { token: alice.token, body: record }),
      405,
      'MethodNotAllowed'
    )
    assertError(
      await http('PATCH', `/api/audit/${login.id}`, { token: alice.token, body: { action: 'x' } }),
      405,
      'MethodNotAllowed'
    )
    assertError(
      await http('DELETE', `/api/audit/${login.id}`, { token: alice.token }),
      405,
      'MethodNotAllowed'
    )
    assert.equal(await countRows('audit'), before)
    assert.deepEqual((await http('GET', `/api/audit/${login.id}`, { token: alice.token })).body, login)
  })

  it('refuses create, update, patch and remove over Socket.io, and reads the caller’s own there', async () => {
    const alice = await signUp('Alice')
    const socket = io(testContext().server.url, { transports: ['websocket'], forceNew: true })
    const client = createClient(socketio(socket))
    try {
      await client.authenticate({ strategy: 'local', email: alice.email, password: alice.password })
      const page = await client.service('audit').find({})
      assert.ok(page.total >= 2)
      assert.ok(page.data.every((record) => record.userId === alice.id))
      const [latest] = page.data
      // Sent as raw Socket.io messages: a client that ignores the documented methods gets the same.
      const send = (...args: unknown[]) =>
        new Promise<any>((resolve) => socket.emit(args[0] as string, ...args.slice(1), resolve))
      const attempts = [
        () => send('create', 'audit', { action: 'login', service: 'authentication' }, {}),
        () => send('update', 'audit', latest.id, { action: 'x' }, {}),
        () => send('patch', 'audit', latest.id, { action: 'x' }, {}),
        () => send('remove', 'audit', latest.id, {})
      ]
      for (const attempt of attempts) {
        const error = await attempt()
        assert.equal(error?.name, 'MethodNotAllowed', JSON.stringify(error))
        assert.equal(error?.code, 405)
      }
      assert.deepEqual(await client.service('audit').get(latest.id), latest)
    } finally {
      socket.close()
    }
  })

  it('records the socket client’s address', async () => {
    const alice = await signUp('Alice')
    const socket = io(testContext().server.url, { transports: ['websocket'], forceNew: true })
    const client = createClient(socketio(socket))
    try {
      await client.authenticate({ strategy: 'local', email: alice.email, password: alice.password })
      const patient = await client.service('patients').create(validPatient())
      const [record] = (await auditOf(alice, '?service=patients')).data
      assert.deepEqual([record.action, record.recordId, record.ip], ['create', patient.id, '127.0.0.1'])
    } finally {
      socket.close()
    }
  })

  it('is append-only in the database too', async () => {
    const alice = await signUp('Alice')
    const db = testDatabase()
    await assert.rejects(db('audit').where({ userId: alice.id }).update({ action: 'x' }), /append-only/)
    await assert.rejects(db('audit').where({ userId: alice.id }).delete(), /append-only/)
    assert.equal(await countRows('audit', { userId: alice.id }), 1)
  })

  it('a write whose audit record cannot be written is rolled back: no change without its record', async () => {
    const alice = await signUp('Alice')
    const patient = await created('/api/patients', alice, validPatient())
    const db = testDatabase()
    // Make the audit insert of a patch fail, as a full disk or a lost connection would.
    await db.raw(
      `ALTER TABLE audit ADD CONSTRAINT audit_test_refuses_patch CHECK (action <> 'patch') NOT VALID`
    )
    try {
      const reply = await http('PATCH', `/api/patients/${patient.id}`, {
        token: alice.token,
        body: { age: 99 }
      })
      assert.ok(reply.status >= 400, JSON.stringify(reply.body))
    } finally {
      await db.raw('ALTER TABLE audit DROP CONSTRAINT audit_test_refuses_patch')
    }
    const stored = await http('GET', `/api/patients/${patient.id}`, { token: alice.token })
    assert.equal(stored.body.age, patient.age)
    assert.deepEqual(
      (await trailOf(alice)).filter(([action]: string[]) => action.startsWith('patch')),
      [['patch-failed', 'patients', patient.id]]
    )
  })

  it('a write carries its audit record in its own statement; a read adds one INSERT', async () => {
    const alice = await signUp('Alice')
    const patient = await created('/api/patients', alice, validPatient())
    const statementsFor = async (method: string, path: string, body?: unknown) => {
      const statements = await statementsDuring(async () => {
        const reply = await http(method, path, { token: alice.token, body })
        assert.equal(reply.status, 200, JSON.stringify(reply.body))
      })
      return statements.length
    }
    await statementsFor('GET', `/api/patients/${patient.id}`) // the caller's user record is now cached
    assert.equal(await statementsFor('GET', `/api/patients/${patient.id}`), 2) // the read, its record
    assert.equal(await statementsFor('PATCH', `/api/patients/${patient.id}`, { age: 50 }), 1)
    // The page, which carries its total, and its record.
    assert.equal(await statementsFor('GET', '/api/patients'), 2)
    // A $select without the id still records which record was read.
    const selected = await http('GET', `/api/patients/${patient.id}?$select[]=name`, { token: alice.token })
    assert.equal(selected.status, 200, JSON.stringify(selected.body))
    assert.equal(selected.body.name, patient.name)
    const trail = await trailOf(alice)
    assert.deepEqual(trail.slice(-5), [
      ['get', 'patients', patient.id],
      ['get', 'patients', patient.id],
      ['patch', 'patients', patient.id],
      ['find', 'patients', null],
      ['get', 'patients', patient.id]
    ])
  })

  it('the records of concurrent reads share one INSERT (group commit), each awaited', async () => {
    const alice = await signUp('Alice')
    const db = testDatabase()
    const entry = (index: number) => ({
      userId: alice.id,
      action: 'get',
      service: 'batch-test',
      recordId: null,
      ip: `10.0.0.${index}`
    })
    const statements = await statementsDuring(() =>
      Promise.all(Array.from({ length: 10 }, (_, index) => appendAuditOfRead(db, entry(index))))
    )
    const inserts = statements.filter((sql) => sql.startsWith('insert into "audit"'))
    // The first is written at once; the nine that came while it was being written share the next.
    assert.equal(inserts.length, 2)
    assert.equal(await countRows('audit', { service: 'batch-test', user_id: alice.id }), 10)
  })

  it('a service that cannot write the record in its own statement gets it written by the hook', async () => {
    const { app } = testContext().server
    app.use('fake-audited-notes' as any, {
      async get(id: string) {
        return { id, text: 'a note' }
      }
    })
    app.service('fake-audited-notes' as any).hooks({ around: { all: [authenticate('jwt'), audit()] } })
    const alice = await signUp('Alice')
    const id = '0b7e1a4e-9a39-4a8e-8f57-2f1d0b6f1c11'
    assert.equal((await http('GET', `/fake-audited-notes/${id}`, { token: alice.token })).status, 200)
    assert.deepEqual((await trailOf(alice)).slice(-1), [['get', 'fake-audited-notes', id]])
  })
})
