import assert from 'node:assert/strict'
import { feathers } from '@feathersjs/feathers'
import { routing } from '@feathersjs/transport-commons'
import { rememberedLookups, rememberingRecent } from '../../src/http/recent-lookups'
import type { Application } from '../../src/declarations'

// Paths resolved once for the several steps of a request (src/http/recent-lookups.ts): the
// answers are those of the router itself, before and after services come and go.

describe('unit: recent lookups', () => {
  const things = {
    async find() {
      return []
    },
    async get(id: string) {
      return { id }
    }
  }

  const app = () => {
    const application = feathers() as unknown as Application
    application.configure(routing())
    application.use('fake-things' as never, things as never)
    application.configure(rememberedLookups)
    return application
  }

  it('answers what the router answers, again and again', () => {
    const application = app()
    for (let round = 0; round < 3; round++) {
      const found = application.lookup('fake-things/7')
      assert.equal(found?.service, application.service('fake-things' as never))
      assert.deepEqual(found?.params, { __id: '7' })
      assert.equal(application.lookup('nothing/7'), null)
    }
  })

  it('a path that is not a string (a socket may send 42 or null) finds nothing, as from the router', () => {
    const application = app()
    for (const path of [42, null, undefined, { toString: () => 'fake-things' }]) {
      assert.equal(application.lookup(path as unknown as string), null)
    }
  })

  it('each caller gets its own route parameters: a change to them reaches no other call', () => {
    const application = app()
    const first = application.lookup('fake-things/7')!
    first.params.__id = 'changed'
    first.params.extra = 'added'
    assert.deepEqual(application.lookup('fake-things/7')?.params, { __id: '7' })
  })

  it('finds a service added after a lookup, and forgets one removed', async () => {
    const application = app()
    assert.equal(application.lookup('fake-later'), null)
    application.use('fake-later' as never, things as never)
    assert.equal(application.lookup('fake-later')?.service, application.service('fake-later' as never))
    assert.ok(application.lookup('fake-things'))
    await application.unuse('fake-things' as never)
    assert.equal(application.lookup('fake-things'), null)
  })

  it('remembers at most `size` keys, and never a computation that threw', () => {
    const calls: string[] = []
    const remembered = rememberingRecent(
      (key: string) => {
        calls.push(key)
        if (key === 'bad') throw new Error('no')
        return key.length
      },
      (key) => key,
      2
    )
    assert.equal(remembered('a'), 1)
    assert.equal(remembered('a'), 1)
    assert.throws(() => remembered('bad'))
    assert.throws(() => remembered('bad'))
    remembered('bb')
    remembered('ccc')
    remembered('a')
    assert.deepEqual(calls, ['a', 'bad', 'bad', 'bb', 'ccc', 'a'])
  })

  it('never remembers a key longer than 256 characters (a request line may be kilobytes)', () => {
    let calls = 0
    const remembered = rememberingRecent(
      (key: string) => ++calls && key.length,
      (key) => key
    )
    const long = 'x'.repeat(257)
    assert.equal(remembered(long), 257)
    assert.equal(remembered(long), 257)
    assert.equal(remembered('x'.repeat(256)), 256)
    assert.equal(remembered('x'.repeat(256)), 256)
    assert.equal(calls, 3)
  })
})
