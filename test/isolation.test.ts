import assert from 'node:assert/strict'
import { assertError, created, http, signUp, validDoctor, validPatient } from './helpers'
import type { TestUser } from './helpers'

// Every way a query could try to widen the caller's scope on the owner field.
const wideningQueries = (victim: { userId: string; recordId: string }, caller: string) => [
  `userId=${victim.userId}`,
  `userId[$ne]=${caller}`,
  `userId[$in][]=${victim.userId}&userId[$in][]=${caller}`,
  `userId[$nin][]=${caller}`,
  `userId[$gt]=00000000-0000-0000-0000-000000000000`,
  `$or[0][userId]=${victim.userId}&$or[1][userId]=${caller}`,
  `$or[0][id]=${victim.recordId}`,
  `$and[0][userId]=${victim.userId}`,
  `$and[0][$or][0][userId]=${victim.userId}`,
  `id=${victim.recordId}`
]

describe('isolation between users', () => {
  let alice: TestUser
  let mallory: TestUser
  let patient: any
  let mapping: any

  before(async () => {
    alice = await signUp('Alice')
    mallory = await signUp('Mallory')
    await created('/api/patients', mallory, validPatient({ name: 'Mallory own' }))
    patient = await created('/api/patients', alice, validPatient({ name: 'Alice secret' }))
    const doctor = await created('/api/doctors', alice, validDoctor())
    mapping = await created('/api/mappings', alice, { patientId: patient.id, doctorId: doctor.id })
  })

  it('no query on patients reaches another user’s records', async () => {
    for (const query of wideningQueries({ userId: alice.id, recordId: patient.id }, mallory.id)) {
      const reply = await http('GET', `/api/patients?${query}`, { token: mallory.token })
      assert.equal(reply.status, 200, `${query}: ${JSON.stringify(reply.body)}`)
      assert.ok(
        reply.body.data.every((row: any) => row.userId === mallory.id),
        `${query} leaked ${JSON.stringify(reply.body.data)}`
      )
    }
  })

  it('no query on mappings reaches another user’s mappings', async () => {
    for (const query of [
      `patientId=${patient.id}`,
      `id=${mapping.id}`,
      `$or[0][patientId]=${patient.id}`,
      `patientId[$in][]=${patient.id}`
    ]) {
      const reply = await http('GET', `/api/mappings?${query}`, { token: mallory.token })
      assert.equal(reply.status, 200, `${query}: ${JSON.stringify(reply.body)}`)
      assert.deepEqual(reply.body.data, [], query)
    }
    // The owner field of mappings is not part of their API.
    assertError(
      await http('GET', `/api/mappings?userId=${alice.id}`, { token: mallory.token }),
      400,
      'BadRequest'
    )
  })

  it('a query on get, patch or remove cannot widen it either', async () => {
    for (const query of [`userId=${alice.id}`, `userId[$ne]=${mallory.id}`, `$or[0][userId]=${alice.id}`]) {
      const path = `/api/patients/${patient.id}?${query}`
      assertError(await http('GET', path, { token: mallory.token }), 404, 'NotFound')
      assertError(
        await http('PATCH', path, { token: mallory.token, body: { name: 'Owned' } }),
        404,
        'NotFound'
      )
      assertError(await http('DELETE', path, { token: mallory.token }), 404, 'NotFound')
    }
    const still = await http('GET', `/api/patients/${patient.id}`, { token: alice.token })
    assert.deepEqual(still.body, patient)
  })

  it('the same holds at the Feathers service paths', async () => {
    const reply = await http('GET', `/patients?userId=${alice.id}`, { token: mallory.token })
    assert.ok(reply.body.data.every((row: any) => row.userId === mallory.id))
    assertError(await http('GET', `/patients/${patient.id}`, { token: mallory.token }), 404, 'NotFound')
  })
})
