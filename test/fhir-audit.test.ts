import assert from 'node:assert/strict'
import { created, http, signUp, validDoctor, validPatient } from './helpers'
import type { TestUser } from './helpers'
import { auditDuring, fhir } from './fhir-helpers'

/**
 * A FHIR read writes the audit records the same read over /api writes, and only those: the facade
 * goes through the services, their scope and their audit hooks.
 */
describe('FHIR R4 facade: audit records', () => {
  let alice: TestUser
  let bob: TestUser
  let patient: any
  let doctor: any
  let mapping: any

  before(async () => {
    ;[alice, bob] = await Promise.all([signUp('Alice'), signUp('Bob')])
    patient = await created('/api/patients', alice, validPatient())
    doctor = await created('/api/doctors', bob, validDoctor())
    mapping = await created('/api/mappings', alice, { patientId: patient.id, doctorId: doctor.id })
  })

  /** The audit records of `alice` written by a FHIR GET of `path`, which must answer `status`. */
  const audited = (path: string, status = 200, user = alice) =>
    auditDuring(user.id, async () => {
      assert.equal((await fhir(path, { token: user.token })).status, status, path)
    })

  /** The same for a GET under /api, to compare. */
  const auditedApi = (path: string, user = alice) =>
    auditDuring(user.id, () => http('GET', path, { token: user.token }))

  it('a read of Patient or Condition: one get on patients, as GET /api/patients/:id', async () => {
    const expected = [`get patients ${patient.id}`]
    assert.deepEqual(await auditedApi(`/api/patients/${patient.id}`), expected)
    assert.deepEqual(await audited(`/fhir/Patient/${patient.id}`), expected)
    assert.deepEqual(await audited(`/fhir/Condition/${patient.id}`), expected)
  })

  it('a read of CareTeam: one get on mappings', async () => {
    assert.deepEqual(await audited(`/fhir/CareTeam/${mapping.id}`), [`get mappings ${mapping.id}`])
  })

  it('a search of Patient or Condition: one find on patients; of CareTeam: one find on mappings', async () => {
    assert.deepEqual(await audited('/fhir/Patient?name=Jane'), ['find patients -'])
    assert.deepEqual(await audited(`/fhir/Condition?patient=${patient.id}`), ['find patients -'])
    assert.deepEqual(await audited('/fhir/CareTeam'), ['find mappings -'])
  })

  it('a search that can match nothing is still one find, as the same query over /api', async () => {
    assert.deepEqual(await audited('/fhir/Patient?_id=nope'), ['find patients -'])
    assert.deepEqual(await audited('/fhir/CareTeam?patient=Practitioner/x'), ['find mappings -'])
    assert.deepEqual(await audited('/fhir/Patient?_count=0'), ['find patients -'])
  })

  it('a vread or a history: one history, of patients or of doctors', async () => {
    assert.deepEqual(await audited(`/fhir/Patient/${patient.id}/_history`), [
      `history patients ${patient.id}`
    ])
    assert.deepEqual(await audited(`/fhir/Patient/${patient.id}/_history/1`), [
      `history patients ${patient.id}`
    ])
    assert.deepEqual(await audited(`/fhir/Practitioner/${doctor.id}/_history`), [
      `history doctors ${doctor.id}`
    ])
    assert.deepEqual(await audited(`/fhir/PractitionerRole/${doctor.id}/_history/1`), [
      `history doctors ${doctor.id}`
    ])
  })

  it('other reads and searches of Practitioner and PractitionerRole, and those of AuditEvent, write none', async () => {
    const [record] = (await http('GET', '/api/audit?$limit=1', { token: alice.token })).body.data
    for (const path of [
      `/fhir/Practitioner/${doctor.id}`,
      `/fhir/PractitionerRole/${doctor.id}`,
      '/fhir/Practitioner?name=Dr',
      '/fhir/PractitionerRole?specialty=Diagnostics',
      `/fhir/AuditEvent/${record.id}`,
      '/fhir/AuditEvent?date=ge2020-01-01',
      '/fhir/metadata'
    ]) {
      assert.deepEqual(await audited(path), [], path)
    }
  })

  it('a failed read is recorded as the JSON API records it: one `get-failed`, also for a removed patient', async () => {
    const gone = await created('/api/patients', alice, validPatient({ name: 'Removed' }))
    await http('DELETE', `/api/patients/${gone.id}`, { token: alice.token })
    const expected = [`get-failed patients ${gone.id}`]
    assert.deepEqual(await auditedApi(`/api/patients/${gone.id}`), expected)
    assert.deepEqual(await audited(`/fhir/Patient/${gone.id}`, 410), expected)
    assert.deepEqual(await audited(`/fhir/Condition/${gone.id}`, 404), expected)
    assert.deepEqual(await audited(`/fhir/Patient/${patient.id}`, 404, bob), [
      `get-failed patients ${patient.id}`
    ])
    assert.deepEqual(await auditedApi('/api/patients/not-a-uuid'), ['get-failed patients -'])
    assert.deepEqual(await audited('/fhir/Patient/not-a-uuid', 404), ['get-failed patients -'])
    assert.deepEqual(await audited(`/fhir/Patient/${gone.id}/_history/2`, 410), [
      `history patients ${gone.id}`
    ])
  })

  it('a refused request writes nothing: no token, a malformed parameter, a method not served', async () => {
    assert.deepEqual(await auditDuring(alice.id, () => fhir(`/fhir/Patient/${patient.id}`)), [])
    assert.deepEqual(await audited('/fhir/Patient?_count=-1', 400), [])
    assert.deepEqual(
      await auditDuring(alice.id, () =>
        fhir(`/fhir/Patient/${patient.id}`, { method: 'DELETE', token: alice.token })
      ),
      []
    )
  })

  it('the AuditEvent of each kind of record: its type, subtype, action, outcome and entity', async () => {
    const denise = await signUp('Denise')
    const mine = await created('/api/patients', denise, validPatient())
    await http('PATCH', `/api/patients/${mine.id}`, { token: denise.token, body: { age: 1 } })
    await http('GET', `/api/patients/${mine.id}/history`, { token: denise.token })
    await http('GET', `/api/patients/${bob.id}`, { token: denise.token })
    await http('POST', '/api/auth/login', { body: { email: denise.email, password: 'wrong password' } })
    const { body } = await fhir('/fhir/AuditEvent?_count=100', { token: denise.token })
    const events = body.entry.map(({ resource }: any) => ({
      type: resource.type.code,
      subtype: resource.subtype?.map((coding: any) => coding.code),
      action: resource.action,
      outcome: resource.outcome,
      what: resource.entity?.[0].what
    }))
    assert.deepEqual(events, [
      { type: '110114', subtype: ['110122'], action: 'E', outcome: '4', what: undefined },
      {
        type: 'rest',
        subtype: ['read'],
        action: 'R',
        outcome: '4',
        what: { reference: `Patient/${bob.id}` }
      },
      {
        type: 'rest',
        subtype: ['history-instance'],
        action: 'R',
        outcome: '0',
        what: { reference: `Patient/${mine.id}` }
      },
      {
        type: 'rest',
        subtype: ['patch'],
        action: 'U',
        outcome: '0',
        what: { reference: `Patient/${mine.id}` }
      },
      {
        type: 'rest',
        subtype: ['create'],
        action: 'C',
        outcome: '0',
        what: { reference: `Patient/${mine.id}` }
      },
      {
        type: '110114',
        subtype: ['110122'],
        action: 'E',
        outcome: '0',
        what: body.entry.at(-1).resource.entity[0].what
      }
    ])
    const login = body.entry.at(-1).resource
    assert.deepEqual(login.type, { system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110114' })
    assert.deepEqual(login.subtype, [
      { system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110122' }
    ])
    assert.match(login.entity[0].what.identifier.value, /^[0-9a-f-]{36}$/)
    assert.deepEqual(Object.keys(login.entity[0].what), ['identifier'])
    assert.equal(login.entity[0].what.identifier.system, 'urn:healthcare-api:authentication')
  })

  it('logout and an ended session: DCM 110123', async () => {
    const erin = await signUp('Erin')
    const other = await http('POST', '/api/auth/login', {
      body: { email: erin.email, password: erin.password }
    })
    await http('DELETE', `/api/auth/sessions/${other.body.authentication.payload.sid}`, { token: erin.token })
    const { body } = await fhir('/fhir/AuditEvent?_count=2', { token: erin.token })
    const [ended] = body.entry.map(({ resource }: any) => resource)
    assert.deepEqual(ended.subtype, [
      { system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110123' }
    ])
    assert.deepEqual(ended.entity, [
      {
        what: {
          identifier: { system: 'urn:healthcare-api:sessions', value: other.body.authentication.payload.sid }
        }
      }
    ])
    await http('POST', '/api/auth/logout', { token: erin.token })
    const fresh = await http('POST', '/api/auth/login', {
      body: { email: erin.email, password: erin.password }
    })
    const after = await fhir('/fhir/AuditEvent?_count=2', { token: fresh.body.accessToken })
    const [login, logout] = after.body.entry.map(({ resource }: any) => resource)
    assert.deepEqual([login.subtype[0].code, logout.subtype[0].code], ['110122', '110123'])
  })
})
