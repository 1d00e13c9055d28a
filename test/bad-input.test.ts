import assert from 'node:assert/strict'
import { assertNoLeak, countRows, http, signUp, validPatient } from './helpers'
import type { TestUser } from './helpers'

/** Bad input is a 4xx with a Feathers error body, never a 500. */
function assertClientError(reply: { status: number; body: any }, label: string) {
  assert.ok(
    reply.status >= 400 && reply.status < 500,
    `${label}: ${reply.status} ${JSON.stringify(reply.body)}`
  )
  assert.equal(typeof reply.body?.message, 'string', label)
  assert.equal(reply.body.code, reply.status, label)
  assertNoLeak(reply.body)
}

describe('bad input never reaches a 500', () => {
  let alice: TestUser

  before(async () => {
    alice = await signUp('Alice')
  })

  for (const path of [
    '/api/patients/abc',
    '/api/doctors/1',
    '/mappings/%27%20OR%201=1',
    '/api/patients/00000000-0000-0000-0000-00000000000g'
  ]) {
    for (const method of ['GET', 'PATCH', 'PUT', 'DELETE']) {
      it(`${method} ${path}`, async () => {
        const body = method === 'GET' || method === 'DELETE' ? undefined : validPatient()
        assertClientError(await http(method, path, { token: alice.token, body }), `${method} ${path}`)
      })
    }
  }

  const queries = [
    '?id=not-a-uuid',
    '?userId[$in][]=x',
    '?age=abc',
    '?age=1e400',
    '?age[$gt]=99999999999999999999999',
    '?$limit=99999999999999999999',
    '?$skip=-5',
    '?$skip=1.5',
    '?$sort[age]=2',
    '?$sort[nope]=1',
    '?$select[]=password',
    '?name[$like]=%25',
    '?name[$regex]=.*',
    '?a[b][c][d][e][f][g][h]=1',
    '?$or[0][$or][0][$or][0][name]=x',
    '?name[$in][0][$gt]=1',
    `?$or=${encodeURIComponent('not-an-array')}`,
    `?${Array.from({ length: 500 }, (_, index) => `$or[${index}][name]=x`).join('&')}`,
    `?name=${'x'.repeat(20_000)}`,
    `?${Array.from({ length: 2000 }, (_, index) => `k${index}=1`).join('&')}`
  ]
  for (const query of queries) {
    it(`GET /api/patients${query.slice(0, 60)}`, async () => {
      assertClientError(
        await http('GET', `/api/patients${query}`, { token: alice.token }),
        query.slice(0, 60)
      )
    })
  }

  const bodies: Array<[string, string]> = [
    ['null', 'null'],
    ['a number', '42'],
    ['a string', '"patient"'],
    ['truncated JSON', '{"name":'],
    [
      'a deeply nested object',
      '{"name":' + '{"a":'.repeat(500) + '1' + '}'.repeat(500) + ',"age":1,"disease":"x"}'
    ],
    ['an age beyond any integer', '{"name":"A","age":1e999,"disease":"x"}'],
    ['a prototype key', '{"name":"A","age":1,"disease":"x","__proto__":{"admin":true}}']
  ]
  for (const [label, rawBody] of bodies) {
    it(`POST /api/patients with ${label} creates nothing`, async () => {
      const before = await countRows('patients')
      assertClientError(await http('POST', '/api/patients', { token: alice.token, rawBody }), label)
      assert.equal(await countRows('patients'), before)
    })
  }

  it('a body that is not JSON is refused', async () => {
    const reply = await http('POST', '/api/patients', {
      token: alice.token,
      rawBody: 'name=A&age=1&disease=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' }
    })
    assertClientError(reply, 'form body')
  })
})
