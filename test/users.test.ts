import assert from 'node:assert/strict'
import { ISO_DATE, UUID, assertError, assertNoSecret, http, signUp, uniqueEmail } from './helpers'

const password = 'a sound passphrase'

describe('users', () => {
  describe('register (POST /api/auth/register)', () => {
    it('creates the user with 201, trimmed and lower-cased email, and no password', async () => {
      const email = uniqueEmail('Mixed.Case')
      const reply = await http('POST', '/api/auth/register', {
        body: { name: 'Dr. Ada', email: `  ${email.toUpperCase()}  `, password }
      })
      assert.equal(reply.status, 201)
      assert.deepEqual(Object.keys(reply.body).sort(), ['createdAt', 'email', 'id', 'name', 'updatedAt'])
      assert.match(reply.body.id, UUID)
      assert.equal(reply.body.name, 'Dr. Ada')
      assert.equal(reply.body.email, email.toLowerCase())
      assert.match(reply.body.createdAt, ISO_DATE)
      assert.match(reply.body.updatedAt, ISO_DATE)
      assertNoSecret(reply.body, password)
    })

    it('is also the users service create at /users', async () => {
      const reply = await http('POST', '/users', { body: { name: 'Dr. B', email: uniqueEmail(), password } })
      assert.equal(reply.status, 201)
      assert.match(reply.body.id, UUID)
    })

    it('answers 409 for an email that differs only in case and spaces', async () => {
      const email = uniqueEmail()
      assert.equal(
        (await http('POST', '/api/auth/register', { body: { name: 'A', email, password } })).status,
        201
      )
      const reply = await http('POST', '/api/auth/register', {
        body: { name: 'B', email: ` ${email.toUpperCase()} `, password }
      })
      assertError(reply, 409, 'Conflict')
      assert.equal(reply.body.message, 'email already exists')
    })

    it('gives exactly one 201 when the same email registers five times at once', async () => {
      const email = uniqueEmail('race')
      const replies = await Promise.all(
        Array.from({ length: 5 }, () =>
          http('POST', '/api/auth/register', { body: { name: 'R', email, password } })
        )
      )
      const statuses = replies.map((reply) => reply.status).sort()
      assert.deepEqual(statuses, [201, 409, 409, 409, 409])
    })

    const invalid: Array<[string, Record<string, unknown>, string]> = [
      ['a missing email', { name: 'N', password }, 'email'],
      ['a malformed email', { name: 'N', email: 'not-an-email', password }, 'email'],
      ['an empty name', { name: '', email: 'x@example.org', password }, 'name'],
      ['a blank name', { name: '   ', email: 'x@example.org', password }, 'name'],
      ['a name over 100 characters', { name: 'n'.repeat(101), email: 'x@example.org', password }, 'name'],
      [
        'a password under 8 characters',
        { name: 'N', email: 'x@example.org', password: 'short12' },
        'password'
      ],
      [
        'a password over 72 characters',
        { name: 'N', email: 'x@example.org', password: 'p'.repeat(73) },
        'password'
      ],
      [
        'a password that is not a string',
        { name: 'N', email: 'x@example.org', password: 12345678 },
        'password'
      ],
      ['an unknown field', { name: 'N', email: 'x@example.org', password, role: 'admin' }, 'role'],
      [
        'a server-owned id',
        { name: 'N', email: 'x@example.org', password, id: '8c1f0a9e-3f6e-4c1e-9a5e-2b7d3f1a0c11' },
        'id'
      ],
      [
        'a server-owned timestamp',
        { name: 'N', email: 'x@example.org', password, createdAt: '2020-01-01T00:00:00.000Z' },
        'createdAt'
      ]
    ]
    for (const [label, body, field] of invalid) {
      it(`answers 400 naming the field for ${label}`, async () => {
        const reply = await http('POST', '/api/auth/register', { body })
        assertError(reply, 400, 'BadRequest')
        assert.match(JSON.stringify(reply.body.data), new RegExp(field))
      })
    }

    it('counts the password limit in bytes: 37 two-byte characters (74 bytes) are refused', async () => {
      const reply = await http('POST', '/api/auth/register', {
        body: { name: 'N', email: uniqueEmail(), password: 'é'.repeat(37) }
      })
      assertError(reply, 400, 'BadRequest')
      assert.match(JSON.stringify(reply.body.data), /password/)
    })

    it('accepts a password of exactly 72 bytes and of exactly 8', async () => {
      for (const candidate of ['é'.repeat(36), 'eight888']) {
        const reply = await http('POST', '/api/auth/register', {
          body: { name: 'N', email: uniqueEmail(), password: candidate }
        })
        assert.equal(reply.status, 201, JSON.stringify(reply.body))
      }
    })
  })

  describe('access', () => {
    it('answers 401 without a token', async () => {
      assertError(await http('GET', '/users'), 401, 'NotAuthenticated')
    })

    it('find returns only the caller, whatever the query says', async () => {
      const alice = await signUp('Alice')
      const bob = await signUp('Bob')
      const own = await http('GET', '/users', { token: alice.token })
      assert.equal(own.status, 200)
      assert.deepEqual(
        { ...own.body, data: own.body.data.map((user: { id: string }) => user.id) },
        { total: 1, limit: 10, skip: 0, data: [alice.id] }
      )
      assertNoSecret(own.body, alice.password)
      // The owner field is overwritten, so these reach Alice's record or nothing, never Bob's.
      for (const query of [
        `?id=${bob.id}`,
        `?id[$ne]=${alice.id}`,
        `?id[$in][]=${bob.id}`,
        `?$or[0][id]=${bob.id}`,
        `?$and[0][id]=${bob.id}`
      ]) {
        const reply = await http('GET', `/users${query}`, { token: alice.token })
        assert.equal(reply.status, 200, `${query}: ${JSON.stringify(reply.body)}`)
        assert.ok(reply.body.total <= 1, query)
        assert.ok(
          reply.body.data.every((user: { id: string }) => user.id === alice.id),
          query
        )
      }
    })

    it('get answers the caller and 404 for anyone else', async () => {
      const alice = await signUp('Alice')
      const bob = await signUp('Bob')
      const own = await http('GET', `/users/${alice.id}`, { token: alice.token })
      assert.equal(own.status, 200)
      assert.equal(own.body.email, alice.email)
      assertNoSecret(own.body, alice.password)
      assertError(await http('GET', `/users/${bob.id}`, { token: alice.token }), 404, 'NotFound')
    })

    it('patch changes the caller name, not anyone else', async () => {
      const alice = await signUp('Alice')
      const bob = await signUp('Bob')
      const reply = await http('PATCH', `/users/${alice.id}`, {
        token: alice.token,
        body: { name: 'Alice B.' }
      })
      assert.equal(reply.status, 200)
      assert.equal(reply.body.name, 'Alice B.')
      assert.ok(reply.body.updatedAt >= reply.body.createdAt)
      assertNoSecret(reply.body)
      assertError(
        await http('PATCH', `/users/${bob.id}`, { token: alice.token, body: { name: 'X' } }),
        404,
        'NotFound'
      )
      const untouched = await http('GET', `/users/${bob.id}`, { token: bob.token })
      assert.equal(untouched.body.name, 'Bob')
    })

    for (const field of ['email', 'id', 'createdAt', 'updatedAt']) {
      it(`patch refuses ${field} with 400 and changes nothing`, async () => {
        const alice = await signUp('Alice')
        const values: Record<string, string> = {
          email: uniqueEmail(),
          id: '8c1f0a9e-3f6e-4c1e-9a5e-2b7d3f1a0c11',
          createdAt: '2020-01-01T00:00:00.000Z',
          updatedAt: '2020-01-01T00:00:00.000Z'
        }
        const before = await http('GET', `/users/${alice.id}`, { token: alice.token })
        const reply = await http('PATCH', `/users/${alice.id}`, {
          token: alice.token,
          body: { name: 'Changed', [field]: values[field] }
        })
        assertError(reply, 400, 'BadRequest')
        const after = await http('GET', `/users/${alice.id}`, { token: alice.token })
        assert.deepEqual(after.body, before.body)
      })
    }

    it('patch re-hashes a new password: the new one logs in, the old one no longer does', async () => {
      const alice = await signUp('Alice')
      const reply = await http('PATCH', `/users/${alice.id}`, {
        token: alice.token,
        body: { password: 'a brand new secret' }
      })
      assert.equal(reply.status, 200)
      assertNoSecret(reply.body, 'a brand new secret')
      const withOld = await http('POST', '/api/auth/login', {
        body: { email: alice.email, password: alice.password }
      })
      assertError(withOld, 401, 'NotAuthenticated')
      const withNew = await http('POST', '/api/auth/login', {
        body: { email: alice.email, password: 'a brand new secret' }
      })
      assert.equal(withNew.status, 201)
    })

    it('PUT is not offered (405)', async () => {
      const alice = await signUp('Alice')
      const reply = await http('PUT', `/users/${alice.id}`, {
        token: alice.token,
        body: { name: 'A', email: alice.email, password }
      })
      assertError(reply, 405, 'MethodNotAllowed')
    })

    it('remove deletes the caller only; a removed user can no longer log in', async () => {
      const alice = await signUp('Alice')
      const bob = await signUp('Bob')
      assertError(await http('DELETE', `/users/${bob.id}`, { token: alice.token }), 404, 'NotFound')
      assert.equal((await http('GET', `/users/${bob.id}`, { token: bob.token })).status, 200)
      const removed = await http('DELETE', `/users/${alice.id}`, { token: alice.token })
      assert.equal(removed.status, 200)
      assert.equal(removed.body.id, alice.id)
      assertNoSecret(removed.body, alice.password)
      const login = await http('POST', '/api/auth/login', {
        body: { email: alice.email, password: alice.password }
      })
      assertError(login, 401, 'NotAuthenticated')
      assertError(await http('GET', '/api/patients', { token: alice.token }), 401, 'NotAuthenticated')
    })
  })
})
