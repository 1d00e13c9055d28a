import assert from 'node:assert/strict'
import { MedplumClient } from '@medplum/core'
import { created, signUp, validDoctor, validPatient } from './helpers'
import type { TestUser } from './helpers'
import { assertValidFhir, FHIR_CONTENT_TYPE, fhirBase } from './fhir-helpers'
import { testContext } from './setup'

/**
 * A FHIR app's view: Medplum's client pointed at `<base>/fhir` with the access token, reading,
 * searching and following `next` links to the end, every answer it receives validated against R4.
 */
describe('FHIR R4 facade through a FHIR client (MedplumClient)', () => {
  let alice: TestUser
  let patients: any[]
  let doctor: any
  const received: string[] = []

  /** fetch for the client: every answer is FHIR JSON that validates, and each URL is noted. */
  const validatingFetch = async (url: string | URL | Request, init?: RequestInit) => {
    const response = await fetch(url, init)
    received.push(String(url))
    assert.match(response.headers.get('content-type') ?? '', FHIR_CONTENT_TYPE)
    assertValidFhir(await response.clone().json())
    return response
  }

  function client(token: string) {
    const medplum = new MedplumClient({
      baseUrl: testContext().server.url,
      fhirUrlPath: 'fhir',
      fetch: validatingFetch as typeof fetch,
      cacheTime: 0
    })
    medplum.setAccessToken(token)
    return medplum
  }

  before(async () => {
    alice = await signUp('Alice')
    patients = []
    for (let index = 0; index < 23; index++) {
      patients.push(
        await created('/api/patients', alice, validPatient({ name: `Client ${index}`, age: index }))
      )
    }
    doctor = await created(
      '/api/doctors',
      alice,
      validDoctor({ name: 'Dr. Client', specialty: 'Nephrology' })
    )
    await created('/api/mappings', alice, { patientId: patients[0].id, doctorId: doctor.id })
  })

  it('reads a Patient, a Condition and follows a CareTeam’s references', async () => {
    const medplum = client(alice.token)
    const patient = await medplum.readResource('Patient', patients[5].id)
    assert.equal(patient.name?.[0].text, 'Client 5')
    assert.equal(patient.meta?.versionId, '1')
    const condition = await medplum.readResource('Condition', patients[5].id)
    assert.equal(condition.code?.text, 'Hypertension')
    assert.equal((await medplum.readReference(condition.subject!)).id, patients[5].id)
    const teams = await medplum.searchResources('CareTeam', { patient: `Patient/${patients[0].id}` })
    assert.equal(teams.length, 1)
    const role = await medplum.readReference(teams[0].participant![0].member as any)
    assert.equal(role.resourceType, 'PractitionerRole')
    const practitioner = await medplum.readReference((role as any).practitioner)
    assert.deepEqual((practitioner as any).name, [{ text: 'Dr. Client' }])
    const history = await medplum.readHistory('Patient', patients[5].id)
    assert.equal(history.type, 'history')
    assert.equal(history.total, 1)
  })

  it('searches page by page to the end of the next links', async () => {
    const medplum = client(alice.token)
    const seen: string[] = []
    let bundle: any = await medplum.search('Patient', { name: 'client', _count: '10' })
    assert.equal(bundle.total, 23)
    let pages = 1
    for (;;) {
      seen.push(...(bundle.entry ?? []).map((entry: any) => entry.resource.id))
      const next = bundle.link.find((link: any) => link.relation === 'next')?.url
      if (!next) break
      assert.ok(next.startsWith(`${fhirBase()}/Patient?`), next)
      bundle = await medplum.get(next)
      pages++
    }
    assert.equal(pages, 3)
    assert.deepEqual(
      seen,
      patients.map((patient) => patient.id)
    )
  })

  it('its own paging (searchResourcePages, asking 1,000 a page) ends with every match once', async () => {
    const medplum = client(alice.token)
    const seen: string[] = []
    const before = received.length
    for await (const page of medplum.searchResourcePages('Patient', { name: 'Client 1' })) {
      seen.push(...page.map((resource) => resource.id!))
    }
    const expected = patients
      .filter((patient) => patient.name.startsWith('Client 1'))
      .map((patient) => patient.id)
    assert.deepEqual(seen, expected)
    assert.ok(received.slice(before).every((url) => /_count=1000/.test(url)))
  })

  it('a refused token is an error the client sees as unauthenticated', async () => {
    const medplum = client('not-a-token')
    await assert.rejects(medplum.readResource('Patient', patients[0].id), { message: 'Unauthorized' })
  })
})
