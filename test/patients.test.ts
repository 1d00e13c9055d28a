import assert from 'node:assert/strict'
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
  validPatient
} from './helpers'
import type { TestUser } from './helpers'

const PATIENT_KEYS = ['age', 'createdAt', 'disease', 'id', 'name', 'updatedAt', 'userId', 'version']

describe('patients', () => {
  let alice: TestUser
  let bob: TestUser

  before(async () => {
    alice = await signUp('Alice')
    bob = await signUp('Bob')
  })

  describe('create', () => {
    it('answers 201 with the record, owned by the caller', async () => {
      const reply = await http('POST', '/api/patients', { token: alice.token, body: validPatient() })
      assert.equal(reply.status, 201)
      assert.deepEqual(Object.keys(reply.body).sort(), PATIENT_KEYS)
      assert.match(reply.body.id, UUID)
      assert.equal(reply.body.userId, alice.id)
      assert.equal(reply.body.name, 'Jane Roe')
      assert.equal(reply.body.age, 42)
      assert.equal(reply.body.disease, 'Hypertension')
      assert.match(reply.body.createdAt, ISO_DATE)
      assert.equal(reply.body.updatedAt, reply.body.createdAt)
    })

    it('works the same at the service path /patients', async () => {
      const reply = await http('POST', '/patients', {
        token: alice.token,
        body: validPatient({ name: 'Via service path' })
      })
      assert.equal(reply.status, 201)
      assert.equal(reply.body.userId, alice.id)
    })

    it('answers 401 without a token and creates nothing', async () => {
      const before = await countRows('patients')
      assertError(await http('POST', '/api/patients', { body: validPatient() }), 401, 'NotAuthenticated')
      assert.equal(await countRows('patients'), before)
    })

    const invalid: Array<[string, Record<string, unknown>, string]> = [
      ['a missing name', { age: 1, disease: 'Flu' }, 'name'],
      ['an empty name', validPatient({ name: '' }), 'name'],
      ['a blank name', validPatient({ name: '  ' }), 'name'],
      ['a name over 200 characters', validPatient({ name: 'n'.repeat(201) }), 'name'],
      ['a name that is an object', validPatient({ name: { first: 'Jane' } }), 'name'],
      ['a missing age', { name: 'Jane', disease: 'Flu' }, 'age'],
      ['a negative age', validPatient({ age: -1 }), 'age'],
      ['an age over 150', validPatient({ age: 151 }), 'age'],
      ['a fractional age', validPatient({ age: 42.5 }), 'age'],
      ['an age as a string', validPatient({ age: '42' }), 'age'],
      ['a huge age', validPatient({ age: 1e308 }), 'age'],
      ['an empty disease', validPatient({ disease: '' }), 'disease'],
      ['a disease over 500 characters', validPatient({ disease: 'd'.repeat(501) }), 'disease'],
      ['an unknown field', validPatient({ bloodType: 'A+' }), 'bloodType'],
      ['a client-chosen owner', validPatient({ userId: '8c1f0a9e-3f6e-4c1e-9a5e-2b7d3f1a0c11' }), 'userId'],
      ['a client-chosen id', validPatient({ id: '8c1f0a9e-3f6e-4c1e-9a5e-2b7d3f1a0c11' }), 'id'],
      ['a client-chosen timestamp', validPatient({ createdAt: '2020-01-01T00:00:00.000Z' }), 'createdAt']
    ]
    for (const [label, body, field] of invalid) {
      it(`answers 400 naming ${field} for ${label}, and creates nothing`, async () => {
        const before = await countRows('patients')
        const reply = await http('POST', '/api/patients', { token: alice.token, body })
        assertError(reply, 400, 'BadRequest')
        assert.match(JSON.stringify(reply.body.data), new RegExp(field))
        assert.equal(await countRows('patients'), before)
      })
    }

    it('accepts the age bounds 0 and 150', async () => {
      for (const age of [0, 150]) {
        assert.equal(
          (await http('POST', '/api/patients', { token: alice.token, body: validPatient({ age }) })).status,
          201
        )
      }
    })

    it('refuses an array body (one record at a time) with 400 and creates nothing', async () => {
      const before = await countRows('patients')
      const reply = await http('POST', '/api/patients', {
        token: alice.token,
        body: [validPatient(), validPatient()]
      })
      assertError(reply, 400, 'BadRequest')
      assert.equal(await countRows('patients'), before)
    })
  })

  describe('get, update, patch, remove', () => {
    it('get answers the own record with 200', async () => {
      const patient = await created('/api/patients', alice, validPatient())
      const reply = await http('GET', `/api/patients/${patient.id}`, { token: alice.token })
      assert.equal(reply.status, 200)
      assert.deepEqual(reply.body, patient)
    })

    it("another user's patient is a 404 exactly like a missing one", async () => {
      const patient = await created('/api/patients', alice, validPatient())
      const missing = '0b7a4f8e-5a3c-4d8e-9f1a-3c2b1a0f9e8d'
      const theirs = await http('GET', `/api/patients/${patient.id}`, { token: bob.token })
      const absent = await http('GET', `/api/patients/${missing}`, { token: bob.token })
      assertError(theirs, 404, 'NotFound')
      assert.deepEqual(
        { ...theirs.body, message: theirs.body.message.replace(patient.id, 'ID') },
        { ...absent.body, message: absent.body.message.replace(missing, 'ID') }
      )
    })

    it('update (PUT) replaces every writable field and keeps owner and createdAt', async () => {
      const patient = await created('/api/patients', alice, validPatient())
      const reply = await http('PUT', `/api/patients/${patient.id}`, {
        token: alice.token,
        body: { name: 'John Doe', age: 7, disease: 'Asthma' }
      })
      assert.equal(reply.status, 200)
      assert.deepEqual(
        { ...reply.body, updatedAt: undefined },
        { ...patient, name: 'John Doe', age: 7, disease: 'Asthma', version: 2, updatedAt: undefined }
      )
      assert.ok(reply.body.updatedAt > patient.updatedAt)
    })

    it('update (PUT) requires every writable field', async () => {
      const patient = await created('/api/patients', alice, validPatient())
      const reply = await http('PUT', `/api/patients/${patient.id}`, {
        token: alice.token,
        body: { name: 'Only name' }
      })
      assertError(reply, 400, 'BadRequest')
      assert.match(JSON.stringify(reply.body.data), /age|disease/)
      assert.deepEqual(
        (await http('GET', `/api/patients/${patient.id}`, { token: alice.token })).body,
        patient
      )
    })

    it('patch changes only the given fields', async () => {
      const patient = await created('/api/patients', alice, validPatient())
      const reply = await http('PATCH', `/api/patients/${patient.id}`, {
        token: alice.token,
        body: { age: 43 }
      })
      assert.equal(reply.status, 200)
      assert.deepEqual(
        { ...reply.body, updatedAt: undefined },
        { ...patient, age: 43, version: 2, updatedAt: undefined }
      )
    })

    for (const field of ['userId', 'id', 'createdAt', 'updatedAt']) {
      it(`patch refuses the server-owned ${field} with 400 and changes nothing`, async () => {
        const patient = await created('/api/patients', alice, validPatient())
        const value = field.endsWith('At') ? '2020-01-01T00:00:00.000Z' : bob.id
        const reply = await http('PATCH', `/api/patients/${patient.id}`, {
          token: alice.token,
          body: { age: 1, [field]: value }
        })
        assertError(reply, 400, 'BadRequest')
        assert.deepEqual(
          (await http('GET', `/api/patients/${patient.id}`, { token: alice.token })).body,
          patient
        )
      })
    }

    it("update, patch and remove of another user's patient are 404 and change nothing", async () => {
      const patient = await created('/api/patients', alice, validPatient())
      const path = `/api/patients/${patient.id}`
      assertError(
        await http('PUT', path, { token: bob.token, body: validPatient({ name: 'Stolen' }) }),
        404,
        'NotFound'
      )
      assertError(await http('PATCH', path, { token: bob.token, body: { name: 'Stolen' } }), 404, 'NotFound')
      assertError(await http('DELETE', path, { token: bob.token }), 404, 'NotFound')
      assert.deepEqual((await http('GET', path, { token: alice.token })).body, patient)
    })

    it('remove answers 200 with the removed record (at its remove version); it is gone after', async () => {
      const patient = await created('/api/patients', alice, validPatient())
      const reply = await http('DELETE', `/api/patients/${patient.id}`, { token: alice.token })
      assert.equal(reply.status, 200)
      assert.deepEqual(reply.body, { ...patient, version: 2 })
      assertError(await http('GET', `/api/patients/${patient.id}`, { token: alice.token }), 404, 'NotFound')
    })
  })

  describe('find', () => {
    let carol: TestUser
    const names = [
      'Anna',
      'Bert',
      'Cleo',
      'Dirk',
      'Emma',
      'Finn',
      'Gina',
      'Hugo',
      'Ines',
      'Jack',
      'Kira',
      'Liam'
    ]

    before(async () => {
      carol = await signUp('Carol')
      for (const [index, name] of names.entries()) {
        await created(
          '/api/patients',
          carol,
          validPatient({ name, age: 10 + index, disease: index % 2 ? 'Flu' : 'Asthma' })
        )
      }
    })

    const find = (query: string) => http('GET', `/api/patients${query}`, { token: carol.token })
    const namesOf = (reply: { body: { data: Array<{ name: string }> } }) =>
      reply.body.data.map((patient) => patient.name)

    it('answers a page of 10 by default with the total', async () => {
      const reply = await find('')
      assert.equal(reply.status, 200)
      assert.deepEqual(Object.keys(reply.body).sort(), ['data', 'limit', 'skip', 'total'])
      assert.equal(reply.body.total, 12)
      assert.equal(reply.body.limit, 10)
      assert.equal(reply.body.skip, 0)
      assert.equal(reply.body.data.length, 10)
      assert.ok(reply.body.data.every((patient: { userId: string }) => patient.userId === carol.id))
      assert.ok(
        reply.body.data.every(
          (patient: object) => JSON.stringify(Object.keys(patient).sort()) === JSON.stringify(PATIENT_KEYS)
        )
      )
    })

    it('caps $limit at 100', async () => {
      const reply = await find('?$limit=1000')
      assert.equal(reply.status, 200)
      assert.equal(reply.body.limit, 100)
      assert.equal(reply.body.data.length, 12)
    })

    it('pages with $limit, $skip and $sort', async () => {
      const reply = await find('?$limit=3&$skip=2&$sort[age]=1')
      assert.deepEqual(namesOf(reply), ['Cleo', 'Dirk', 'Emma'])
      assert.equal(reply.body.skip, 2)
      assert.deepEqual(namesOf(await find('?$limit=2&$sort[name]=-1')), ['Liam', 'Kira'])
    })

    it('pages in a stable order (creation, then id) when no $sort is given', async () => {
      const first = await find('?$limit=6')
      const second = await find('?$limit=6&$skip=6')
      assert.deepEqual([...namesOf(first), ...namesOf(second)], names)
    })

    it('knows the total past the last page and with $limit=0', async () => {
      assert.deepEqual((await find('?$skip=100')).body, { total: 12, limit: 10, skip: 100, data: [] })
      assert.deepEqual((await find('?$limit=0')).body, { total: 12, limit: 0, skip: 0, data: [] })
      const last = await find('?$skip=10')
      assert.equal(last.body.total, 12)
      assert.equal(last.body.data.length, 2)
    })

    it('$select returns only the chosen fields and the id', async () => {
      const reply = await find('?$select[]=name&$limit=1')
      assert.equal(reply.status, 200)
      assert.deepEqual(Object.keys(reply.body.data[0]).sort(), ['id', 'name'])
    })

    it('filters by equality, $in, $nin, $ne, $lt, $lte, $gt, $gte and $ilike on the name', async () => {
      const cases: Array<[string, string[]]> = [
        ['?name=Emma', ['Emma']],
        ['?name[$in][]=Anna&name[$in][]=Bert', ['Anna', 'Bert']],
        ['?age[$lt]=12', ['Anna', 'Bert']],
        ['?age[$lte]=12', ['Anna', 'Bert', 'Cleo']],
        ['?age[$gt]=20', ['Liam']],
        ['?age[$gte]=20', ['Kira', 'Liam']],
        ['?age[$gte]=14&age[$lt]=16&disease[$ne]=Flu', ['Emma']],
        ['?disease=Flu&age[$nin][]=11&age[$nin][]=13&age[$lte]=15', ['Finn']],
        ['?name=Nobody', []],
        ['?name[$ilike]=%25i%25&disease=Asthma', ['Gina', 'Ines', 'Kira']],
        ['?name[$ilike]=l%25', ['Liam']]
      ]
      for (const [query, expected] of cases) {
        const reply = await find(`${query}&$sort[age]=1`)
        assert.equal(reply.status, 200, `${query}: ${JSON.stringify(reply.body)}`)
        assert.deepEqual(namesOf(reply), expected, query)
        assert.equal(reply.body.total, expected.length, query)
      }
    })

    it('$ilike is allowed on names only', async () => {
      assertError(await find('?disease[$ilike]=%25'), 400, 'BadRequest')
    })
  })

  describe('totals kept by the database', () => {
    const totalOf = async (user: TestUser, query = '') => {
      const reply = await http('GET', `/api/patients${query}`, { token: user.token })
      assert.equal(reply.status, 200, JSON.stringify(reply.body))
      return reply.body.total
    }
    const keptTotalOf = async (user: TestUser) => {
      const db = testDatabase()
      const [{ total }] = await db('patient_counts').where({ userId: user.id }).sum({ total: 'total' })
      return Number(total ?? 0)
    }

    it('stay exact through concurrent creates and removes, each owner apart', async () => {
      const [dana, eli] = [await signUp('Dana'), await signUp('Eli')]
      const danas = await Promise.all(
        Array.from({ length: 24 }, (_, index) =>
          created('/api/patients', dana, validPatient({ name: `D${index}` }))
        )
      )
      await Promise.all(Array.from({ length: 5 }, () => created('/api/patients', eli, validPatient())))
      assert.equal(await totalOf(dana), 24)
      assert.equal(await totalOf(eli), 5)
      const removals = await Promise.all(
        danas
          .slice(0, 7)
          .map((patient) => http('DELETE', `/api/patients/${patient.id}`, { token: dana.token }))
      )
      assert.deepEqual(
        removals.map((reply) => reply.status),
        Array(7).fill(200)
      )
      assert.equal(await totalOf(dana), 17)
      assert.equal(await totalOf(dana, '?$skip=5&$limit=3'), 17)
      // A filtered query is counted, and agrees.
      assert.equal(await totalOf(dana, '?age=42'), 17)
      assert.equal(await totalOf(dana, '?name[$ilike]=D1%25'), 10) // D10 to D19; D1 was removed
      assert.equal(await keptTotalOf(dana), await countRows('patients', { user_id: dana.id }))
      assert.equal(await totalOf(eli), 5)
    })

    it('are read from the kept counts when the query is only the caller’s records, else counted', async () => {
      const hal = await signUp('Hal')
      await created('/api/patients', hal, validPatient())
      const statementsOf = async (query: string) => {
        const statements = await statementsDuring(async () => assert.equal(await totalOf(hal, query), 1))
        return statements.find((sql) => sql.includes('from "patients"')) ?? ''
      }
      assert.match(await statementsOf(''), /from "patient_counts"/)
      assert.doesNotMatch(await statementsOf(''), /count\(\*\)/)
      const filtered = await statementsOf('?age=42')
      assert.match(filtered, /count\(\*\)/)
      assert.doesNotMatch(filtered, /patient_counts/)
    })

    it('follow a patient moved to another owner by hand, and patches do not touch them', async () => {
      const [ida, jon] = [await signUp('Ida'), await signUp('Jon')]
      const patient = await created('/api/patients', ida, validPatient())
      const db = testDatabase()
      const countsOf = () =>
        db('patient_counts').whereIn('userId', [ida.id, jon.id]).orderBy(['userId', 'slot'])
      const before = await countsOf()
      await http('PATCH', `/api/patients/${patient.id}`, { token: ida.token, body: { age: 50 } })
      assert.deepEqual(await countsOf(), before)
      await db('patients').where({ id: patient.id }).update({ userId: jon.id })
      assert.deepEqual([await keptTotalOf(ida), await keptTotalOf(jon)], [0, 1])
      assert.deepEqual([await totalOf(ida), await totalOf(jon)], [0, 1])
    })

    it('are not changed by patches or refused removes, and follow a removed user', async () => {
      const [fay, gus] = [await signUp('Fay'), await signUp('Gus')]
      const faysPatient = await created('/api/patients', fay, validPatient())
      await created('/api/patients', gus, validPatient())
      // Both statements reach the table, and its triggers: one changes a row, the other none.
      assert.equal(
        (await http('PATCH', `/api/patients/${faysPatient.id}`, { token: fay.token, body: { age: 43 } }))
          .status,
        200
      )
      assertError(
        await http('DELETE', `/api/patients/${faysPatient.id}`, { token: gus.token }),
        404,
        'NotFound'
      )
      assert.equal(await totalOf(fay), 1)
      assert.equal(await keptTotalOf(fay), 1)
      assert.equal((await http('DELETE', `/users/${fay.id}`, { token: fay.token })).status, 200)
      assert.equal(await keptTotalOf(fay), 0)
      assert.equal(await totalOf(gus), 1)
    })
  })
})
