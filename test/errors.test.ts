import assert from 'node:assert/strict'
import { testContext } from './setup'
import {
  assertBareServerError,
  captureLogs,
  http,
  signUp,
  startOtherDeployment,
  validPatient
} from './helpers'

// Failures nobody planned for, end to end: a bare 500 with nothing of what happened, and the
// details in the log. (How each kind of error is mapped: test/unit/errors.test.ts; bad input, which
// is never a 500: test/bad-input/.)

describe('errors', function () {
  this.timeout(60_000)

  it('an unexpected failure is a bare 500: no message, SQL, stack or path', async () => {
    const { app } = testContext().server
    app.use('fake-failing' as any, {
      async find() {
        throw new Error('select secret from patients at /work/src/app.ts:10:5')
      }
    })
    const lines = await captureLogs(async () => assertBareServerError(await http('GET', '/fake-failing')))
    const logged = lines.filter((line) => line.msg === 'Unexpected error')
    assert.deepEqual(
      logged.map((line) => line.err.message),
      ['select secret from patients at /work/src/app.ts:10:5']
    )
  })

  it('a column the code names but the table lacks: a bare 500, its SQLSTATE in the log, nothing written', async () => {
    const other = await startOtherDeployment({ ...testContext().settings, port: 0 })
    try {
      const bob = await signUp('Bob', other.url)
      await other.app.get('postgresqlClient').raw('ALTER TABLE patients RENAME COLUMN disease TO diagnosis')
      let reply: any
      const lines = await captureLogs(async () => {
        reply = await http('POST', '/api/patients', {
          token: bob.token,
          body: validPatient(),
          baseUrl: other.url
        })
      })
      assertBareServerError(reply)
      const logged = lines.find((line) => line.msg === 'Unexpected error')
      assert.equal(logged?.err.code, '42703', JSON.stringify(lines))
      assert.equal((await other.app.get('postgresqlClient')('patients').count({ count: '*' }))[0].count, 0)
    } finally {
      await other.stop()
    }
  })
})
