import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { createClient } from 'redis'
import { deserializeEvent, serializeEvent } from '../src/event-sync'
import { startServer } from '../src/server'
import type { RunningServer } from '../src/server'
import { testContext } from './setup'
import { assertNoSecret, http, signUp, validDoctor, validPatient } from './helpers'
import { assertSilent, closeSockets, connectSocket } from './sockets'

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const DISPATCH = Symbol.for('@feathersjs/schema/dispatch')

describe('scale-out: two instances, one database, events through Redis', function () {
  this.timeout(60_000)
  let a: RunningServer
  let b: RunningServer

  before(async () => {
    const settings = { ...testContext().settings, port: 0, redisUrl: REDIS_URL }
    ;[a, b] = await Promise.all([startServer(settings), startServer(settings)])
  })

  after(async () => {
    closeSockets()
    await Promise.all([a?.stop(), b?.stop()])
  })

  afterEach(closeSockets)

  it('a socket on B receives the patient its owner created through A; no other socket on A or B does', async () => {
    const alice = await signUp('Alice', a.url)
    const bob = await signUp('Bob', a.url)
    const [aliceOnB, bobOnA, bobOnB, anonymousOnA, anonymousOnB] = await Promise.all([
      connectSocket(alice.token, b.url),
      connectSocket(bob.token, a.url),
      connectSocket(bob.token, b.url),
      connectSocket(undefined, a.url),
      connectSocket(undefined, b.url)
    ])

    const reply = await http('POST', '/api/patients', { token: alice.token, body: validPatient(), baseUrl: a.url })
    assert.equal(reply.status, 201)

    assert.deepEqual(await aliceOnB.delivered('patients created'), reply.body)
    await assertSilent(bobOnA, bobOnB, anonymousOnA, anonymousOnB)
  })

  it('doctor and mapping events cross instances with the same recipients', async () => {
    const alice = await signUp('Alice', a.url)
    const bob = await signUp('Bob', b.url)
    const [aliceOnB, bobOnA] = await Promise.all([connectSocket(alice.token, b.url), connectSocket(bob.token, a.url)])

    const doctor = await http('POST', '/api/doctors', { token: bob.token, body: validDoctor(), baseUrl: b.url })
    const patient = await http('POST', '/api/patients', { token: alice.token, body: validPatient(), baseUrl: a.url })
    const mapping = await http('POST', '/api/mappings', {
      token: alice.token,
      body: { patientId: patient.body.id, doctorId: doctor.body.id },
      baseUrl: a.url
    })
    assert.deepEqual([doctor.status, patient.status, mapping.status], [201, 201, 201])

    assert.deepEqual(await aliceOnB.delivered('doctors created'), doctor.body)
    assert.deepEqual(await bobOnA.delivered('doctors created'), doctor.body)
    // The owner comes from the resolved patient: `userId` is not in what crosses Redis.
    assert.deepEqual(await aliceOnB.delivered('mappings created'), mapping.body)
    await sleep(300)
    assert.deepEqual(bobOnA.events().map(({ event }) => event), ['doctors created'])
  })

  it("a socket on B receives what its owner changed through A; other users' sockets on A and B get nothing", async () => {
    const alice = await signUp('Alice', a.url)
    const bob = await signUp('Bob', b.url)
    const [aliceOnB, aliceOnA, bobOnA, bobOnB, anonymousOnB] = await Promise.all([
      connectSocket(alice.token, b.url),
      connectSocket(alice.token, a.url),
      connectSocket(bob.token, a.url),
      connectSocket(bob.token, b.url),
      connectSocket(undefined, b.url)
    ])

    const reply = await http('PATCH', `/users/${alice.id}`, { token: alice.token, body: { name: 'Alice via A' }, baseUrl: a.url })
    assert.equal(reply.status, 200)

    assert.deepEqual(await aliceOnB.delivered('users patched'), reply.body)
    assert.deepEqual(await aliceOnA.delivered('users patched'), reply.body)
    assertNoSecret(reply.body, alice.password)
    await assertSilent(bobOnA, bobOnB, anonymousOnB)
  })

  it('removing a user through A logs off their socket on B', async () => {
    const alice = await signUp('Alice', a.url)
    const aliceOnB = await connectSocket(alice.token, b.url)

    const reply = await http('DELETE', `/users/${alice.id}`, { token: alice.token, baseUrl: a.url })
    assert.equal(reply.status, 200)

    assert.deepEqual(await aliceOnB.delivered('users removed'), reply.body)
    assert.equal(await aliceOnB.disconnectReason(), 'io server disconnect')
  })

  it('only path, event and the resolved payload cross Redis: no token, hash, params or headers', async () => {
    const { channel } = a.app.get('eventSync')!
    const listener = createClient({ url: REDIS_URL })
    const messages: string[] = []
    await listener.connect()
    try {
      await listener.subscribe(channel, (message) => messages.push(message))
      const alice = await signUp('Alice', a.url)
      const aliceOnB = await connectSocket(alice.token, b.url)
      const newPassword = 'another long passphrase'

      const reply = await http('PATCH', `/users/${alice.id}`, { token: alice.token, body: { password: newPassword }, baseUrl: a.url })
      assert.equal(reply.status, 200)
      await aliceOnB.delivered('users patched')
      await sleep(100)

      const sent = messages.map((message) => JSON.parse(message))
      // Registration, then the patch; logins (`authentication created`, with the token) stay local.
      assert.deepEqual(sent.map(({ path, event }) => `${path} ${event}`), ['users created', 'users patched'])
      for (const message of sent) {
        assert.deepEqual(Object.keys(message).sort(), ['data', 'event', 'path'])
        assert.deepEqual(Object.keys(message.data).sort(), ['createdAt', 'email', 'id', 'name', 'updatedAt'])
      }
      assertNoSecret(sent, newPassword)
      assert.ok(!messages.join().includes(alice.token), 'an access token went through Redis')
      assert.doesNotMatch(messages.join(), /authorization|headers|accessToken/i)
    } finally {
      await listener.close()
    }
  })
})

