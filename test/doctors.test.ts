import assert from 'node:assert/strict'
import { ISO_DATE, UUID, assertError, countRows, created, http, signUp, validDoctor } from './helpers'
import type { TestUser } from './helpers'

describe('doctors', () => {
  let alice: TestUser
  let bob: TestUser

  before(async () => {
    alice = await signUp('Alice')
    bob = await signUp('Bob')
  })

  it('create answers 201 with the record, createdBy the caller', async () => {
    const reply = await http('POST', '/api/doctors', { token: alice.token, body: validDoctor() })
    assert.equal(reply.status, 201)
    assert.deepEqual(Object.keys(reply.body).sort(), [
      'age',
      'createdAt',
      'createdBy',
      'id',
      'name',
      'specialty',
      'updatedAt',
      'version'
    ])
    assert.match(reply.body.id, UUID)
    assert.equal(reply.body.createdBy, alice.id)
    assert.match(reply.body.createdAt, ISO_DATE)
  })

  it('answers 401 without a token', async () => {
    assertError(await http('GET', '/api/doctors'), 401, 'NotAuthenticated')
    assertError(await http('POST', '/api/doctors', { body: validDoctor() }), 401, 'NotAuthenticated')
  })

  const invalid: Array<[string, Record<string, unknown>, string]> = [
    ['an age under 18', validDoctor({ age: 17 }), 'age'],
    ['an age over 120', validDoctor({ age: 121 }), 'age'],
    ['a fractional age', validDoctor({ age: 30.5 }), 'age'],
    ['a missing specialty', { name: 'Dr. X', age: 40 }, 'specialty'],
    ['a specialty over 200 characters', validDoctor({ specialty: 's'.repeat(201) }), 'specialty'],
    [
      'a client-chosen createdBy',
      validDoctor({ createdBy: '8c1f0a9e-3f6e-4c1e-9a5e-2b7d3f1a0c11' }),
      'createdBy'
    ],
    ['an unknown field', validDoctor({ licence: 'X' }), 'licence']
  ]
  for (const [label, body, field] of invalid) {
    it(`create answers 400 naming ${field} for ${label}, and creates nothing`, async () => {
      const before = await countRows('doctors')
      const reply = await http('POST', '/api/doctors', { token: alice.token, body })
      assertError(reply, 400, 'BadRequest')
      assert.match(JSON.stringify(reply.body.data), new RegExp(field))
      assert.equal(await countRows('doctors'), before)
    })
  }

  it('every user finds and gets every doctor', async () => {
    const doctor = await created('/api/doctors', alice, validDoctor({ name: 'Dr. Shared Directory' }))
    const found = await http('GET', `/api/doctors?name=${encodeURIComponent('Dr. Shared Directory')}`, {
      token: bob.token
    })
    assert.equal(found.status, 200)
    assert.deepEqual(found.body.data, [doctor])
    const got = await http('GET', `/api/doctors/${doctor.id}`, { token: bob.token })
    assert.equal(got.status, 200)
    assert.deepEqual(got.body, doctor)
  })

  it('the creator may update, patch and remove', async () => {
    const doctor = await created('/api/doctors', alice, validDoctor())
    const path = `/api/doctors/${doctor.id}`
    const updated = await http('PUT', path, {
      token: alice.token,
      body: { name: 'Dr. Lisa Cuddy', age: 45, specialty: 'Endocrinology' }
    })
    assert.equal(updated.status, 200)
    assert.deepEqual(
      { ...updated.body, updatedAt: undefined },
      {
        ...doctor,
        name: 'Dr. Lisa Cuddy',
        age: 45,
        specialty: 'Endocrinology',
        version: 2,
        updatedAt: undefined
      }
    )
    const patched = await http('PATCH', path, { token: alice.token, body: { age: 46 } })
    assert.equal(patched.status, 200)
    assert.equal(patched.body.age, 46)
    assert.equal(patched.body.createdBy, alice.id)
    const removed = await http('DELETE', path, { token: alice.token })
    assert.equal(removed.status, 200)
    assert.equal(removed.body.id, doctor.id)
    assertError(await http('GET', path, { token: alice.token }), 404, 'NotFound')
  })

  it('anyone else gets 403 on update, patch and remove, and nothing changes', async () => {
    const doctor = await created('/api/doctors', alice, validDoctor())
    const path = `/api/doctors/${doctor.id}`
    assertError(
      await http('PUT', path, { token: bob.token, body: validDoctor({ name: 'Dr. Hijack' }) }),
      403,
      'Forbidden'
    )
    assertError(
      await http('PATCH', path, { token: bob.token, body: { name: 'Dr. Hijack' } }),
      403,
      'Forbidden'
    )
    assertError(
      await http('PATCH', `${path}?createdBy=${bob.id}`, { token: bob.token, body: { name: 'Dr. Hijack' } }),
      403,
      'Forbidden'
    )
    assertError(await http('DELETE', path, { token: bob.token }), 403, 'Forbidden')
    assert.deepEqual((await http('GET', path, { token: bob.token })).body, doctor)
  })

  it("the creator's own doctor that the write's query leaves out is a 404, as for get, and nothing changes", async () => {
    const doctor = await created('/api/doctors', alice, validDoctor({ name: 'Dr. Kept' }))
    const path = `/api/doctors/${doctor.id}?name=Nope`
    assertError(await http('GET', path, { token: alice.token }), 404, 'NotFound')
    assertError(
      await http('PUT', path, { token: alice.token, body: validDoctor({ name: 'Dr. Other' }) }),
      404,
      'NotFound'
    )
    assertError(await http('PATCH', path, { token: alice.token, body: { age: 41 } }), 404, 'NotFound')
    assertError(await http('DELETE', path, { token: alice.token }), 404, 'NotFound')
    assert.deepEqual((await http('GET', `/api/doctors/${doctor.id}`, { token: alice.token })).body, doctor)
  })

  it('a missing doctor is 404 for get, patch and remove', async () => {
    const path = '/api/doctors/0b7a4f8e-5a3c-4d8e-9f1a-3c2b1a0f9e8d'
    assertError(await http('GET', path, { token: bob.token }), 404, 'NotFound')
    assertError(await http('PATCH', path, { token: bob.token, body: { age: 40 } }), 404, 'NotFound')
    assertError(await http('DELETE', path, { token: bob.token }), 404, 'NotFound')
  })

  it('patch refuses createdBy with 400 and changes nothing', async () => {
    const doctor = await created('/api/doctors', alice, validDoctor())
    const reply = await http('PATCH', `/api/doctors/${doctor.id}`, {
      token: alice.token,
      body: { createdBy: bob.id }
    })
    assertError(reply, 400, 'BadRequest')
    assert.deepEqual((await http('GET', `/api/doctors/${doctor.id}`, { token: alice.token })).body, doctor)
  })

  it("a removed user's doctors stay in the directory without a creator", async () => {
    const dave = await signUp('Dave')
    const doctor = await created('/api/doctors', dave, validDoctor())
    assert.equal((await http('DELETE', `/users/${dave.id}`, { token: dave.token })).status, 200)
    const reply = await http('GET', `/api/doctors/${doctor.id}`, { token: alice.token })
    assert.equal(reply.status, 200)
    assert.equal(reply.body.createdBy, null)
    assertError(
      await http('PATCH', `/api/doctors/${doctor.id}`, { token: alice.token, body: { age: 60 } }),
      403,
      'Forbidden'
    )
  })
})
