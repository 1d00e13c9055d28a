import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { request } from 'node:http'
import path from 'node:path'
import { checkConfiguration, loadConfiguration } from '../src/configuration'
import { fhirMappings } from '../src/services/fhir'
import { users } from '../src/services/users'
import { doctors } from '../src/services/doctors'
import { ids, prefix } from '../src/fhir/search-parameters'
import { defineFhir } from '../src/fhir/vocabulary'
import { startServer } from '../src/server'
import type { RunningServer } from '../src/server'
import { countRows, created, http, ISO_DATE, signUp, validDoctor, validPatient } from './helpers'
import type { TestUser } from './helpers'
import { assertOutcome, assertValidFhir, entryIds, fhir, fhirBase, FHIR_CONTENT_TYPE } from './fhir-helpers'
import { testContext } from './setup'

const UCUM = 'http://unitsofmeasure.org'

const expectedPatient = (patient: any, base = fhirBase()) => ({
  resourceType: 'Patient',
  id: patient.id,
  meta: { versionId: String(patient.version), lastUpdated: patient.updatedAt },
  extension: [
    {
      url: `${base}/StructureDefinition/recorded-age`,
      valueAge: { value: patient.age, unit: 'a', system: UCUM, code: 'a' }
    }
  ],
  name: [{ text: patient.name }]
})

const expectedCondition = (patient: any) => ({
  resourceType: 'Condition',
  id: patient.id,
  meta: { lastUpdated: patient.updatedAt },
  code: { text: patient.disease },
  subject: { reference: `Patient/${patient.id}` }
})

const expectedPractitioner = (doctor: any) => ({
  resourceType: 'Practitioner',
  id: doctor.id,
  meta: { versionId: String(doctor.version), lastUpdated: doctor.updatedAt },
  name: [{ text: doctor.name }]
})

const expectedRole = (doctor: any) => ({
  resourceType: 'PractitionerRole',
  id: doctor.id,
  meta: { versionId: String(doctor.version), lastUpdated: doctor.updatedAt },
  practitioner: { reference: `Practitioner/${doctor.id}` },
  specialty: [{ text: doctor.specialty }]
})

const expectedCareTeam = (mapping: any) => ({
  resourceType: 'CareTeam',
  id: mapping.id,
  meta: { lastUpdated: mapping.createdAt },
  status: 'active',
  subject: { reference: `Patient/${mapping.patientId}` },
  participant: [
    { member: { reference: `PractitionerRole/${mapping.doctorId}` }, period: { start: mapping.createdAt } }
  ]
})

const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000'

/** A GET with headers fetch would not send as given (Host), over a plain HTTP request. */
function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk) => (text += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }))
    })
    req.on('error', reject)
    req.end()
  })
}

