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
  validDoctor,
  validPatient
} from './helpers'
import type { TestUser } from './helpers'

const MISSING_ID = '0b7a4f8e-5a3c-4d8e-9f1a-3c2b1a0f9e8d'

describe('mappings', () => {
  let alice: TestUser
  let bob: TestUser
  let doctor: any

  before(async () => {
    alice = await signUp('Alice')
    bob = await signUp('Bob')
    doctor = await created('/api/doctors', bob, validDoctor())
  })

  const newPatient = (owner: TestUser, overrides = {}) =>
    created('/api/patients', owner, validPatient(overrides))
  const assign = (owner: TestUser, patientId: string, doctorId: string) =>
    http('POST', '/api/mappings', { token: owner.token, body: { patientId, doctorId } })

  it('create answers 201 with doctor and patient resolved and no owner field', async () => {
    const patient = await newPatient(alice)
    const reply = await assign(alice, patient.id, doctor.id)
    assert.equal(reply.status, 201)
    assert.deepEqual(Object.keys(reply.body).sort(), [
      'createdAt',
      'doctor',
      'doctorId',
      'id',
      'patient',
      'patientId'
    ])
    assert.match(reply.body.id, UUID)
    assert.match(reply.body.createdAt, ISO_DATE)
    assert.equal(reply.body.patientId, patient.id)
    assert.equal(reply.body.doctorId, doctor.id)
    assert.deepEqual(reply.body.doctor, doctor)
    assert.deepEqual(reply.body.patient, patient)
  })

  it("another user's patient is a 404 like a missing one, even when the pair exists", async () => {
    const patient = await newPatient(alice)
    assert.equal((await assign(alice, patient.id, doctor.id)).status, 201)
    const before = await countRows('mappings')
    const theirs = await assign(bob, patient.id, doctor.id)
    const missing = await assign(bob, MISSING_ID, doctor.id)
    assertError(theirs, 404, 'NotFound')
    assert.deepEqual(theirs.body, missing.body)
    assert.equal(theirs.body.message, 'Patient not found')
    assert.equal(await countRows('mappings'), before)
  })

  it('a missing doctor is a 404 and creates nothing', async () => {
    const patient = await newPatient(alice)
    const reply = await assign(alice, patient.id, MISSING_ID)
    assertError(reply, 404, 'NotFound')
    assert.equal(reply.body.message, 'Doctor not found')
    assert.equal(await countRows('mappings', { patient_id: patient.id }), 0)
  })

  for (const [label, body, field] of [
    ['a missing doctorId', { patientId: MISSING_ID }, 'doctorId'],
    ['a patientId that is not a UUID', { patientId: 'abc', doctorId: MISSING_ID }, 'patientId'],
    ['an unknown field', { patientId: MISSING_ID, doctorId: MISSING_ID, note: 'x' }, 'note'],
    ['a client-chosen owner', { patientId: MISSING_ID, doctorId: MISSING_ID, userId: MISSING_ID }, 'userId']
  ] as const) {
    it(`create answers 400 naming ${field} for ${label}`, async () => {
      const reply = await http('POST', '/api/mappings', { token: alice.token, body })
      assertError(reply, 400, 'BadRequest')
      assert.match(JSON.stringify(reply.body.data), new RegExp(field))
    })
  }

  it('the same pair twice is a 409', async () => {
    const patient = await newPatient(alice)
    assert.equal((await assign(alice, patient.id, doctor.id)).status, 201)
    const reply = await assign(alice, patient.id, doctor.id)
    assertError(reply, 409, 'Conflict')
  })

  it('ten simultaneous identical creates give exactly one 201 and nine 409', async () => {
    const patient = await newPatient(alice)
    const replies = await Promise.all(Array.from({ length: 10 }, () => assign(alice, patient.id, doctor.id)))
    const statuses = replies.map((reply) => reply.status).sort()
    assert.deepEqual(statuses, [201, 409, 409, 409, 409, 409, 409, 409, 409, 409])
    assert.equal(await countRows('mappings', { patient_id: patient.id }), 1)
  })

  describe('GET /api/mappings/:patientId', () => {
    it("answers the page of that patient's mappings, each with its doctor", async () => {
      const patient = await newPatient(alice)
      const other = await newPatient(alice)
      const second = await created('/api/doctors', alice, validDoctor({ name: 'Dr. Second' }))
      await assign(alice, patient.id, doctor.id)
      await assign(alice, patient.id, second.id)
      await assign(alice, other.id, doctor.id)
      const reply = await http('GET', `/api/mappings/${patient.id}?$sort[createdAt]=1`, {
        token: alice.token
      })
      assert.equal(reply.status, 200)
      assert.equal(reply.body.total, 2)
      assert.deepEqual(
        reply.body.data.map((mapping: any) => mapping.doctor.name).sort(),
        [doctor.name, 'Dr. Second'].sort()
      )
      assert.ok(
        reply.body.data.every(
          (mapping: any) => mapping.patientId === patient.id && mapping.patient.id === patient.id
        )
      )
    })

    it("another user's patient answers an empty page, like a missing one", async () => {
      const patient = await newPatient(alice)
      await assign(alice, patient.id, doctor.id)
      const theirs = await http('GET', `/api/mappings/${patient.id}`, { token: bob.token })
      const missing = await http('GET', `/api/mappings/${MISSING_ID}`, { token: bob.token })
      assert.equal(theirs.status, 200)
      assert.deepEqual(theirs.body, { total: 0, limit: 10, skip: 0, data: [] })
      assert.deepEqual(missing.body, theirs.body)
    })

    it('a patientId that is not a UUID is a 400', async () => {
      assertError(await http('GET', '/api/mappings/not-a-uuid', { token: alice.token }), 400, 'BadRequest')
    })
  })

  it('find, get and remove see only mappings of the caller’s patients', async () => {
    const patient = await newPatient(alice)
    const mapping = (await assign(alice, patient.id, doctor.id)).body
    const bobsFind = await http('GET', '/api/mappings?$limit=100', { token: bob.token })
    assert.equal(bobsFind.status, 200)
    assert.ok(bobsFind.body.data.every((row: any) => row.id !== mapping.id))
    assertError(await http('GET', `/mappings/${mapping.id}`, { token: bob.token }), 404, 'NotFound')
    assertError(await http('DELETE', `/api/mappings/${mapping.id}`, { token: bob.token }), 404, 'NotFound')
    const own = await http('GET', `/mappings/${mapping.id}`, { token: alice.token })
    assert.equal(own.status, 200)
    assert.deepEqual(own.body, mapping)
  })

  it('remove answers 200 with the removed mapping, relations included', async () => {
    const patient = await newPatient(alice)
    const mapping = (await assign(alice, patient.id, doctor.id)).body
    const reply = await http('DELETE', `/api/mappings/${mapping.id}`, { token: alice.token })
    assert.equal(reply.status, 200)
    assert.deepEqual(reply.body, mapping)
    assert.equal(await countRows('mappings', { id: mapping.id }), 0)
  })

  it('patch and update are not offered (405)', async () => {
    const patient = await newPatient(alice)
    const mapping = (await assign(alice, patient.id, doctor.id)).body
    assertError(
      await http('PATCH', `/api/mappings/${mapping.id}`, {
        token: alice.token,
        body: { doctorId: doctor.id }
      }),
      405,
      'MethodNotAllowed'
    )
    assertError(
      await http('PUT', `/mappings/${mapping.id}`, {
        token: alice.token,
        body: { patientId: patient.id, doctorId: doctor.id }
      }),
      405,
      'MethodNotAllowed'
    )
  })

  it('removing a patient removes its mappings', async () => {
    const patient = await newPatient(alice)
    await assign(alice, patient.id, doctor.id)
    assert.equal(await countRows('mappings', { patient_id: patient.id }), 1)
    assert.equal((await http('DELETE', `/api/patients/${patient.id}`, { token: alice.token })).status, 200)
    assert.equal(await countRows('mappings', { patient_id: patient.id }), 0)
  })

  it('removing a doctor removes its mappings', async () => {
    const ownDoctor = await created('/api/doctors', alice, validDoctor())
    const patient = await newPatient(alice)
    await assign(alice, patient.id, ownDoctor.id)
    assert.equal(await countRows('mappings', { doctor_id: ownDoctor.id }), 1)
    assert.equal((await http('DELETE', `/api/doctors/${ownDoctor.id}`, { token: alice.token })).status, 200)
    assert.equal(await countRows('mappings', { doctor_id: ownDoctor.id }), 0)
    assert.deepEqual((await http('GET', `/api/mappings/${patient.id}`, { token: alice.token })).body.data, [])
  })

  it('a page of mappings with their doctors and patients costs the same statements for 1 or 10 (no N+1)', async () => {
    const queriesFor = async (path: string) => {
      let body: any
      const statements = await statementsDuring(async () => {
        const reply = await http('GET', path, { token: carol.token })
        assert.equal(reply.status, 200)
        body = reply.body
      })
      return { count: statements.length, size: body.data.length, body }
    }
    const carol = await signUp('Carol')
    const patients = [await newPatient(carol), await newPatient(carol)]
    for (let index = 0; index < 10; index++) {
      const own = await created('/api/doctors', carol, validDoctor({ name: `Dr. ${index}` }))
      await assign(carol, patients[index % 2 ? 1 : 0].id, own.id)
    }
    await queriesFor('/api/mappings?$limit=0') // the caller's user record is now cached
    const one = await queriesFor('/api/mappings?$limit=1')
    const ten = await queriesFor('/api/mappings?$limit=10')
    assert.equal(one.size, 1)
    assert.equal(ten.size, 10)
    // The same two statements whatever the page size: the page with its total and each mapping's
    // doctor and patient, and the read's audit record.
    assert.equal(one.count, 2)
    assert.equal(ten.count, 2)
    assert.equal(one.body.total, 10)
    assert.equal(ten.body.total, 10)
    assert.ok(
      ten.body.data.every(
        (mapping: any) => mapping.doctor.id === mapping.doctorId && mapping.patient.id === mapping.patientId
      )
    )
  })
})
