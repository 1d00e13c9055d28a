import assert from 'node:assert/strict'
import { MemoryStorage } from '@feathersjs/authentication-client'
import { rest } from '@feathersjs/client'
import { createClient } from '../src/client'
import { createKnex } from '../src/database/knex'
import { testContext } from './setup'
import {
  ISO_DATE,
  UUID,
  assertError,
  countRows,
  created,
  createScratchDatabase,
  http,
  signUp,
  statementsDuring,
  testDatabase,
  validDoctor,
  validPatient
} from './helpers'
import type { Reply, TestUser } from './helpers'
import { assertSilent, closeSockets, connectSocket } from './sockets'
import type { TestSocket } from './sockets'

/**
 * The contract's "History and concurrent edits", sentence by sentence, for patients and doctors,
 * over REST (the /api routes, the service paths and the Feathers REST client) and over Socket.io.
 * test/contract.ts runs the same promises, shorter, for every resource declared with `history`.
 */

type Json = Record<string, any>

const RESOURCES = {
  patients: {
    body: validPatient,
    change: { age: 43 },
    replacement: validPatient({ name: 'John Doe', age: 7 })
  },
  doctors: {
    body: validDoctor,
    change: { age: 61 },
    replacement: validDoctor({ name: 'Dr. Lisa Cuddy', specialty: 'Endocrinology' })
  }
} as const
type Path = keyof typeof RESOURCES
const PATHS = Object.keys(RESOURCES) as Path[]

const etagOf = (reply: Reply) => reply.headers.get('etag')

const send = (method: string, path: string, user: TestUser | undefined, body?: unknown, headers = {}) =>
  http(method, path, { token: user?.token, body, headers })

/** The versions the database holds of one record, oldest first, read behind the API. */
const storedVersions = async (path: Path, id: string) =>
  (await testDatabase()(`${path}_history`).where({ recordId: id }).orderBy('version')) as Json[]

const historyOf = (path: Path, id: string, user: TestUser | undefined, suffix = '') =>
  send('GET', `/api/${path}/${id}/history${suffix}`, user)

/** Every change has its version: the database's histories agree with its records, all of them. */
async function assertEveryChangeHasItsVersion() {
  const db = testDatabase()
  for (const path of PATHS) {
    const history = `${path}_history`
    const problems = await db.raw(
      `SELECT 'record without its last version' AS problem, r.id AS record FROM ${path} r
         WHERE NOT EXISTS (SELECT 1 FROM ${history} h WHERE h.record_id = r.id AND h.version = r.version
                                                     AND h.action <> 'remove' AND h.data = to_jsonb(r))
       UNION ALL
       SELECT 'record with a later version, or with a remove version', r.id FROM ${path} r
         WHERE EXISTS (SELECT 1 FROM ${history} h WHERE h.record_id = r.id AND (h.version > r.version OR h.action = 'remove'))
       UNION ALL
       SELECT 'versions not 1 to n, or not created first', record_id FROM ${history} GROUP BY record_id
         HAVING count(*) <> max(version) OR min(version) <> 1
           OR (array_agg(action ORDER BY version))[1] <> 'create' OR count(*) FILTER (WHERE action = 'create') <> 1
       UNION ALL
       SELECT 'removed without a remove version, or removed twice', record_id FROM ${history} h
         WHERE NOT EXISTS (SELECT 1 FROM ${path} r WHERE r.id = h.record_id) GROUP BY record_id
         HAVING (array_agg(action ORDER BY version DESC))[1] <> 'remove' OR count(*) FILTER (WHERE action = 'remove') <> 1
       UNION ALL
       SELECT 'a version whose data is not its version', record_id FROM ${history}
         WHERE (data ->> 'version')::int <> version OR (data ->> 'id')::uuid <> record_id`
    )
    assert.deepEqual(problems.rows, [], `${path}: ${JSON.stringify(problems.rows.slice(0, 5))}`)
  }
}

/** A Feathers client over REST, logged in with `user`'s token. */
async function restClient(user: TestUser) {
  const client = createClient(rest(testContext().server.url).fetch(fetch), { storage: new MemoryStorage() })
  await client.authenticate({ strategy: 'jwt', accessToken: user.token })
  return client
}

const serviceOf = (socket: TestSocket, path: string) => socket.client.service(path as any) as any