describe('FHIR R4 facade: metadata, read, vread and history', () => {
  let alice: TestUser
  let bob: TestUser

  before(async () => {
    ;[alice, bob] = await Promise.all([signUp('Alice'), signUp('Bob')])
  })

  describe('GET /fhir/metadata', () => {
    const expectedResources = [
      [
        'Patient',
        ['read', 'vread', 'search-type', 'history-instance'],
        [
          ['_id', 'token'],
          ['name', 'string']
        ]
      ],
      [
        'Condition',
        ['read', 'search-type'],
        [
          ['_id', 'token'],
          ['patient', 'reference'],
          ['subject', 'reference']
        ]
      ],
      [
        'Practitioner',
        ['read', 'vread', 'search-type', 'history-instance'],
        [
          ['_id', 'token'],
          ['name', 'string']
        ]
      ],
      [
        'PractitionerRole',
        ['read', 'vread', 'search-type', 'history-instance'],
        [
          ['_id', 'token'],
          ['practitioner', 'reference'],
          ['specialty', 'token']
        ]
      ],
      [
        'CareTeam',
        ['read', 'search-type'],
        [
          ['_id', 'token'],
          ['patient', 'reference'],
          ['subject', 'reference']
        ]
      ],
      [
        'AuditEvent',
        ['read', 'search-type'],
        [
          ['_id', 'token'],
          ['date', 'date']
        ]
      ]
    ] as const

    it('is a CapabilityStatement of exactly the served types, interactions and search parameters, with or without a token', async () => {
      for (const token of [undefined, alice.token, 'not-a-token']) {
        const reply = await fhir('/fhir/metadata', { token })
        assert.equal(reply.status, 200)
        const { date, rest, ...statement } = reply.body
        assert.match(date, ISO_DATE)
        assert.deepEqual(statement, {
          resourceType: 'CapabilityStatement',
          status: 'active',
          kind: 'instance',
          fhirVersion: '4.0.1',
          format: ['json'],
          implementation: {
            description: statement.implementation.description,
            url: fhirBase()
          }
        })
        assert.equal(typeof statement.implementation.description, 'string')
        assert.equal(rest.length, 1)
        const [{ mode, security, resource, ...more }] = rest
        assert.deepEqual(more, {}, 'no system-level interaction, no operation')
        assert.equal(mode, 'server')
        assert.deepEqual(Object.keys(security), ['description'])
        assert.match(security.description, /Bearer/)
        assert.deepEqual(
          resource,
          expectedResources.map(([type, interactions, parameters]) => ({
            type,
            interaction: interactions.map((code) => ({ code })),
            versioning: interactions.includes('vread' as never) ? 'versioned' : 'no-version',
            ...(interactions.includes('vread' as never) && { readHistory: true }),
            searchParam: parameters.map(([name, type]) => ({ name, type }))
          }))
        )
      }
    })

    it('answers HEAD with the headers and no body', async () => {
      const reply = await fhir('/fhir/metadata', { method: 'HEAD' })
      assert.equal(reply.status, 200)
      assert.equal(reply.body, undefined)
    })
  })

  describe('read', () => {
    let patient: any
    let doctor: any
    let mapping: any

    before(async () => {
      patient = await created(
        '/api/patients',
        alice,
        validPatient({ name: 'Ada Read', age: 37, disease: 'Asthma' })
      )
      doctor = await created('/api/doctors', bob, validDoctor({ name: 'Dr. Read', specialty: 'Pulmonology' }))
      mapping = await created('/api/mappings', alice, { patientId: patient.id, doctorId: doctor.id })
    })

    it('Patient: the name and the recorded age, nothing of the owner, with its version as a weak ETag', async () => {
      const reply = await fhir(`/fhir/Patient/${patient.id}`, { token: alice.token })
      assert.equal(reply.status, 200)
      assert.deepEqual(reply.body, expectedPatient(patient))
      assert.equal(reply.headers.get('etag'), 'W/"1"')
      assert.ok(!JSON.stringify(reply.body).includes(alice.id), 'the owner in a Patient')
    })

    it('Patient of age 0: "less than 1 year", since R4 Age must be above 0', async () => {
      const baby = await created('/api/patients', alice, validPatient({ name: 'Baby', age: 0 }))
      const reply = await fhir(`/fhir/Patient/${baby.id}`, { token: alice.token })
      assert.deepEqual(reply.body.extension, [
        {
          url: `${fhirBase()}/StructureDefinition/recorded-age`,
          valueAge: { comparator: '<', value: 1, unit: 'a', system: UCUM, code: 'a' }
        }
      ])
    })

    it('Patient after a patch: the new version in meta and ETag', async () => {
      const other = await created('/api/patients', alice, validPatient({ name: 'Before' }))
      const patched = await http('PATCH', `/api/patients/${other.id}`, {
        token: alice.token,
        body: { name: 'After' }
      })
      const reply = await fhir(`/fhir/Patient/${other.id}`, { token: alice.token })
      assert.deepEqual(reply.body, expectedPatient(patched.body))
      assert.equal(reply.body.meta.versionId, '2')
      assert.equal(reply.headers.get('etag'), 'W/"2"')
    })

    it('Condition: the disease of the patient, referring to the Patient, without a version', async () => {
      const reply = await fhir(`/fhir/Condition/${patient.id}`, { token: alice.token })
      assert.equal(reply.status, 200)
      assert.deepEqual(reply.body, expectedCondition(patient))
      assert.equal(reply.headers.get('etag'), null)
    })

    it('Practitioner and PractitionerRole: any user reads any doctor, no age', async () => {
      for (const user of [alice, bob]) {
        const practitioner = await fhir(`/fhir/Practitioner/${doctor.id}`, { token: user.token })
        assert.deepEqual(practitioner.body, expectedPractitioner(doctor))
        assert.equal(practitioner.headers.get('etag'), 'W/"1"')
        const role = await fhir(`/fhir/PractitionerRole/${doctor.id}`, { token: user.token })
        assert.deepEqual(role.body, expectedRole(doctor))
        assert.equal(role.headers.get('etag'), 'W/"1"')
      }
    })

    it('CareTeam: the mapping, its patient and its doctor (as PractitionerRole) since it was made', async () => {
      const reply = await fhir(`/fhir/CareTeam/${mapping.id}`, { token: alice.token })
      assert.equal(reply.status, 200)
      assert.deepEqual(reply.body, expectedCareTeam(mapping))
    })

    it('every reference of a resource resolves with a read', async () => {
      const careTeam = (await fhir(`/fhir/CareTeam/${mapping.id}`, { token: alice.token })).body
      const role = await fhir(`/fhir/${careTeam.participant[0].member.reference}`, { token: alice.token })
      assert.equal(role.body.id, doctor.id)
      assert.equal(
        (await fhir(`/fhir/${role.body.practitioner.reference}`, { token: alice.token })).status,
        200
      )
      assert.equal((await fhir(`/fhir/${careTeam.subject.reference}`, { token: alice.token })).status, 200)
      const condition = (await fhir(`/fhir/Condition/${patient.id}`, { token: alice.token })).body
      assert.equal((await fhir(`/fhir/${condition.subject.reference}`, { token: alice.token })).status, 200)
    })

    it('AuditEvent: one of the caller’s audit records, coded by the contract’s table', async () => {
      const [record] = await http('GET', `/api/audit?action=get&recordId=${patient.id}&$limit=1`, {
        token: alice.token
      }).then((reply) => reply.body.data)
      assert.ok(record, 'the read above was audited')
      const reply = await fhir(`/fhir/AuditEvent/${record.id}`, { token: alice.token })
      assert.deepEqual(reply.body, {
        resourceType: 'AuditEvent',
        id: record.id,
        type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest' },
        subtype: [{ system: 'http://hl7.org/fhir/restful-interaction', code: 'read' }],
        action: 'R',
        recorded: record.createdAt,
        outcome: '0',
        agent: [
          {
            who: { identifier: { system: 'urn:healthcare-api:user', value: alice.id } },
            requestor: true,
            network: { address: record.ip, type: '2' }
          }
        ],
        source: { observer: { display: 'healthcare-api' } },
        entity: [{ what: { reference: `Patient/${patient.id}` } }]
      })
    })

    it('another user’s patient, its Condition and its CareTeam are 404, as a record that does not exist', async () => {
      for (const path of [
        `/fhir/Patient/${patient.id}`,
        `/fhir/Condition/${patient.id}`,
        `/fhir/CareTeam/${mapping.id}`,
        `/fhir/Patient/${patient.id}/_history`,
        `/fhir/Patient/${patient.id}/_history/1`,
        `/fhir/Patient/${UNKNOWN_ID}`
      ]) {
        assertOutcome(await fhir(path, { token: bob.token }), 404)
      }
      const [record] = (await http('GET', '/api/audit?$limit=1', { token: alice.token })).body.data
      assertOutcome(await fhir(`/fhir/AuditEvent/${record.id}`, { token: bob.token }), 404)
    })

    it('an id that is not a UUID names nothing: 404 on every type and interaction', async () => {
      for (const path of [
        '/fhir/Patient/not-a-uuid',
        '/fhir/Condition/123',
        '/fhir/Practitioner/x',
        '/fhir/PractitionerRole/%E2%82%AC',
        '/fhir/CareTeam/__proto__',
        '/fhir/AuditEvent/constructor',
        '/fhir/Patient/not-a-uuid/_history',
        '/fhir/Practitioner/x/_history/1',
        `/fhir/Patient/${patient.id}/_history/0`,
        `/fhir/Patient/${patient.id}/_history/one`,
        `/fhir/Patient/${patient.id}/_history/99999999999`,
        '/fhir/Patient/%ZZ'
      ]) {
        assertOutcome(await fhir(path, { token: alice.token }), 404)
      }
    })
  })

  describe('vread and history', () => {
    let patient: any
    let versions: any[]

    before(async () => {
      patient = await created('/api/patients', alice, validPatient({ name: 'Vera One', age: 50 }))
      const put = await http('PUT', `/api/patients/${patient.id}`, {
        token: alice.token,
        body: { name: 'Vera Two', age: 51, disease: 'Gout' }
      })
      const patch = await http('PATCH', `/api/patients/${patient.id}`, {
        token: alice.token,
        body: { age: 52 }
      })
      versions = [patient, put.body, patch.body]
    })

    it('vread answers the resource as each version left the record, with that version as ETag', async () => {
      for (const version of versions) {
        const reply = await fhir(`/fhir/Patient/${patient.id}/_history/${version.version}`, {
          token: alice.token
        })
        assert.equal(reply.status, 200)
        assert.deepEqual(reply.body, expectedPatient(version))
        assert.equal(reply.headers.get('etag'), `W/"${version.version}"`)
      }
      assertOutcome(await fhir(`/fhir/Patient/${patient.id}/_history/4`, { token: alice.token }), 404)
    })

    it('history is a Bundle of the versions, newest first, each with its request and response', async () => {
      const { body: apiHistory } = await http('GET', `/api/patients/${patient.id}/history`, {
        token: alice.token
      })
      const reply = await fhir(`/fhir/Patient/${patient.id}/_history`, { token: alice.token })
      assert.equal(reply.status, 200)
      const url = `${fhirBase()}/Patient/${patient.id}`
      const at = (version: number) => apiHistory.data.find((entry: any) => entry.version === version).at
      assert.deepEqual(reply.body, {
        resourceType: 'Bundle',
        type: 'history',
        total: 3,
        link: [{ relation: 'self', url: `${url}/_history?_count=10&_offset=0` }],
        entry: [
          {
            fullUrl: url,
            resource: expectedPatient(versions[2]),
            request: { method: 'PATCH', url: `Patient/${patient.id}` },
            response: { status: '200', etag: 'W/"3"', lastModified: at(3) }
          },
          {
            fullUrl: url,
            resource: expectedPatient(versions[1]),
            request: { method: 'PUT', url: `Patient/${patient.id}` },
            response: { status: '200', etag: 'W/"2"', lastModified: at(2) }
          },
          {
            fullUrl: url,
            resource: expectedPatient(versions[0]),
            request: { method: 'POST', url: 'Patient' },
            response: { status: '201', etag: 'W/"1"', lastModified: at(1) }
          }
        ]
      })
      assert.match(at(1), ISO_DATE)
    })

    it('history pages with _count and _offset, links as a search’s', async () => {
      const url = `${fhirBase()}/Patient/${patient.id}/_history`
      const first = await fhir(`/fhir/Patient/${patient.id}/_history?_count=2`, { token: alice.token })
      assert.deepEqual(
        first.body.entry.map((entry: any) => entry.response.etag),
        ['W/"3"', 'W/"2"']
      )
      assert.deepEqual(first.body.link, [
        { relation: 'self', url: `${url}?_count=2&_offset=0` },
        { relation: 'next', url: `${url}?_count=2&_offset=2` }
      ])
      const second = await fhir(`/fhir/Patient/${patient.id}/_history?_count=2&_offset=2`, {
        token: alice.token
      })
      assert.deepEqual(
        second.body.entry.map((entry: any) => entry.response.etag),
        ['W/"1"']
      )
      assert.deepEqual(second.body.link, [
        { relation: 'self', url: `${url}?_count=2&_offset=2` },
        { relation: 'previous', url: `${url}?_count=2&_offset=0` }
      ])
      const none = await fhir(`/fhir/Patient/${patient.id}/_history?_count=0`, { token: alice.token })
      assert.deepEqual(none.body, {
        resourceType: 'Bundle',
        type: 'history',
        total: 3,
        link: [{ relation: 'self', url: `${url}?_count=0&_offset=0` }]
      })
      assertOutcome(
        await fhir(`/fhir/Patient/${patient.id}/_history?_offset=-1`, { token: alice.token }),
        400
      )
    })

    it('Practitioner and PractitionerRole keep the doctor’s versions, for every user', async () => {
      const doctor = await created('/api/doctors', alice, validDoctor({ specialty: 'Oncology' }))
      const patched = (
        await http('PATCH', `/api/doctors/${doctor.id}`, {
          token: alice.token,
          body: { specialty: 'Hematology' }
        })
      ).body
      const role = await fhir(`/fhir/PractitionerRole/${doctor.id}/_history`, { token: bob.token })
      assert.deepEqual(
        role.body.entry.map((entry: any) => entry.resource),
        [expectedRole(patched), expectedRole(doctor)]
      )
      assert.deepEqual(
        role.body.entry.map((entry: any) => entry.request),
        [
          { method: 'PATCH', url: `PractitionerRole/${doctor.id}` },
          { method: 'POST', url: 'PractitionerRole' }
        ]
      )
      const first = await fhir(`/fhir/Practitioner/${doctor.id}/_history/1`, { token: bob.token })
      assert.deepEqual(first.body, expectedPractitioner(doctor))
    })
  })

  describe('removed records', () => {
    let patient: any
    let doctor: any
    let mapping: any

    before(async () => {
      patient = await created('/api/patients', alice, validPatient({ name: 'Gone Soon' }))
      doctor = await created('/api/doctors', alice, validDoctor({ name: 'Dr. Gone' }))
      mapping = await created('/api/mappings', alice, { patientId: patient.id, doctorId: doctor.id })
      const kept = await created('/api/doctors', alice, validDoctor({ name: 'Dr. Kept' }))
      const keptMapping = await created('/api/mappings', alice, { patientId: patient.id, doctorId: kept.id })
      assert.equal(
        (await http('DELETE', `/api/mappings/${keptMapping.id}`, { token: alice.token })).status,
        200
      )
      mapping = { ...mapping, removed: keptMapping }
      assert.equal((await http('DELETE', `/api/patients/${patient.id}`, { token: alice.token })).status, 200)
      assert.equal((await http('DELETE', `/api/doctors/${doctor.id}`, { token: alice.token })).status, 200)
    })

    it('a removed patient is a 410 for its owner, a 404 for anyone else', async () => {
      assertOutcome(await fhir(`/fhir/Patient/${patient.id}`, { token: alice.token }), 410)
      assertOutcome(await fhir(`/fhir/Patient/${patient.id}`, { token: bob.token }), 404)
    })

    it('the Condition of a removed patient and the CareTeam of a removed mapping are 404', async () => {
      assertOutcome(await fhir(`/fhir/Condition/${patient.id}`, { token: alice.token }), 404)
      assertOutcome(await fhir(`/fhir/CareTeam/${mapping.id}`, { token: alice.token }), 404)
      assertOutcome(await fhir(`/fhir/CareTeam/${mapping.removed.id}`, { token: alice.token }), 404)
    })

    it('a removed doctor is a 410 for every user: anyone may read its history', async () => {
      for (const user of [alice, bob]) {
        assertOutcome(await fhir(`/fhir/Practitioner/${doctor.id}`, { token: user.token }), 410)
        assertOutcome(await fhir(`/fhir/PractitionerRole/${doctor.id}`, { token: user.token }), 410)
      }
    })

    it('its history stays readable by its owner; the vread of the remove version is a 410, of the others a 200', async () => {
      const history = await fhir(`/fhir/Patient/${patient.id}/_history`, { token: alice.token })
      assert.equal(history.body.total, 2)
      const [removal, creation] = history.body.entry
      assert.deepEqual(removal, {
        fullUrl: `${fhirBase()}/Patient/${patient.id}`,
        request: { method: 'DELETE', url: `Patient/${patient.id}` },
        response: { status: '200', etag: 'W/"2"', lastModified: removal.response.lastModified }
      })
      assert.match(removal.response.lastModified, ISO_DATE)
      assert.deepEqual(creation.resource, expectedPatient(patient))
      assertOutcome(await fhir(`/fhir/Patient/${patient.id}/_history/2`, { token: alice.token }), 410)
      assert.deepEqual(
        (await fhir(`/fhir/Patient/${patient.id}/_history/1`, { token: alice.token })).body,
        expectedPatient(patient)
      )
      assertOutcome(await fhir(`/fhir/Patient/${patient.id}/_history`, { token: bob.token }), 404)
      assertOutcome(await fhir(`/fhir/Patient/${patient.id}/_history/1`, { token: bob.token }), 404)
    })

    it('removed records are in no search', async () => {
      for (const [type, query] of [
        ['Patient', `_id=${patient.id}`],
        ['Condition', `patient=${patient.id}`],
        ['CareTeam', `patient=${patient.id}`],
        ['Practitioner', `_id=${doctor.id}`],
        ['PractitionerRole', `practitioner=${doctor.id}`]
      ]) {
        const reply = await fhir(`/fhir/${type}?${query}`, { token: alice.token })
        assert.equal(reply.body.total, 0, type)
        assert.equal(reply.body.entry, undefined)
      }
    })
  })

  describe('errors', () => {
    let patient: any

    before(async () => {
      patient = await created('/api/patients', alice, validPatient())
    })

    it('another method on a served path is a 405 naming GET, and changes nothing', async () => {
      const paths = [
        '/fhir/metadata',
        '/fhir/Patient',
        `/fhir/Patient/${patient.id}`,
        `/fhir/Patient/${patient.id}/_history`,
        `/fhir/Patient/${patient.id}/_history/1`,
        '/fhir/AuditEvent'
      ]
      for (const path of paths) {
        for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
          const reply = await fhir(path, {
            method,
            token: alice.token,
            body: { resourceType: 'Patient', name: [{ text: 'Changed' }] }
          })
          assertOutcome(reply, 405)
        }
      }
      assert.equal(
        (await http('GET', `/api/patients/${patient.id}`, { token: alice.token })).body.name,
        patient.name
      )
      assert.equal(await countRows('patients', { id: patient.id }), 1)
      assert.equal(await countRows('patients_history', { recordId: patient.id }), 1)
    })

    it('a malformed or oversized body on a served path is still a 405, as an OperationOutcome', async () => {
      assertOutcome(
        await fhir('/fhir/Patient', { method: 'POST', token: alice.token, rawBody: '{"oops' }),
        405
      )
      assertOutcome(
        await fhir('/fhir/Patient', {
          method: 'POST',
          token: alice.token,
          rawBody: `"${'x'.repeat(200_000)}"`
        }),
        405
      )
    })

    it('any other path under /fhir is a 404, whatever the method', async () => {
      const paths = [
        '/fhir',
        '/fhir/',
        '/fhir/Observation',
        '/fhir/Observation/1',
        '/fhir/patient',
        `/fhir/Condition/${patient.id}/_history`,
        `/fhir/CareTeam/${patient.id}/_history/1`,
        `/fhir/AuditEvent/${patient.id}/_history`,
        `/fhir/Patient/${patient.id}/_history/1/more`,
        `/fhir/Patient/${patient.id}/everything`,
        '/fhir//Patient',
        '/fhir/Patient//',
        '/fhir/__proto__',
        '/fhir/metadata/x',
        '/fhir/_search'
      ]
      for (const path of paths) {
        for (const method of ['GET', 'POST']) {
          assertOutcome(await fhir(path, { method, token: alice.token }), 404)
        }
      }
    })

    it('a trailing slash is the same path', async () => {
      assert.deepEqual(
        (await fhir(`/fhir/Patient/${patient.id}/`, { token: alice.token })).body,
        expectedPatient(patient)
      )
    })

    it('JSON only: an Accept or _format that rules it out is a 406', async () => {
      const path = `/fhir/Patient/${patient.id}`
      for (const accept of [
        'application/fhir+xml',
        'text/html',
        'application/xml, text/plain',
        'application/json;q=0'
      ]) {
        assertOutcome(await fhir(path, { token: alice.token, headers: { accept } }), 406)
      }
      for (const format of ['xml', 'application/fhir%2Bxml', 'text/turtle', 'html']) {
        assertOutcome(await fhir(`${path}?_format=${format}`, { token: alice.token }), 406)
        assertOutcome(await fhir(`/fhir/metadata?_format=${format}`), 406)
      }
      assertOutcome(await fhir('/fhir/metadata', { headers: { accept: 'application/xml' } }), 406)
    })

    it('accepts every way of asking for JSON', async () => {
      const path = `/fhir/Patient/${patient.id}`
      for (const accept of [
        'application/fhir+json',
        'application/json',
        'application/*',
        '*/*',
        'text/html, application/fhir+json;q=0.9',
        'application/fhir+json; fhirVersion=4.0'
      ]) {
        assert.equal((await fhir(path, { token: alice.token, headers: { accept } })).status, 200, accept)
      }
      for (const format of ['json', 'application/json', 'application/fhir%2Bjson', 'application/fhir+json']) {
        assert.equal((await fhir(`${path}?_format=${format}`, { token: alice.token })).status, 200, format)
      }
      const noAccept = await fetch(`${testContext().server.url}${path}`, {
        headers: { authorization: `Bearer ${alice.token}` }
      })
      assert.equal(noAccept.status, 200)
      assert.match(noAccept.headers.get('content-type') ?? '', FHIR_CONTENT_TYPE)
      assertValidFhir(await noAccept.json())
    })

    it('without a valid access token, a 401 with WWW-Authenticate: Bearer; an ended session’s token is refused', async () => {
      const carol = await signUp('Carol')
      const mine = await created('/api/patients', carol, validPatient())
      const paths = [
        `/fhir/Patient/${mine.id}`,
        '/fhir/Patient',
        `/fhir/Patient/${mine.id}/_history`,
        `/fhir/Patient/${mine.id}/_history/1`,
        '/fhir/Practitioner',
        '/fhir/AuditEvent'
      ]
      for (const path of paths) {
        assertOutcome(await fhir(path), 401)
        assertOutcome(await fhir(path, { token: 'not-a-token' }), 401)
        assertOutcome(await fhir(path, { headers: { authorization: `Basic ${btoa('a:b')}` } }), 401)
      }
      assert.equal((await fhir(`/fhir/Patient/${mine.id}`, { token: carol.token })).status, 200)
      assert.equal((await http('POST', '/api/auth/logout', { token: carol.token })).status, 200)
      for (const path of paths) {
        assertOutcome(await fhir(path, { token: carol.token }), 401)
      }
    })

    it('the order of refusals: 404 path, 405 method, 406 format, 401 token, 400 parameters', async () => {
      assertOutcome(
        await fhir('/fhir/Nothing?_count=x', { method: 'POST', headers: { accept: 'text/html' } }),
        404
      )
      assertOutcome(
        await fhir('/fhir/Patient?_count=x', { method: 'POST', headers: { accept: 'text/html' } }),
        405
      )
      assertOutcome(await fhir('/fhir/Patient?_count=x', { headers: { accept: 'text/html' } }), 406)
      assertOutcome(await fhir('/fhir/Patient?_count=x'), 401)
      assertOutcome(await fhir('/fhir/Patient?_count=x', { token: alice.token }), 400)
    })

    it('every answer carries the security headers', async () => {
      for (const reply of [
        await fhir('/fhir/metadata'),
        await fhir('/fhir/Patient'),
        await fhir('/fhir/Nothing'),
        await fhir('/fhir/Patient', { method: 'DELETE' })
      ]) {
        assert.equal(reply.headers.get('x-content-type-options'), 'nosniff')
      }
    })
  })

  describe('absolute URLs come from PUBLIC_URL, never from the request', () => {
    it('the base is PUBLIC_URL’s (by default http://localhost:<port>), whatever Host, X-Forwarded-Host or Forwarded say', async () => {
      const patient = await created('/api/patients', alice, validPatient({ name: 'Hosted' }))
      const url = `${testContext().server.url}/fhir/Patient?_id=${patient.id}`
      const reply = await rawGet(url, {
        host: 'evil.example',
        'x-forwarded-host': 'evil.example',
        'x-forwarded-proto': 'https',
        forwarded: 'host=evil.example;proto=https',
        authorization: `Bearer ${alice.token}`
      })
      assert.equal(reply.status, 200)
      assertValidFhir(reply.body)
      assert.ok(!JSON.stringify(reply.body).includes('evil.example'))
      assert.equal(reply.body.entry[0].fullUrl, `${fhirBase()}/Patient/${patient.id}`)
      assert.equal(reply.body.link[0].url, `${fhirBase()}/Patient?_id=${patient.id}&_count=10&_offset=0`)
    })

    it('PUBLIC_URL is the setting publicUrl, an http(s) URL checked at start', async () => {
      const environment = JSON.parse(
        readFileSync(path.join(__dirname, '..', 'config', 'custom-environment-variables.json'), 'utf8')
      )
      assert.equal(environment.publicUrl, 'PUBLIC_URL')
      const settings = await loadConfiguration()
      for (const publicUrl of ['ftp://example.org', 'example.org', 'https://example.org/?x=1', '']) {
        await assert.rejects(
          checkConfiguration({ ...settings, publicUrl }),
          /publicUrl: .* is refused; allowed: an http:\/\/ or https:\/\/ URL/
        )
      }
      const publicUrl = 'https://api.example.org:8443/clinic'
      assert.equal((await checkConfiguration({ ...settings, publicUrl })).publicUrl, publicUrl)
    })

    describe('with PUBLIC_URL set', () => {
      let server: RunningServer
      const publicUrl = 'https://fhir.example.org/clinic'

      before(async function () {
        this.timeout(60_000)
        server = await startServer({ ...testContext().settings, port: 0, publicUrl: `${publicUrl}/` })
      })

      after(async () => {
        await server?.stop()
      })

      it('every absolute URL starts with it: links, fullUrls, the age extension, implementation.url', async () => {
        const patient = await created('/api/patients', alice, validPatient({ name: 'Published', age: 3 }))
        const options = { baseUrl: server.url, token: alice.token }
        const search = await fhir(`/fhir/Patient?_id=${patient.id}&_count=1`, options)
        const base = `${publicUrl}/fhir`
        assert.deepEqual(search.body.link, [
          { relation: 'self', url: `${base}/Patient?_id=${patient.id}&_count=1&_offset=0` }
        ])
        assert.equal(search.body.entry[0].fullUrl, `${base}/Patient/${patient.id}`)
        assert.deepEqual(search.body.entry[0].resource, expectedPatient(patient, base))
        const history = await fhir(`/fhir/Patient/${patient.id}/_history`, options)
        assert.equal(history.body.entry[0].fullUrl, `${base}/Patient/${patient.id}`)
        assert.equal(history.body.link[0].url, `${base}/Patient/${patient.id}/_history?_count=10&_offset=0`)
        const metadata = await fhir('/fhir/metadata', {
          baseUrl: server.url,
          headers: { host: 'evil.example' }
        })
        assert.equal(metadata.body.implementation.url, base)
      })
    })
  })

  describe('a mapping declared in a few lines, beside its resource', () => {
    // Users as FHIR Person: declared here, served and listed without touching src/fhir.
    const usersFhir = defineFhir(users, {
      Person: {
        description: 'The caller’s own user',
        interactions: ['read', 'search-type'],
        lastUpdated: 'updatedAt',
        elements: (user) => ({ name: [{ text: user.name }] }),
        search: { _id: ids(), name: prefix('name') }
      }
    })
    let server: RunningServer

    before(async function () {
      this.timeout(60_000)
      server = await startServer(
        { ...testContext().settings, port: 0 },
        { fhir: [...fhirMappings, usersFhir] }
      )
    })

    after(async () => {
      await server?.stop()
    })

    it('is read, searched and listed in the CapabilityStatement, in the user’s scope', async () => {
      const options = { baseUrl: server.url, token: alice.token }
      const metadata = await fhir('/fhir/metadata', { baseUrl: server.url })
      assert.deepEqual(metadata.body.rest[0].resource.at(-1), {
        type: 'Person',
        interaction: [{ code: 'read' }, { code: 'search-type' }],
        versioning: 'no-version',
        searchParam: [
          { name: '_id', type: 'token' },
          { name: 'name', type: 'string' }
        ]
      })
      const read = await fhir(`/fhir/Person/${alice.id}`, options)
      assert.deepEqual(read.body.name, [{ text: 'Alice' }])
      assertOutcome(await fhir(`/fhir/Person/${bob.id}`, options), 404)
      const search = await fhir('/fhir/Person?name=ali', options)
      assert.deepEqual(entryIds(search.body), [alice.id])
    })

    it('a mapping that cannot be served as declared stops the server at once, naming why', () => {
      assert.throws(
        () =>
          defineFhir(users, {
            Person: {
              description: '',
              interactions: ['read', 'vread', 'history-instance'],
              elements: () => ({}),
              search: {}
            }
          }),
        /Person offers vread, but the resource has no history/
      )
      assert.throws(
        () =>
          defineFhir(doctors, {
            Practitioner: {
              description: '',
              interactions: ['read', 'vread'],
              elements: () => ({}),
              search: {}
            }
          }),
        /vread without history-instance/
      )
      assert.throws(
        () =>
          defineFhir(doctors, {
            Practitioner: {
              description: '',
              interactions: ['search-type'],
              elements: () => ({}),
              search: { _count: ids() }
            }
          }),
        /parameters the machinery keeps: _count/
      )
    })
  })

  describe('OpenAPI', () => {
    it('documents every /fhir route with its parameters and application/fhir+json', async () => {
      const { body: document } = await http('GET', '/openapi.json')
      const routes = Object.keys(document.paths).filter((route) => route.startsWith('/fhir'))
      assert.deepEqual(routes, [
        '/fhir/metadata',
        '/fhir/Patient',
        '/fhir/Patient/{id}',
        '/fhir/Patient/{id}/_history',
        '/fhir/Patient/{id}/_history/{vid}',
        '/fhir/Condition',
        '/fhir/Condition/{id}',
        '/fhir/Practitioner',
        '/fhir/Practitioner/{id}',
        '/fhir/Practitioner/{id}/_history',
        '/fhir/Practitioner/{id}/_history/{vid}',
        '/fhir/PractitionerRole',
        '/fhir/PractitionerRole/{id}',
        '/fhir/PractitionerRole/{id}/_history',
        '/fhir/PractitionerRole/{id}/_history/{vid}',
        '/fhir/CareTeam',
        '/fhir/CareTeam/{id}',
        '/fhir/AuditEvent',
        '/fhir/AuditEvent/{id}'
      ])
      const search = document.paths['/fhir/Condition'].get
      assert.deepEqual(
        search.parameters.map((parameter: any) => `${parameter.in} ${parameter.name}`),
        [
          'query _id',
          'query patient',
          'query subject',
          'query _count',
          'query _offset',
          'query _format',
          'header Prefer'
        ]
      )
      assert.deepEqual(Object.keys(search.responses[200].content), ['application/fhir+json'])
      assert.equal(
        search.responses[200].content['application/fhir+json'].schema.$ref,
        '#/components/schemas/FhirBundle'
      )
      assert.deepEqual(Object.keys(search.responses), ['200', '400', '401', '406', '500', '503'])
      const read = document.paths['/fhir/Patient/{id}'].get
      assert.equal(
        read.responses[200].content['application/fhir+json'].schema.$ref,
        '#/components/schemas/FhirPatient'
      )
      assert.deepEqual(Object.keys(read.responses[200].headers), ['ETag'])
      assert.equal(
        read.responses[410].content['application/fhir+json'].schema.$ref,
        '#/components/schemas/FhirOperationOutcome'
      )
      assert.deepEqual(document.paths['/fhir/metadata'].get.security, [])
      assert.deepEqual(read.security, [{ bearerAuth: [] }])
    })
  })
})
