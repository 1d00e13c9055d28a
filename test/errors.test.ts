import assert from 'node:assert/strict'
import { GeneralError } from '@feathersjs/errors'
import { toPublicError } from '../src/errors'
import { testContext } from './setup'
import { assertBareServerError, assertError, http, signUp } from './helpers'

describe('errors', () => {
  it('malformed JSON is a 400 Feathers error', async () => {
    const reply = await http('POST', '/api/auth/register', { rawBody: '{"name": "A", ' })
    assertError(reply, 400, 'BadRequest')
    assert.equal(reply.body.message, 'Malformed JSON in request body')
    assert.equal(reply.body.className, 'bad-request')
  })

  it('a body over the limit is a 413', async () => {
    const reply = await http('POST', '/api/auth/register', {
      body: { name: 'x'.repeat(200 * 1024), email: 'big@example.org', password: 'long enough' }
    })
    assertError(reply, 413, 'PayloadTooLarge')
  })

  it('an unknown path is a 404 Feathers error', async () => {
    assertError(await http('GET', '/api/nothing-here'), 404, 'NotFound')
  })

  it('an id that is not a UUID is a 400, not a 500', async () => {
    const alice = await signUp()
    const reply = await http('GET', '/users/not-a-uuid', { token: alice.token })
    assertError(reply, 400, 'BadRequest')
  })

  for (const query of [
    '?password=x',
    '?unknown=1',
    '?name[$regex]=a',
    '?$limit=abc',
    '?$limit=-1',
    '?$skip=1e300',
    '?$sort[password]=1'
  ]) {
    it(`the query ${query} is a 400`, async () => {
      const alice = await signUp()
      assertError(await http('GET', `/users${query}`, { token: alice.token }), 400, 'BadRequest')
    })
  }

  it('an unexpected failure is a bare 500: no message, SQL, stack or path', async () => {
    const { app } = testContext().server
    app.use('fake-failing' as any, {
      async find() {
        throw new Error('select secret from patients at /work/src/app.ts:10:5')
      }
    })
    const reply = await http('GET', '/fake-failing')
    assertBareServerError(reply)
  })

  it('maps database errors by meaning, never by their text', () => {
    const unique = toPublicError({
      code: '23505',
      severity: 'ERROR',
      detail: 'Key (email)=(a@b.c) already exists.',
      message: 'insert into "users" ... duplicate key'
    })
    assert.equal(unique.code, 409)
    assert.equal(unique.message, 'email already exists')
    assert.doesNotMatch(JSON.stringify(unique.toJSON()), /a@b\.c|insert/)
    const invalid = toPublicError({
      code: '22P02',
      severity: 'ERROR',
      message: 'select * from "users" where "id" = $1 - invalid input syntax for type uuid'
    })
    assert.equal(invalid.code, 400)
    assert.doesNotMatch(invalid.message, /select/)
    assert.equal(
      toPublicError({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:5432' }).code,
      503
    )
    const unknown = toPublicError(new GeneralError('relation "x" does not exist'))
    assert.equal(unknown.message, 'Internal Server Error')
  })
})