describe('Redis is optional', () => {
  it('without REDIS_URL the app has no Redis connection', function () {
    if (testContext().settings.redisUrl) this.skip()
    assert.equal(testContext().server.app.get('eventSync'), undefined)
  })

  it('with REDIS_URL pointing nowhere the server refuses to start, naming the setting', async () => {
    const settings = { ...testContext().settings, port: 0, redisUrl: 'redis://127.0.0.1:1' }
    await assert.rejects(startServer(settings), /Redis at REDIS_URL cannot be reached/)
  })
})

describe('event serialization for Redis', () => {
  it('sends the resolved payload, never the raw record, and does not throw on a circular context', () => {
    const raw: any = { id: 'u1', name: 'Ada', password: '$argon2id$v=19$hash' }
    raw[DISPATCH] = { id: 'u1', name: 'Ada' }
    const context: any = { path: 'users', params: { headers: { authorization: 'Bearer x' } } }
    context.originalContext = context

    const message = serializeEvent({ event: 'patched', path: 'users', data: raw, context } as any)

    assert.deepEqual(JSON.parse(message), { event: 'patched', path: 'users', data: { id: 'u1', name: 'Ada' } })
    assert.deepEqual(deserializeEvent(message), {
      event: 'patched',
      path: 'users',
      data: { id: 'u1', name: 'Ada' },
      context: { path: 'users', event: 'patched', dispatch: { id: 'u1', name: 'Ada' }, result: { id: 'u1', name: 'Ada' } }
    })
  })

  it('a payload that cannot be serialized is sent without it, and the call is not failed', () => {
    const circular: any = { id: 'u1' }
    circular.self = circular

    const message = serializeEvent({ event: 'created', path: 'users', data: circular })

    assert.deepEqual(JSON.parse(message), { event: 'created', path: 'users', data: null })
  })
})