describe('history and concurrent edits', () => {
  let alice: TestUser
  let bob: TestUser

  before(async () => {
    alice = await signUp('Alice')
    bob = await signUp('Bob')
  })

  afterEach(closeSockets)

  for (const path of PATHS) {
    const { body, change, replacement } = RESOURCES[path]
    const api = `/api/${path}`

    describe(path, () => {
      it('carry version 1 when created and one more on every update, patch and remove; the remove version is the last plus one (REST)', async () => {
        const record = await created(api, alice, body())
        assert.equal(record.version, 1)
        const updated = await send('PUT', `${api}/${record.id}`, alice, replacement)
        assert.deepEqual([updated.status, updated.body.version], [200, 2])
        const patched = await send('PATCH', `/${path}/${record.id}`, alice, change)
        assert.deepEqual([patched.status, patched.body.version], [200, 3])
        const removed = await send('DELETE', `${api}/${record.id}`, alice)
        assert.deepEqual([removed.status, removed.body.version], [200, 4])
        assert.deepEqual(
          (await storedVersions(path, record.id)).map(({ version, action }) => [version, action]),
          [
            [1, 'create'],
            [2, 'update'],
            [3, 'patch'],
            [4, 'remove']
          ]
        )
      })

      it('carry the same versions over a socket', async () => {
        const socket = await connectSocket(alice.token)
        const service = serviceOf(socket, path)
        const record = await service.create(body())
        assert.equal(record.version, 1)
        assert.equal((await service.update(record.id, replacement)).version, 2)
        assert.equal((await service.patch(record.id, change)).version, 3)
        assert.equal((await service.remove(record.id)).version, 4)
        const versions = await storedVersions(path, record.id)
        assert.deepEqual(
          versions.map(({ action }) => action),
          ['create', 'update', 'patch', 'remove']
        )
      })

      it('a REST response holding one record carries ETag: "<version>", at the /api route and the service path', async () => {
        const creation = await send('POST', api, alice, body())
        assert.deepEqual([creation.status, etagOf(creation)], [201, '"1"'])
        const { id } = creation.body
        for (const prefix of [api, `/${path}`]) {
          const read = await send('GET', `${prefix}/${id}`, alice)
          assert.deepEqual([read.status, etagOf(read)], [200, `"${read.body.version}"`])
        }
        const selected = await send('GET', `${api}/${id}?$select[]=name`, alice)
        assert.deepEqual(
          [selected.body, etagOf(selected)],
          [{ id, name: creation.body.name, version: 1 }, '"1"']
        )
        assert.equal(etagOf(await send('PUT', `${api}/${id}`, alice, replacement)), '"2"')
        assert.equal(etagOf(await send('PATCH', `${api}/${id}`, alice, change)), '"3"')
        assert.equal(etagOf(await send('DELETE', `${api}/${id}`, alice)), '"4"')
        // A page holds many records: no ETag of one of them.
        assert.equal(etagOf(await send('GET', api, alice)), null)
      })

      it('a page on an allowed origin may read the ETag and send If-Match (CORS)', async () => {
        const [origin] = testContext().settings.origins
        const record = await created(api, alice, body())
        const preflight = await http('OPTIONS', `${api}/${record.id}`, {
          headers: {
            Origin: origin,
            'Access-Control-Request-Method': 'PATCH',
            'Access-Control-Request-Headers': 'authorization, content-type, if-match'
          }
        })
        assert.equal(preflight.status, 204)
        assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /if-match/i)
        const read = await http('GET', `${api}/${record.id}`, {
          token: alice.token,
          headers: { Origin: origin }
        })
        assert.deepEqual(
          [
            read.headers.get('access-control-allow-origin'),
            read.headers.get('access-control-expose-headers')
          ],
          [origin, 'ETag']
        )
      })

      it('a PUT, PATCH or DELETE with If-Match naming another version answers 412 and changes nothing; the current one goes through', async () => {
        const record = await created(api, alice, body())
        const socket = await connectSocket(alice.token)
        const url = `${api}/${record.id}`
        const stale = { 'if-match': '"2"' }
        const auditBefore = await countRows('audit', { record_id: record.id, action: 'patch' })
        assertError(await send('PUT', url, alice, replacement, stale), 412, 'PreconditionFailed')
        assertError(await send('PATCH', url, alice, change, stale), 412, 'PreconditionFailed')
        assertError(await send('DELETE', url, alice, undefined, stale), 412, 'PreconditionFailed')
        assertError(
          await send('PATCH', url, alice, change, { 'if-match': '"2", "3"' }),
          412,
          'PreconditionFailed'
        )
        assert.deepEqual((await send('GET', url, alice)).body, record)
        assert.equal((await storedVersions(path, record.id)).length, 1)
        assert.equal(await countRows('audit', { record_id: record.id, action: 'patch' }), auditBefore)
        await assertSilent(socket)
        const current = await send('PATCH', url, alice, change, { 'if-match': '"1"' })
        assert.deepEqual([current.status, current.body.version], [200, 2])
        assert.equal((await send('PUT', url, alice, replacement, { 'if-match': '"7", "2"' })).status, 200)
        assert.equal((await send('DELETE', url, alice, undefined, { 'if-match': '*' })).status, 200)
      })

      it('without If-Match the write goes through, whatever the version', async () => {
        const record = await created(api, alice, body())
        const url = `${api}/${record.id}`
        await send('PATCH', url, alice, change)
        const patched = await send('PATCH', url, alice, change)
        assert.deepEqual([patched.status, patched.body.version], [200, 3])
        assert.equal((await send('DELETE', url, alice)).status, 200)
      })

      it('a write whose If-None-Match names the current version, or is *, answers 412 and changes nothing; another version goes through', async () => {
        const record = await created(api, alice, body())
        const url = `${api}/${record.id}`
        for (const ifNoneMatch of ['*', '"1"', 'W/"1"', '"4", "1"']) {
          const headers = { 'if-none-match': ifNoneMatch }
          assertError(await send('PUT', url, alice, replacement, headers), 412, 'PreconditionFailed')
          assertError(await send('PATCH', url, alice, change, headers), 412, 'PreconditionFailed')
          assertError(await send('DELETE', url, alice, undefined, headers), 412, 'PreconditionFailed')
        }
        assertError(
          await send('PATCH', url, alice, change, { 'if-match': '"1"', 'if-none-match': '"1"' }),
          412,
          'PreconditionFailed'
        )
        assertError(await send('PATCH', url, alice, change, { 'if-none-match': '"1' }), 400, 'BadRequest')
        assert.deepEqual((await send('GET', url, alice)).body, record)
        assert.equal((await storedVersions(path, record.id)).length, 1)
        // Someone else's record stays a 404 (a doctor the caller may not change a 403), whatever it names.
        const expected = path === 'doctors' ? 403 : 404
        assert.equal((await send('PATCH', url, bob, change, { 'if-none-match': '*' })).status, expected)
        const patched = await send('PATCH', url, alice, change, { 'if-none-match': '"2"' })
        assert.deepEqual([patched.status, patched.body.version], [200, 2])
      })

      it('a GET whose If-None-Match names the current version answers 304 with its ETag and no body', async () => {
        const record = await created(api, alice, body())
        const url = `${api}/${record.id}`
        for (const ifNoneMatch of ['"1"', 'W/"1"', '"3", "1"', '*']) {
          const reply = await send('GET', url, alice, undefined, { 'if-none-match': ifNoneMatch })
          assert.deepEqual([reply.status, reply.body, etagOf(reply)], [304, undefined, '"1"'], ifNoneMatch)
        }
        const changed = await send('GET', url, alice, undefined, { 'if-none-match': '"2"' })
        assert.deepEqual([changed.status, changed.body, etagOf(changed)], [200, record, '"1"'])
        // A tag that names no version of ours does not match: the record, not a 400.
        for (const foreign of ['x', '"abc"', '"0"']) {
          const read = await send('GET', url, alice, undefined, { 'if-none-match': foreign })
          assert.deepEqual([read.status, read.body], [200, record], foreign)
        }
        // Someone else's record stays a 404 (doctors are a directory every user reads).
        const others = await send('GET', url, bob, undefined, { 'if-none-match': '*' })
        assert.equal(others.status, path === 'doctors' ? 304 : 404)
      })

      it('two concurrent PATCHes carrying the same If-Match: exactly one succeeds (REST)', async () => {
        const record = await created(api, alice, body())
        const replies = await Promise.all(
          Array.from({ length: 8 }, (_, index) =>
            send('PATCH', `${api}/${record.id}`, alice, { age: 30 + index }, { 'if-match': '"1"' })
          )
        )
        const statuses = replies.map(({ status }) => status).sort()
        assert.deepEqual(statuses, [200, 412, 412, 412, 412, 412, 412, 412])
        const winner = replies.find(({ status }) => status === 200)!
        const stored = await storedVersions(path, record.id)
        assert.deepEqual(
          stored.map(({ version }) => version),
          [1, 2]
        )
        assert.deepEqual((await send('GET', `${api}/${record.id}`, alice)).body, winner.body)
      })

      it('two concurrent PATCHes carrying the same $ifMatch: exactly one succeeds (sockets)', async () => {
        const record = await created(api, alice, body())
        const sockets = await Promise.all([connectSocket(alice.token), connectSocket(alice.token)])
        const results = await Promise.allSettled(
          sockets.map((socket, index) =>
            serviceOf(socket, path).patch(record.id, { age: 50 + index }, { query: { $ifMatch: 1 } })
          )
        )
        const fulfilled = results.filter(({ status }) => status === 'fulfilled')
        const rejected = results.flatMap((result) => (result.status === 'rejected' ? [result.reason] : []))
        assert.equal(fulfilled.length, 1)
        assert.deepEqual(
          rejected.map(({ code, name }) => [code, name]),
          [[412, 'PreconditionFailed']]
        )
        assert.equal((await storedVersions(path, record.id)).length, 2)
      })

      it('the Feathers client makes the same check over REST ($ifMatch, or the If-Match header) and over Socket.io ($ifMatch)', async () => {
        const record = await created(api, alice, body())
        const overRest = (await restClient(alice)).service(path) as any
        await assert.rejects(overRest.patch(record.id, change, { query: { $ifMatch: 2 } }), {
          code: 412,
          name: 'PreconditionFailed'
        })
        await assert.rejects(overRest.patch(record.id, change, { headers: { 'If-Match': '"2"' } }), {
          code: 412
        })
        assert.equal((await overRest.patch(record.id, change, { query: { $ifMatch: 1 } })).version, 2)
        assert.equal((await overRest.patch(record.id, change, { headers: { 'If-Match': '"2"' } })).version, 3)
        const overSocket = serviceOf(await connectSocket(alice.token), path)
        await assert.rejects(overSocket.update(record.id, replacement, { query: { $ifMatch: 1 } }), {
          code: 412,
          name: 'PreconditionFailed'
        })
        await assert.rejects(overSocket.remove(record.id, { query: { $ifMatch: 2 } }), { code: 412 })
        assert.equal((await overSocket.update(record.id, replacement, { query: { $ifMatch: 3 } })).version, 4)
        assert.equal((await overSocket.remove(record.id, { query: { $ifMatch: 4 } })).version, 5)
        // Only writes take it: on any other method it is an unknown parameter.
        await assert.rejects(overSocket.find({ query: { $ifMatch: 1 } }), { code: 400 })
      })

      it('the history pages through every version, newest first: { version, action, userId, at, data }, data the record as each change left it', async () => {
        const creation = await created(api, alice, body())
        const answers = [creation]
        answers.unshift((await send('PUT', `${api}/${creation.id}`, alice, replacement)).body)
        for (const age of [50, 51, 52, 53, 54, 55, 56, 57, 58, 59]) {
          answers.unshift((await send('PATCH', `${api}/${creation.id}`, alice, { age })).body)
        }
        answers.unshift((await send('DELETE', `${api}/${creation.id}`, alice)).body)
        const page = await historyOf(path, creation.id, alice)
        assert.equal(page.status, 200, JSON.stringify(page.body))
        assert.deepEqual(Object.keys(page.body).sort(), ['data', 'limit', 'skip', 'total'])
        assert.deepEqual([page.body.total, page.body.limit, page.body.skip], [13, 10, 0])
        for (const entry of page.body.data) {
          assert.deepEqual(Object.keys(entry), ['version', 'action', 'userId', 'at', 'data'])
          assert.match(entry.at, ISO_DATE)
          assert.equal(entry.userId, alice.id)
        }
        assert.deepEqual(
          page.body.data.map(({ data }: Json) => data),
          answers.slice(0, 10)
        )
        assert.deepEqual(page.body.data.map(({ version, action }: Json) => [version, action]).slice(0, 3), [
          [13, 'remove'],
          [12, 'patch'],
          [11, 'patch']
        ])
        const rest = await historyOf(path, creation.id, alice, '?$skip=10&$limit=5')
        assert.deepEqual([rest.body.total, rest.body.limit, rest.body.skip], [13, 5, 10])
        assert.deepEqual(
          rest.body.data.map(({ version, action, data }: Json) => [version, action, data]),
          [
            [3, 'patch', answers[10]],
            [2, 'update', answers[11]],
            [1, 'create', answers[12]]
          ]
        )
        assert.equal((await historyOf(path, creation.id, alice, '?$limit=1000')).body.limit, 100)
        assert.deepEqual((await historyOf(path, creation.id, alice, '?$limit=0')).body, {
          total: 13,
          limit: 0,
          skip: 0,
          data: []
        })
        const one = await historyOf(path, creation.id, alice, '/2')
        assert.equal(one.status, 200)
        assert.deepEqual(one.body, rest.body.data[1])
        // At the service path too.
        assert.deepEqual((await send('GET', `/${path}/${creation.id}/history/2`, alice)).body, one.body)
      })

      it('the history over a socket: find pages, get answers one version, both audited', async () => {
        const record = await created(api, alice, body())
        await send('PATCH', `${api}/${record.id}`, alice, change)
        const socket = await connectSocket(alice.token)
        const history = serviceOf(socket, `${path}/${record.id}/history`)
        const page = await history.find({ query: { $limit: 1 } })
        assert.deepEqual(
          [page.total, page.limit, page.skip, page.data.map(({ version }: Json) => version)],
          [2, 1, 0, [2]]
        )
        const first = await history.get(1)
        assert.deepEqual([first.action, first.data], ['create', record])
        await assert.rejects(history.get(3), { code: 404, name: 'NotFound' })
        await assert.rejects(history.get('one'), { code: 400, name: 'BadRequest' })
        const trail = await testDatabase()('audit')
          .where({ userId: alice.id, recordId: record.id })
          .whereIn('action', ['history', 'history-failed'])
          .orderBy('createdAt')
        assert.deepEqual(
          trail.map(({ action, service }: Json) => [action, service]),
          [
            ['history', path],
            ['history', path],
            ['history-failed', path],
            ['history-failed', path]
          ]
        )
      })

      it('every read of a history or of one of its versions writes an audit record (action history)', async () => {
        const record = await created(api, alice, body())
        const count = () => countRows('audit', { user_id: alice.id, record_id: record.id, action: 'history' })
        const before = await count()
        assert.equal((await historyOf(path, record.id, alice)).status, 200)
        assert.equal((await historyOf(path, record.id, alice, '/1')).status, 200)
        assert.equal((await send('GET', `/${path}/${record.id}/history`, alice)).status, 200)
        assert.equal(await count(), before + 3)
        const [latest] = (await send('GET', '/api/audit?$limit=1', alice)).body.data
        assert.deepEqual([latest.action, latest.service, latest.recordId], ['history', path, record.id])
      })

      it('no one can alter or delete versions through the API: the history takes no write (405), over REST and sockets', async () => {
        const record = await created(api, alice, body())
        const url = `/api/${path}/${record.id}/history`
        assertError(await send('POST', url, alice, { version: 9 }), 405, 'MethodNotAllowed')
        assertError(await send('PATCH', `${url}/1`, alice, { action: 'remove' }), 405, 'MethodNotAllowed')
        assertError(await send('PUT', `${url}/1`, alice, { action: 'remove' }), 405, 'MethodNotAllowed')
        assertError(await send('DELETE', `${url}/1`, alice), 405, 'MethodNotAllowed')
        const history = serviceOf(await connectSocket(alice.token), `${path}/${record.id}/history`)
        for (const call of [
          () => history.create({ version: 9 }),
          () => history.update(1, { action: 'remove' }),
          () => history.patch(1, { action: 'remove' }),
          () => history.remove(1)
        ]) {
          await assert.rejects(call(), { code: 405, name: 'MethodNotAllowed' })
        }
        assert.deepEqual(
          (await storedVersions(path, record.id)).map(({ version, action }) => [version, action]),
          [[1, 'create']]
        )
      })

      it('and not below the API either: the history table refuses UPDATE, DELETE and TRUNCATE', async () => {
        const record = await created(api, alice, body())
        const db = testDatabase()
        for (const sql of [
          `UPDATE ${path}_history SET action = 'patch' WHERE record_id = ?`,
          `DELETE FROM ${path}_history WHERE record_id = ?`,
          `TRUNCATE ${path}_history`
        ]) {
          await assert.rejects(db.raw(sql, sql.includes('?') ? [record.id] : []), /append-only/)
        }
        assert.equal((await storedVersions(path, record.id)).length, 1)
      })

      it('a change is written in one statement with its version, and a version that cannot be written stops its change', async () => {
        const record = await created(api, alice, body())
        const statements = await statementsDuring(() => send('PATCH', `${api}/${record.id}`, alice, change))
        const writes = statements.filter((sql) => /^\s*with\b/i.test(sql))
        assert.equal(writes.length, 1, statements.join('\n'))
        assert.match(writes[0], /set_config\('healthcare\.actor'/)
        assert.equal((await storedVersions(path, record.id)).length, 2)
        // A version the history refuses (a constraint added for the test): the change that would
        // make it is refused too, and the record stays as it was.
        const db = testDatabase()
        assert.match(record.id, UUID)
        await db.raw(
          `ALTER TABLE ${path}_history ADD CONSTRAINT test_refuses_version_3 CHECK (record_id <> '${record.id}' OR version < 3)`
        )
        try {
          const refused = await send('PATCH', `${api}/${record.id}`, alice, { age: 70 })
          assertError(refused, 400, 'BadRequest')
        } finally {
          await db.raw(`ALTER TABLE ${path}_history DROP CONSTRAINT test_refuses_version_3`)
        }
        const [row] = await db(path).where({ id: record.id })
        assert.deepEqual([row.version, row.age], [2, change.age])
        assert.equal((await storedVersions(path, record.id)).length, 2)
      })

      it('patched and updated events carry the new version, and removed its remove version', async () => {
        const record = await created(api, alice, body())
        const socket = await connectSocket(alice.token)
        await send('PUT', `${api}/${record.id}`, alice, replacement)
        await send('PATCH', `${api}/${record.id}`, alice, change)
        await send('DELETE', `${api}/${record.id}`, alice)
        assert.equal((await socket.delivered(`${path} updated`, ({ id }) => id === record.id)).version, 2)
        assert.equal((await socket.delivered(`${path} patched`, ({ id }) => id === record.id)).version, 3)
        assert.equal((await socket.delivered(`${path} removed`, ({ id }) => id === record.id)).version, 4)
      })
    })
  }

  describe('who may read a history', () => {
    it("a patient's history is its owner's, also after the patient was removed; anyone else gets 404, as for a missing one", async () => {
      const patient = await created('/api/patients', alice, validPatient())
      await send('PATCH', `/api/patients/${patient.id}`, alice, { age: 50 })
      assert.equal((await send('DELETE', `/api/patients/${patient.id}`, alice)).status, 200)
      const page = await historyOf('patients', patient.id, alice)
      assert.deepEqual(
        page.body.data.map(({ action }: Json) => action),
        ['remove', 'patch', 'create']
      )
      assert.equal((await historyOf('patients', patient.id, alice, '/3')).body.action, 'remove')
      const missing = '0b7a4f8e-5a3c-4d8e-9f1a-3c2b1a0f9e8d'
      for (const suffix of ['', '/1']) {
        const theirs = await historyOf('patients', patient.id, bob, suffix)
        const absent = await historyOf('patients', missing, bob, suffix)
        assertError(theirs, 404, 'NotFound')
        assert.deepEqual(
          { ...theirs.body, message: theirs.body.message.replace(patient.id, 'ID') },
          { ...absent.body, message: absent.body.message.replace(missing, 'ID') }
        )
      }
      // No query widens it.
      assertError(await historyOf('patients', patient.id, bob, `?ownerId=${alice.id}`), 400, 'BadRequest')
      const socket = await connectSocket(bob.token)
      await assert.rejects(serviceOf(socket, `patients/${patient.id}/history`).find(), { code: 404 })
      await assert.rejects(serviceOf(socket, `patients/${patient.id}/history`).get(1), { code: 404 })
    })

    it("a doctor's history is every user's, as the directory is, also after the doctor was removed", async () => {
      const doctor = await created('/api/doctors', alice, validDoctor())
      assert.equal((await send('DELETE', `/api/doctors/${doctor.id}`, alice)).status, 200)
      const page = await historyOf('doctors', doctor.id, bob)
      assert.deepEqual(
        page.body.data.map(({ action, userId }: Json) => [action, userId]),
        [
          ['remove', alice.id],
          ['create', alice.id]
        ]
      )
      const socket = await connectSocket(bob.token)
      assert.equal((await serviceOf(socket, `doctors/${doctor.id}/history`).get(2)).action, 'remove')
    })

    it('nobody reads a history without a token (401)', async () => {
      const patient = await created('/api/patients', alice, validPatient())
      assertError(await historyOf('patients', patient.id, undefined), 401, 'NotAuthenticated')
      assertError(await historyOf('doctors', patient.id, undefined, '/1'), 401, 'NotAuthenticated')
    })

    it('If-Match on a record the caller may not see stays a 404, on a doctor the caller may not change a 403', async () => {
      const patient = await created('/api/patients', alice, validPatient())
      const doctor = await created('/api/doctors', alice, validDoctor())
      const missing = '0b7a4f8e-5a3c-4d8e-9f1a-3c2b1a0f9e8d'
      for (const version of ['"1"', '"2"']) {
        const headers = { 'if-match': version }
        assertError(
          await send('PATCH', `/api/patients/${patient.id}`, bob, { age: 1 }, headers),
          404,
          'NotFound'
        )
        assertError(
          await send('DELETE', `/api/patients/${patient.id}`, bob, undefined, headers),
          404,
          'NotFound'
        )
        assertError(
          await send('PATCH', `/api/doctors/${doctor.id}`, bob, { age: 61 }, headers),
          403,
          'Forbidden'
        )
        assertError(
          await send('DELETE', `/api/doctors/${doctor.id}`, bob, undefined, headers),
          403,
          'Forbidden'
        )
        assertError(
          await send('PATCH', `/api/doctors/${missing}`, bob, { age: 61 }, headers),
          404,
          'NotFound'
        )
        assertError(
          await send('PATCH', `/api/patients/${missing}`, alice, { age: 1 }, headers),
          404,
          'NotFound'
        )
      }
      const socket = serviceOf(await connectSocket(bob.token), 'doctors')
      await assert.rejects(socket.patch(doctor.id, { age: 61 }, { query: { $ifMatch: 2 } }), { code: 403 })
      assert.equal((await storedVersions('patients', patient.id)).length, 1)
      assert.equal((await storedVersions('doctors', doctor.id)).length, 1)
    })
  })

  describe('bad input is a 400 (or a 404 for a version that does not exist), never a 500', () => {
    it('an If-Match that is not "*" or quoted versions is a 400, and changes nothing', async () => {
      const patient = await created('/api/patients', alice, validPatient())
      const url = `/api/patients/${patient.id}`
      for (const value of [
        'abc',
        '"abc"',
        '1',
        'W/"1"',
        '"0"',
        '"-1"',
        '"1.5"',
        '"99999999999"',
        '"2147483648"',
        '""',
        '"1"x',
        '"1",',
        '"1", abc',
        '"'.repeat(500),
        Array.from({ length: 21 }, (_, index) => `"${index + 1}"`).join(', ')
      ]) {
        const reply = await send('PATCH', url, alice, { age: 1 }, { 'if-match': value })
        assertError(reply, 400, 'BadRequest')
      }
      assertError(await send('DELETE', url, alice, undefined, { 'if-match': 'nope' }), 400, 'BadRequest')
      assertError(await send('PUT', url, alice, validPatient(), { 'if-match': 'nope' }), 400, 'BadRequest')
      assert.deepEqual((await send('GET', url, alice)).body, patient)
    })

    it('a $ifMatch that is not a version is a 400, over REST and sockets; so is one beside If-Match', async () => {
      const patient = await created('/api/patients', alice, validPatient())
      const url = `/api/patients/${patient.id}`
      for (const query of ['x', '0', '-1', '1.5', '1e3', '99999999999', '', '1&$ifMatch=2']) {
        assertError(await send('PATCH', `${url}?$ifMatch=${query}`, alice, { age: 1 }), 400, 'BadRequest')
      }
      assertError(await send('PATCH', `${url}?$ifMatch[$gt]=1`, alice, { age: 1 }), 400, 'BadRequest')
      assertError(
        await send('PATCH', `${url}?$ifMatch=1`, alice, { age: 1 }, { 'if-match': '"1"' }),
        400,
        'BadRequest'
      )
      const service = serviceOf(await connectSocket(alice.token), 'patients')
      for (const $ifMatch of ['x', 0, -1, 1.5, 2 ** 31, null, [1], { $gt: 1 }, true]) {
        await assert.rejects(service.patch(patient.id, { age: 1 }, { query: { $ifMatch } }), { code: 400 })
      }
      assert.deepEqual((await send('GET', url, alice)).body, patient)
    })

    it('a version that is not an integer from 1 is a 400, one that does not exist a 404, a record id that is not a UUID a 400', async () => {
      const patient = await created('/api/patients', alice, validPatient())
      for (const version of [
        'abc',
        '0',
        '-1',
        '1.5',
        '1e3',
        '01',
        '99999999999',
        '2147483648',
        '__proto__',
        '%20'
      ]) {
        assertError(await historyOf('patients', patient.id, alice, `/${version}`), 400, 'BadRequest')
      }
      assertError(await historyOf('patients', patient.id, alice, '/2'), 404, 'NotFound')
      assertError(await historyOf('patients', patient.id, alice, '/2147483647'), 404, 'NotFound')
      assertError(await historyOf('patients', 'not-a-uuid', alice), 400, 'BadRequest')
      assertError(await historyOf('patients', 'not-a-uuid', alice, '/1'), 400, 'BadRequest')
      for (const query of [
        '?$limit=-1',
        '?$skip=x',
        '?$sort[version]=1',
        '?action=create',
        '?$limit=1e999'
      ]) {
        assertError(await historyOf('patients', patient.id, alice, query), 400, 'BadRequest')
      }
      assertError(await historyOf('patients', patient.id, alice, '/1?$limit=1'), 400, 'BadRequest')
      assertError(await send('GET', `/api/mappings/${patient.id}/history`, alice), 404, 'NotFound')
      const service = serviceOf(await connectSocket(alice.token), `patients/${patient.id}/history`)
      for (const version of ['abc', 0, -1, 1.5, null, '__proto__']) {
        await assert.rejects(service.get(version), { code: 400 })
      }
      await assert.rejects(service.get(9), { code: 404 })
      await assert.rejects(serviceOf(await connectSocket(alice.token), 'patients/nope/history').find(), {
        code: 400
      })
    })
  })

  describe('cascades and the invariant', () => {
    it('removing a user writes the remove versions of their patients, and a patch of the doctors they created (createdBy null), by that user', async () => {
      const dave = await signUp('Dave')
      const patients = await Promise.all([1, 2, 3].map(() => created('/api/patients', dave, validPatient())))
      await send('PATCH', `/api/patients/${patients[0].id}`, dave, { age: 50 })
      const doctor = await created('/api/doctors', dave, validDoctor())
      assert.equal((await send('DELETE', `/users/${dave.id}`, dave)).status, 200)
      for (const patient of patients) {
        const versions = await storedVersions('patients', patient.id)
        const last = versions.at(-1)!
        assert.deepEqual(
          [last.action, last.userId, last.ownerId, last.version, last.data.version],
          ['remove', dave.id, dave.id, versions.length, versions.length]
        )
      }
      const doctorVersions = await storedVersions('doctors', doctor.id)
      assert.deepEqual(
        doctorVersions.map(({ version, action, userId }) => [version, action, userId]),
        [
          [1, 'create', dave.id],
          [2, 'patch', dave.id]
        ]
      )
      assert.equal(doctorVersions[1].data.created_by, null)
      const read = await send('GET', `/api/doctors/${doctor.id}`, alice)
      assert.deepEqual([read.body.version, read.body.createdBy, etagOf(read)], [2, null, '"2"'])
    })

    it('every change has its version, after cascades, races and refused writes', async () => {
      const erin = await signUp('Erin')
      const patients = await Promise.all(
        [1, 2, 3, 4].map(() => created('/api/patients', erin, validPatient()))
      )
      const doctor = await created('/api/doctors', erin, validDoctor())
      // Races: conditional and unconditional writes of the same records at once, some refused.
      const replies = await Promise.all([
        ...patients.flatMap((patient) => [
          send('PATCH', `/api/patients/${patient.id}`, erin, { age: 1 }, { 'if-match': '"1"' }),
          send('PATCH', `/api/patients/${patient.id}`, erin, { age: 2 }, { 'if-match': '"1"' }),
          send('PUT', `/api/patients/${patient.id}`, erin, validPatient({ age: 3 })),
          send('PATCH', `/api/patients/${patient.id}`, erin, { age: 4 })
        ]),
        send('DELETE', `/api/patients/${patients[0].id}`, erin, undefined, { 'if-match': '"1"' }),
        send('PATCH', `/api/doctors/${doctor.id}`, erin, { age: 50 }, { 'if-match': '"1"' }),
        send('PATCH', `/api/doctors/${doctor.id}`, bob, { age: 50 }),
        send('PATCH', `/api/patients/${patients[1].id}`, bob, { age: 50 }),
        send('PATCH', `/api/patients/${patients[2].id}`, erin, { age: 200 })
      ])
      assert.deepEqual(
        replies.filter(({ status }) => status >= 500),
        [],
        'a race or a refused write answered a 5xx'
      )
      // Of each pair carrying If-Match: "1", at most one went through (a PUT or PATCH may have come first).
      for (let index = 0; index < patients.length; index++) {
        const conditional = replies.slice(4 * index, 4 * index + 2).map(({ status }) => status)
        assert.ok(conditional.filter((status) => status === 200).length <= 1, JSON.stringify(conditional))
      }
      assert.deepEqual(
        replies.slice(-4).map(({ status }) => status),
        [200, 403, 404, 400]
      )
      // A cascade: the user and all of their patients go.
      assert.equal((await send('DELETE', `/users/${erin.id}`, erin)).status, 200)
      await assertEveryChangeHasItsVersion()
    })
  })

  describe('the migration', () => {
    it('gives existing records version 1 and a create version each', async function () {
      this.timeout(60_000)
      const database = await createScratchDatabase()
      const db = createKnex(database.url, testContext().settings.database)
      try {
        const [, pending] = await db.migrate.list()
        const names: string[] = pending.map((entry: string | { file: string }) =>
          typeof entry === 'string' ? entry : entry.file
        )
        const history = names.findIndex((name) => name.includes('history'))
        for (let step = 0; step < history; step++) await db.migrate.up()
        const [user] = await db('users')
          .insert({ name: 'Old', email: 'old@example.org', password: 'x' })
          .returning('id')
        const [patient] = await db('patients')
          .insert({
            userId: user.id,
            name: 'Old Patient',
            age: 70,
            disease: 'Gout',
            updatedAt: '2026-01-02T03:04:05.678Z'
          })
          .returning('*')
        const [doctor] = await db('doctors')
          .insert({ createdBy: null, name: 'Dr. Old', age: 70, specialty: 'Gout' })
          .returning('*')
        await db.migrate.latest()
        const [patientVersion] = await db('patients_history').where({ recordId: patient.id })
        assert.deepEqual(
          [patientVersion.version, patientVersion.action, patientVersion.userId, patientVersion.ownerId],
          [1, 'create', user.id, user.id]
        )
        assert.equal(new Date(patientVersion.at).toISOString(), '2026-01-02T03:04:05.678Z')
        assert.deepEqual(
          [patientVersion.data.version, patientVersion.data.name, patientVersion.data.user_id],
          [1, 'Old Patient', user.id]
        )
        const [doctorVersion] = await db('doctors_history').where({ recordId: doctor.id })
        assert.deepEqual(
          [doctorVersion.version, doctorVersion.action, doctorVersion.userId],
          [1, 'create', null]
        )
        assert.deepEqual((await db('patients').where({ id: patient.id }))[0].version, 1)
      } finally {
        await db.destroy()
        await database.drop()
      }
    })
  })
})
