import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { created, signUp, testDatabase, validDoctor, validPatient } from './helpers'
import type { TestUser } from './helpers'
import { assertOutcome, entryIds, fhir, fhirBase, linkOf } from './fhir-helpers'

const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000'

/** The ids a search finds (all pages of at most 100), in the order it gives them. */
async function found(user: TestUser, type: string, query: string): Promise<string[]> {
  const reply = await fhir(`/fhir/${type}?${query}${query ? '&' : ''}_count=100`, { token: user.token })
  assert.equal(reply.status, 200, JSON.stringify(reply.body))
  assert.equal(reply.body.type, 'searchset')
  assert.equal(reply.body.total, entryIds(reply.body).length)
  return entryIds(reply.body)
}

const sorted = (ids: string[]) => [...ids].sort()

describe('FHIR R4 facade: search', () => {
  let alice: TestUser
  let bob: TestUser

  before(async () => {
    ;[alice, bob] = await Promise.all([signUp('Alice'), signUp('Bob')])
  })

  describe('Patient and Condition', () => {
    let ann: any
    let anna: any
    let percent: any
    let underscore: any
    let bobs: any

    before(async () => {
      ann = await created('/api/patients', alice, validPatient({ name: 'Ann Smith', disease: 'Flu' }))
      anna = await created('/api/patients', alice, validPatient({ name: 'anna Jones', disease: 'Asthma' }))
      percent = await created('/api/patients', alice, validPatient({ name: '100% Sure' }))
      underscore = await created('/api/patients', alice, validPatient({ name: 'A_B' }))
      bobs = await created('/api/patients', bob, validPatient({ name: 'Ann Other' }))
    })

    it('without parameters: every one of the caller’s patients, oldest first', async () => {
      assert.deepEqual(await found(alice, 'Patient', ''), [ann.id, anna.id, percent.id, underscore.id])
      assert.deepEqual(await found(alice, 'Condition', ''), [ann.id, anna.id, percent.id, underscore.id])
    })

    it('name: a prefix of the name, ignoring case; % and _ are plain characters', async () => {
      assert.deepEqual(await found(alice, 'Patient', 'name=ann'), [ann.id, anna.id])
      assert.deepEqual(await found(alice, 'Patient', 'name=ANNA'), [anna.id])
      assert.deepEqual(await found(alice, 'Patient', 'name=Ann%20S'), [ann.id])
      assert.deepEqual(await found(alice, 'Patient', 'name=smith'), [])
      assert.deepEqual(await found(alice, 'Patient', 'name=100%25'), [percent.id])
      assert.deepEqual(await found(alice, 'Patient', 'name=%25'), [])
      assert.deepEqual(await found(alice, 'Patient', 'name=A_'), [underscore.id])
      assert.deepEqual(await found(alice, 'Patient', 'name=_'), [])
      assert.deepEqual(await found(alice, 'Patient', 'name=%5C'), [])
      assert.deepEqual(await found(alice, 'Patient', `name=${'x'.repeat(199)}`), [])
    })

    it('_id: an id or a comma-separated list; one that is not a UUID matches nothing', async () => {
      assert.deepEqual(await found(alice, 'Patient', `_id=${anna.id}`), [anna.id])
      assert.deepEqual(await found(alice, 'Patient', `_id=${anna.id},${ann.id}`), [ann.id, anna.id])
      assert.deepEqual(await found(alice, 'Patient', `_id=${anna.id.toUpperCase()}`), [anna.id])
      assert.deepEqual(await found(alice, 'Patient', `_id=${anna.id},nope`), [anna.id])
      assert.deepEqual(await found(alice, 'Patient', '_id=nope'), [])
      assert.deepEqual(await found(alice, 'Patient', `_id=${UNKNOWN_ID}`), [])
      assert.deepEqual(await found(alice, 'Condition', `_id=${ann.id},${underscore.id}`), [
        ann.id,
        underscore.id
      ])
    })

    it('parameters combine: each narrows the search', async () => {
      assert.deepEqual(await found(alice, 'Patient', `name=ann&_id=${anna.id},${percent.id}`), [anna.id])
      assert.deepEqual(await found(alice, 'Condition', `_id=${ann.id}&patient=${anna.id}`), [])
      assert.deepEqual(await found(alice, 'Condition', `_id=${ann.id}&subject=Patient/${ann.id}`), [ann.id])
      assert.deepEqual(await found(alice, 'Condition', `patient=${ann.id}&subject=${anna.id}`), [])
    })

    it('Condition by patient or subject: <id> or Patient/<id>; a reference to another type matches nothing', async () => {
      for (const parameter of ['patient', 'subject']) {
        assert.deepEqual(await found(alice, 'Condition', `${parameter}=${anna.id}`), [anna.id])
        assert.deepEqual(await found(alice, 'Condition', `${parameter}=Patient/${anna.id}`), [anna.id])
        assert.deepEqual(await found(alice, 'Condition', `${parameter}=Practitioner/${anna.id}`), [])
        assert.deepEqual(await found(alice, 'Condition', `${parameter}=Group/${anna.id}`), [])
        assert.deepEqual(await found(alice, 'Condition', `${parameter}=Patient/nope`), [])
        assert.deepEqual(await found(alice, 'Condition', `${parameter}=nope`), [])
      }
      const reply = await fhir(`/fhir/Condition?patient=${anna.id}`, { token: alice.token })
      assert.deepEqual(reply.body.entry[0].resource.code, { text: 'Asthma' })
    })

    it('another user’s patients are in no search, whatever the parameters name', async () => {
      assert.deepEqual(await found(alice, 'Patient', `_id=${bobs.id}`), [])
      assert.deepEqual(await found(alice, 'Patient', 'name=Ann%20O'), [])
      assert.deepEqual(await found(alice, 'Condition', `patient=${bobs.id}`), [])
      assert.deepEqual(await found(alice, 'Condition', `_id=${bobs.id}`), [])
      assert.deepEqual(await found(bob, 'Patient', ''), [bobs.id])
    })

    it('an entry is the resource with its fullUrl and search mode match', async () => {
      const reply = await fhir(`/fhir/Condition?_id=${ann.id}`, { token: alice.token })
      assert.deepEqual(reply.body, {
        resourceType: 'Bundle',
        type: 'searchset',
        total: 1,
        link: [{ relation: 'self', url: `${fhirBase()}/Condition?_id=${ann.id}&_count=10&_offset=0` }],
        entry: [
          {
            fullUrl: `${fhirBase()}/Condition/${ann.id}`,
            resource: {
              resourceType: 'Condition',
              id: ann.id,
              meta: { lastUpdated: ann.updatedAt },
              code: { text: 'Flu' },
              subject: { reference: `Patient/${ann.id}` }
            },
            search: { mode: 'match' }
          }
        ]
      })
    })
  })

  describe('Practitioner and PractitionerRole', () => {
    const tag = randomUUID().slice(0, 8)
    let house: any
    let houseman: any
    let grey: any

    before(async () => {
      house = await created(
        '/api/doctors',
        alice,
        validDoctor({ name: `House ${tag}`, specialty: `Diagnostics ${tag}` })
      )
      houseman = await created(
        '/api/doctors',
        bob,
        validDoctor({ name: `house${tag}man`, specialty: `diagnostics ${tag}` })
      )
      grey = await created(
        '/api/doctors',
        bob,
        validDoctor({ name: `Grey ${tag}`, specialty: `Surgery ${tag}` })
      )
    })

    it('every user finds every doctor', async () => {
      for (const user of [alice, bob]) {
        assert.deepEqual(await found(user, 'Practitioner', `_id=${house.id},${houseman.id},${grey.id}`), [
          house.id,
          houseman.id,
          grey.id
        ])
      }
    })

    it('Practitioner by name (a prefix, ignoring case) and _id', async () => {
      assert.deepEqual(await found(alice, 'Practitioner', `name=HOUSE%20${tag}`), [house.id])
      assert.deepEqual(await found(alice, 'Practitioner', `name=grey%20${tag}`), [grey.id])
      assert.deepEqual(await found(bob, 'Practitioner', `name=house&_id=${houseman.id},${grey.id}`), [
        houseman.id
      ])
    })

    it('PractitionerRole by specialty: the whole specialty, ignoring case', async () => {
      assert.deepEqual(await found(alice, 'PractitionerRole', `specialty=DIAGNOSTICS%20${tag}`), [
        house.id,
        houseman.id
      ])
      assert.deepEqual(
        await found(alice, 'PractitionerRole', `specialty=Diagnostics%20${tag.slice(0, 4)}`),
        []
      )
      assert.deepEqual(await found(alice, 'PractitionerRole', `specialty=Diagnostics%20${tag}x`), [])
      assert.deepEqual(await found(alice, 'PractitionerRole', `specialty=%25${tag}`), [])
    })

    it('PractitionerRole by practitioner: <id> or Practitioner/<id>; another type matches nothing', async () => {
      assert.deepEqual(await found(alice, 'PractitionerRole', `practitioner=${grey.id}`), [grey.id])
      assert.deepEqual(await found(alice, 'PractitionerRole', `practitioner=Practitioner/${grey.id}`), [
        grey.id
      ])
      assert.deepEqual(await found(alice, 'PractitionerRole', `practitioner=Patient/${grey.id}`), [])
      assert.deepEqual(await found(alice, 'PractitionerRole', `practitioner=PractitionerRole/${grey.id}`), [])
      assert.deepEqual(await found(alice, 'PractitionerRole', 'practitioner=nope'), [])
      assert.deepEqual(await found(alice, 'PractitionerRole', `_id=${house.id}&practitioner=${grey.id}`), [])
    })
  })

  describe('CareTeam', () => {
    let carol: TestUser
    let patients: any[]
    let teams: any[]
    let others: any

    before(async () => {
      carol = await signUp('Carol')
      const doctors = [
        await created('/api/doctors', carol, validDoctor()),
        await created('/api/doctors', carol, validDoctor())
      ]
      patients = [
        await created('/api/patients', carol, validPatient({ name: 'First' })),
        await created('/api/patients', carol, validPatient({ name: 'Second' }))
      ]
      teams = [
        await created('/api/mappings', carol, { patientId: patients[0].id, doctorId: doctors[0].id }),
        await created('/api/mappings', carol, { patientId: patients[0].id, doctorId: doctors[1].id }),
        await created('/api/mappings', carol, { patientId: patients[1].id, doctorId: doctors[0].id })
      ]
      const bobsPatient = await created('/api/patients', bob, validPatient())
      others = await created('/api/mappings', bob, { patientId: bobsPatient.id, doctorId: doctors[0].id })
    })

    it('by patient or subject: <id> or Patient/<id>; _id; another user’s are in no search', async () => {
      const [first, second, third] = teams.map((team) => team.id)
      assert.deepEqual(await found(carol, 'CareTeam', ''), [first, second, third])
      for (const parameter of ['patient', 'subject']) {
        assert.deepEqual(await found(carol, 'CareTeam', `${parameter}=${patients[0].id}`), [first, second])
        assert.deepEqual(await found(carol, 'CareTeam', `${parameter}=Patient/${patients[1].id}`), [third])
        assert.deepEqual(await found(carol, 'CareTeam', `${parameter}=Practitioner/${patients[1].id}`), [])
        assert.deepEqual(await found(carol, 'CareTeam', `${parameter}=${others.patientId}`), [])
      }
      assert.deepEqual(await found(carol, 'CareTeam', `_id=${second},${third},${others.id}`), [second, third])
      assert.deepEqual(await found(carol, 'CareTeam', `_id=${second},${third}&patient=${patients[1].id}`), [
        third
      ])
      assert.deepEqual(
        await found(carol, 'CareTeam', `patient=${patients[0].id}&subject=${patients[1].id}`),
        []
      )
    })
  })

  describe('AuditEvent', () => {
    let dave: TestUser
    let at: Record<string, string>

    /** Audit records of `dave` at exact instants (arranged behind the API: the server stamps its own). */
    async function arrange(instants: Record<string, string>) {
      const ids: Record<string, string> = {}
      for (const [name, instant] of Object.entries(instants)) {
        const [row] = await testDatabase()('audit')
          .insert({
            userId: dave.id,
            action: 'get',
            service: 'patients',
            recordId: null,
            ip: null,
            createdAt: instant
          })
          .returning('id')
        ids[name] = row.id
      }
      return ids
    }

    before(async () => {
      dave = await signUp('Dave')
      // The login's own record, made now: before every arranged instant.
      const [login] = await testDatabase()('audit').where({ userId: dave.id }).select('id')
      at = await arrange({
        dayBefore: '2031-05-04T23:59:59.999999Z',
        start: '2031-05-05T00:00:00Z',
        ten: '2031-05-05T10:00:00Z',
        tenLate: '2031-05-05T10:00:00.999999Z',
        tenOne: '2031-05-05T10:00:01Z',
        tenMilli: '2031-05-05T10:00:02.250400Z',
        dayAfter: '2031-05-06T00:00:00Z'
      })
      at.login = login.id
    })

    const search = (query: string) => found(dave, 'AuditEvent', query)
    const named = (...names: string[]) => sorted(names.map((name) => at[name]))

    it('only the caller’s own records, newest first', async () => {
      assert.deepEqual(await search(''), [
        at.dayAfter,
        at.tenMilli,
        at.tenOne,
        at.tenLate,
        at.ten,
        at.start,
        at.dayBefore,
        at.login
      ])
      assert.deepEqual(await found(bob, 'AuditEvent', `_id=${at.ten}`), [])
      assert.deepEqual(await search(`_id=${at.ten},${at.start}`), [at.ten, at.start])
    })

    it('date: a UTC day stands for the whole day', async () => {
      assert.deepEqual(
        sorted(await search('date=2031-05-05')),
        named('start', 'ten', 'tenLate', 'tenOne', 'tenMilli')
      )
      assert.deepEqual(
        sorted(await search('date=eq2031-05-05')),
        named('start', 'ten', 'tenLate', 'tenOne', 'tenMilli')
      )
      assert.deepEqual(sorted(await search('date=lt2031-05-05')), named('login', 'dayBefore'))
      assert.deepEqual(sorted(await search('date=gt2031-05-05')), named('dayAfter'))
      assert.deepEqual(
        sorted(await search('date=ge2031-05-05')),
        named('start', 'ten', 'tenLate', 'tenOne', 'tenMilli', 'dayAfter')
      )
      assert.deepEqual(
        sorted(await search('date=le2031-05-05')),
        named('login', 'dayBefore', 'start', 'ten', 'tenLate', 'tenOne', 'tenMilli')
      )
    })

    it('date: a date-time to the second stands for that whole second, in its zone', async () => {
      assert.deepEqual(sorted(await search('date=2031-05-05T10:00:00Z')), named('ten', 'tenLate'))
      assert.deepEqual(sorted(await search('date=2031-05-05T12:00:00%2B02:00')), named('ten', 'tenLate'))
      assert.deepEqual(sorted(await search('date=2031-05-05T05:30:00-04:30')), named('ten', 'tenLate'))
      assert.deepEqual(
        sorted(await search('date=le2031-05-05T10:00:00Z')),
        named('login', 'dayBefore', 'start', 'ten', 'tenLate')
      )
      assert.deepEqual(
        sorted(await search('date=lt2031-05-05T10:00:00Z')),
        named('login', 'dayBefore', 'start')
      )
      assert.deepEqual(
        sorted(await search('date=gt2031-05-05T10:00:00Z')),
        named('tenOne', 'tenMilli', 'dayAfter')
      )
      assert.deepEqual(
        sorted(await search('date=ge2031-05-05T10:00:00Z')),
        named('ten', 'tenLate', 'tenOne', 'tenMilli', 'dayAfter')
      )
    })

    it('date: a date-time to the millisecond stands for that millisecond', async () => {
      assert.deepEqual(sorted(await search('date=2031-05-05T10:00:02.250Z')), named('tenMilli'))
      assert.deepEqual(sorted(await search('date=2031-05-05T10:00:02.251Z')), [])
      assert.deepEqual(sorted(await search('date=2031-05-05T10:00:00.999Z')), named('tenLate'))
      assert.deepEqual(
        sorted(await search('date=le2031-05-05T10:00:00.998Z')),
        named('login', 'dayBefore', 'start', 'ten')
      )
      assert.deepEqual(sorted(await search('date=gt2031-05-05T10:00:02.249Z')), named('tenMilli', 'dayAfter'))
    })

    it('date given twice is a range', async () => {
      assert.deepEqual(
        sorted(await search('date=ge2031-05-05T10:00:00Z&date=lt2031-05-05T10:00:02Z')),
        named('ten', 'tenLate', 'tenOne')
      )
      assert.deepEqual(sorted(await search('date=2031-05-05&date=gt2031-05-05T10:00:01Z')), named('tenMilli'))
      assert.deepEqual(sorted(await search('date=lt2031-05-05&date=gt2031-05-05')), [])
      const reply = await fhir('/fhir/AuditEvent?date=ge2031-05-05&date=le2031-05-06', { token: dave.token })
      assert.equal(
        linkOf(reply.body, 'self'),
        `${fhirBase()}/AuditEvent?date=ge2031-05-05&date=le2031-05-06&_count=10&_offset=0`
      )
    })

    it('dates at the edges of the calendar match what they name', async () => {
      assert.deepEqual(await search('date=ge9999-12-31T23:59:59Z'), [])
      assert.deepEqual(await search('date=gt9999-12-31'), [])
      assert.deepEqual(await search('date=lt0001-01-01'), [])
      assert.deepEqual(await search('date=le0001-01-01T00:00:00%2B01:00'), [])
      assert.equal((await search('date=le9999-12-31')).length, 8)
      assert.equal((await search('date=ge0001-01-01T00:00:00%2B14:00')).length, 8)
      assert.equal((await search('date=ge0000-01-01')).length, 8)
    })

    it('a malformed date is a 400', async () => {
      for (const value of [
        'soon',
        '2031',
        '2031-05',
        '2031-13-01',
        '2031-02-30',
        '2031-05-05T10:00Z',
        '2031-05-05T10:00:00',
        '2031-05-05T24:00:00Z',
        '2031-05-05T10:00:00.1Z',
        '2031-05-05T10:00:00.1234Z',
        '2031-05-05T10:00:00%2B15:00',
        'ne2031-05-05',
        'sa2031-05-05',
        'ge',
        'ge%202031-05-05'
      ]) {
        assertOutcome(await fhir(`/fhir/AuditEvent?date=${value}`, { token: dave.token }), 400, /date/)
      }
    })
  })

  describe('paging and links', () => {
    let erin: TestUser
    let ids: string[]

    before(async () => {
      erin = await signUp('Erin')
      ids = []
      for (let index = 0; index < 12; index++) {
        ids.push((await created('/api/patients', erin, validPatient({ name: `Page ${index}` }))).id)
      }
    })

    const page = (query: string) => fhir(`/fhir/Patient?${query}`, { token: erin.token })
    const url = (query: string) => `${fhirBase()}/Patient?${query}`

    it('_count defaults to 10; self and next carry _count and _offset; the pages meet without overlap', async () => {
      const first = await page('name=page')
      assert.equal(first.body.total, 12)
      assert.deepEqual(entryIds(first.body), ids.slice(0, 10))
      assert.deepEqual(first.body.link, [
        { relation: 'self', url: url('name=page&_count=10&_offset=0') },
        { relation: 'next', url: url('name=page&_count=10&_offset=10') }
      ])
      const second = await fhir(
        new URL(linkOf(first.body, 'next')!).pathname + new URL(linkOf(first.body, 'next')!).search,
        {
          token: erin.token
        }
      )
      assert.deepEqual(entryIds(second.body), ids.slice(10))
      assert.deepEqual(second.body.link, [
        { relation: 'self', url: url('name=page&_count=10&_offset=10') },
        { relation: 'previous', url: url('name=page&_count=10&_offset=0') }
      ])
    })

    it('a middle page has next and previous', async () => {
      const middle = await page('_offset=5&_count=5')
      assert.deepEqual(entryIds(middle.body), ids.slice(5, 10))
      assert.deepEqual(middle.body.link, [
        { relation: 'self', url: url('_count=5&_offset=5') },
        { relation: 'next', url: url('_count=5&_offset=10') },
        { relation: 'previous', url: url('_count=5&_offset=0') }
      ])
      const shifted = await page('_count=5&_offset=3')
      assert.equal(linkOf(shifted.body, 'previous'), url('_count=5&_offset=0'))
    })

    it('_count=0 answers the total alone; _count over 100 is 100; past the end, no entry', async () => {
      assert.deepEqual((await page('_count=0')).body, {
        resourceType: 'Bundle',
        type: 'searchset',
        total: 12,
        link: [{ relation: 'self', url: url('_count=0&_offset=0') }]
      })
      const large = await page('_count=1000')
      assert.equal(entryIds(large.body).length, 12)
      assert.deepEqual(large.body.link, [{ relation: 'self', url: url('_count=100&_offset=0') }])
      const past = await page('_offset=50')
      assert.deepEqual(past.body, {
        resourceType: 'Bundle',
        type: 'searchset',
        total: 12,
        link: [
          { relation: 'self', url: url('_count=10&_offset=50') },
          { relation: 'previous', url: url('_count=10&_offset=40') }
        ]
      })
      const nothing = await fhir('/fhir/Patient?_id=nope', { token: erin.token })
      assert.deepEqual(nothing.body, {
        resourceType: 'Bundle',
        type: 'searchset',
        total: 0,
        link: [{ relation: 'self', url: url('_id=nope&_count=10&_offset=0') }]
      })
    })

    it('a malformed _count or _offset is a 400; a known parameter given twice is a 400 (but date)', async () => {
      for (const query of [
        '_count=-1',
        '_count=abc',
        '_count=1.5',
        '_count=1e2',
        '_count=%2010',
        '_offset=-1',
        '_offset=x',
        `_offset=${2 ** 31}`,
        '_count=1&_count=2',
        '_offset=0&_offset=0',
        'name=a&name=b',
        '_id=a&_id=b',
        '_format=json&_format=json',
        `_id=${Array.from({ length: 101 }, () => UNKNOWN_ID).join(',')}`
      ]) {
        assertOutcome(await page(query), 400)
      }
      assertOutcome(await fhir('/fhir/Condition?patient=a&patient=b', { token: erin.token }), 400, /patient/)
      assertOutcome(await fhir('/fhir/CareTeam?subject=a&subject=b', { token: erin.token }), 400, /subject/)
      assertOutcome(await fhir('/fhir/PractitionerRole?specialty=a&specialty=b', { token: erin.token }), 400)
    })

    it('unknown parameters are ignored and left out of self; with Prefer: handling=strict they are a 400 naming them', async () => {
      const lenient = await page('name=page&foo=bar&name:exact=x&_sort=name&_count=2')
      assert.deepEqual(entryIds(lenient.body), ids.slice(0, 2))
      assert.equal(linkOf(lenient.body, 'self'), url('name=page&_count=2&_offset=0'))
      assert.equal(linkOf(lenient.body, 'next'), url('name=page&_count=2&_offset=2'))
      const strict = await fhir('/fhir/Patient?name=page&foo=bar&_sort=name', {
        token: erin.token,
        headers: { prefer: 'handling=strict' }
      })
      assertOutcome(strict, 400, /foo, _sort/)
      const strictKnown = await fhir('/fhir/Patient?name=page&_count=1', {
        token: erin.token,
        headers: { prefer: 'return=representation, handling=strict' }
      })
      assert.equal(strictKnown.status, 200)
      assertOutcome(
        await fhir(`/fhir/Patient/${ids[0]}?_count=1`, {
          token: erin.token,
          headers: { prefer: 'handling=strict' }
        }),
        400,
        /_count/
      )
      assertOutcome(
        await fhir('/fhir/metadata?mode=full', { headers: { prefer: 'handling=strict' } }),
        400,
        /mode/
      )
      assert.equal((await fhir(`/fhir/Patient/${ids[0]}?_count=1&foo=1`, { token: erin.token })).status, 200)
    })

    it('an empty value is ignored, as FHIR says', async () => {
      const reply = await page('name=&_count=&_id=')
      assert.equal(reply.body.total, 12)
      assert.equal(linkOf(reply.body, 'self'), url('_count=10&_offset=0'))
    })

    it('values are written back encoded into the links', async () => {
      const reply = await page('name=Page%201%26x%3D1&_count=1')
      assert.equal(reply.body.total, 0)
      assert.equal(linkOf(reply.body, 'self'), url('name=Page%201%26x%3D1&_count=1&_offset=0'))
    })
  })
})
