import assert from 'node:assert/strict'
import { http } from './helpers'

// The 503 while the database is down is tested in faults.test.ts, against a cluster it can stop.
describe('health', () => {
  it('GET /health answers 200 {"status":"ok"} without authentication while the database answers', async () => {
    const reply = await http('GET', '/health')
    assert.equal(reply.status, 200)
    assert.deepEqual(reply.body, { status: 'ok' })
    assert.equal(reply.headers.get('cache-control'), 'no-store')
  })

  it('other methods on /health are not served: 405 with Allow', async () => {
    const reply = await http('POST', '/health', { body: {} })
    assert.equal(reply.status, 405)
    assert.equal(reply.body.name, 'MethodNotAllowed')
    assert.equal(reply.headers.get('allow'), 'GET, HEAD, OPTIONS')
  })
})
