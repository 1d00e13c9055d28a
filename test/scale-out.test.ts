import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { createClient } from 'redis'
import { EntrySigner, serializeEvent } from '../src/realtime/event-messages'
import { startServer } from '../src/server'
import type { RunningServer } from '../src/server'
import { testContext } from './setup'
import {
  assertNoSecret,
  captureLogs,
  http,
  signUp,
  startOtherDeployment,
  validDoctor,
  validPatient
} from './helpers'
import { startRedisProxy } from './redis-proxy'
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

    const reply = await http('POST', '/api/patients', {
      token: alice.token,
      body: validPatient(),
      baseUrl: a.url
    })
    assert.equal(reply.status, 201)

    assert.deepEqual(await aliceOnB.delivered('patients created'), reply.body)
    await assertSilent(bobOnA, bobOnB, anonymousOnA, anonymousOnB)
  })

  it('doctor and mapping events cross instances with the same recipients', async () => {
    const alice = await signUp('Alice', a.url)
    const bob = await signUp('Bob', b.url)
    const [aliceOnB, bobOnA] = await Promise.all([
      connectSocket(alice.token, b.url),
      connectSocket(bob.token, a.url)
    ])

    const doctor = await http('POST', '/api/doctors', {
      token: bob.token,
      body: validDoctor(),
      baseUrl: b.url
    })
    const patient = await http('POST', '/api/patients', {
      token: alice.token,
      body: validPatient(),
      baseUrl: a.url
    })
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
    assert.deepEqual(
      bobOnA.events().map(({ event }) => event),
      ['doctors created']
    )
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

    const reply = await http('PATCH', `/users/${alice.id}`, {
      token: alice.token,
      body: { name: 'Alice via A' },
      baseUrl: a.url
    })
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

  it('only path, event, owner and the resolved payload cross Redis: no token, hash, params or headers', async () => {
    const { stream } = a.app.get('eventSync')!
    const redis = createClient({ url: REDIS_URL })
    await redis.connect()
    try {
      const [newest] = await redis.xRevRange(stream, '+', '-', { COUNT: 1 })
      const alice = await signUp('Alice', a.url)
      const aliceOnB = await connectSocket(alice.token, b.url)
      const newPassword = 'another long passphrase'

      const reply = await http('PATCH', `/users/${alice.id}`, {
        token: alice.token,
        body: { password: newPassword },
        baseUrl: a.url
      })
      assert.equal(reply.status, 200)
      await aliceOnB.delivered('users patched')

      const entries = await redis.xRange(stream, newest ? `(${newest.id}` : '-', '+')
      // Each entry: the instance that wrote it, the message, and its signature.
      entries.forEach(({ message }) => assert.deepEqual(Object.keys(message), ['o', 'm', 's']))
      const written = entries.map(({ message }) => message.m)
      const sent = written
        .map((message) => JSON.parse(message))
        .filter((message) => !('heartbeat' in message))
      // Registration, then the patch; logins (`authentication created`, with the token) stay local.
      assert.deepEqual(
        sent.map(({ path, event }) => `${path} ${event}`),
        ['users created', 'users patched']
      )
      for (const message of sent) {
        // The owner travels beside the payload: its publisher sends to the owner's connections.
        // `boot` and `seq` number the events of the instance that sent them.
        assert.deepEqual(Object.keys(message).sort(), ['boot', 'data', 'event', 'owner', 'path', 'seq'])
        assert.equal(message.owner, alice.id)
        assert.deepEqual(Object.keys(message.data).sort(), ['createdAt', 'email', 'id', 'name', 'updatedAt'])
      }
      assert.equal(sent[1].seq, sent[0].seq + 1)
      assertNoSecret(sent, newPassword)
      assert.ok(!written.join().includes(alice.token), 'an access token went through Redis')
      assert.doesNotMatch(written.join(), /authorization|headers|accessToken/i)
    } finally {
      await redis.close()
    }
  })

  async function appendTo(stream: string, entries: string[][]) {
    const redis = createClient({ url: REDIS_URL })
    await redis.connect()
    try {
      for (const fields of entries) await redis.sendCommand(['XADD', stream, '*', ...fields])
    } finally {
      await redis.close()
    }
  }

  it('another deployment on the same Redis receives none of these events, and delivers its own', async () => {
    const other = await startOtherDeployment({ ...testContext().settings, port: 0, redisUrl: REDIS_URL })
    try {
      assert.notEqual(other.app.get('eventSync')!.stream, a.app.get('eventSync')!.stream)
      const alice = await signUp('Alice', a.url)
      const zoe = await signUp('Zoe', other.url)
      const [aliceOnB, zoeOnOther] = await Promise.all([
        connectSocket(alice.token, b.url),
        connectSocket(zoe.token, other.url)
      ])

      const doctor = await http('POST', '/api/doctors', {
        token: alice.token,
        body: validDoctor(),
        baseUrl: a.url
      })
      const patient = await http('POST', '/api/patients', {
        token: alice.token,
        body: validPatient(),
        baseUrl: a.url
      })
      const renamed = await http('PATCH', `/users/${alice.id}`, {
        token: alice.token,
        body: { name: 'Alice A.' },
        baseUrl: a.url
      })
      assert.deepEqual([doctor.status, patient.status, renamed.status], [201, 201, 200])
      assert.deepEqual(await aliceOnB.delivered('users patched'), renamed.body)
      await assertSilent(zoeOnOther)

      const theirs = await http('POST', '/api/doctors', {
        token: zoe.token,
        body: validDoctor(),
        baseUrl: other.url
      })
      assert.deepEqual(await zoeOnOther.delivered('doctors created'), theirs.body)
      await sleep(300)
      assert.deepEqual(
        aliceOnB.events().map(({ event }) => event),
        ['doctors created', 'patients created', 'users patched']
      )
    } finally {
      await other.stop()
    }
  })

  it('stray entries on the stream are dropped with a warning, and events keep flowing', async () => {
    const { stream } = a.app.get('eventSync')!
    const alice = await signUp('Alice', a.url)
    const aliceOnB = await connectSocket(alice.token, b.url)
    const namespace = stream.slice(0, -':events'.length)
    const origin = randomUUID()
    // Signed with the deployment's own key: well-formed entries whose message is not.
    const signed = (message: string) =>
      new EntrySigner(testContext().settings.authentication.secret, namespace).entry(origin, message)
    const event = (fields: Record<string, unknown>) =>
      JSON.stringify({ seq: 1, boot: 1, event: 'created', path: 'patients', data: {}, ...fields })
    const forged = event({ data: { id: randomUUID(), userId: alice.id, name: 'Forged' } })
    const stray = [
      ['m', forged],
      ['o', origin, 'm', forged, 's', 'not the signature'],
      new EntrySigner('another deployment secret', namespace).entry(origin, forged),
      new EntrySigner(testContext().settings.authentication.secret, 'another:namespace').entry(
        origin,
        forged
      ),
      [...signed(forged), 'x', 'one field too many'],
      ['o', 'not an instance id', 'm', forged, 's', signed(forged)[5]],
      ['__proto__', '{"polluted":true}'],
      signed('not JSON at all'),
      signed('null'),
      signed('[]'),
      signed('"a string"'),
      signed(event({ path: 'fake-appointments' })),
      signed(event({ path: '__proto__' })),
      signed(event({ path: 'constructor' })),
      signed(event({ event: 'constructor' })),
      signed(event({ data: 'not a record' })),
      signed(event({ data: [{ userId: 'x' }] })),
      signed(event({ path: 'authentication', data: { accessToken: 'x' } })),
      signed(event({ context: { params: {} } })),
      signed(event({ owner: 'not a user id' })),
      signed(event({ seq: 0 })),
      signed(event({ seq: 1.5 })),
      signed(event({ boot: undefined })),
      signed(
        '{"__proto__":{"polluted":true},"seq":1,"boot":1,"event":"created","path":"patients","data":{}}'
      ),
      signed('{"heartbeat":"now"}'),
      signed(JSON.stringify({ seq: 1, boot: 1, sessionsEnded: ['not a session id'] })),
      signed(event({ data: { padding: 'x'.repeat(2 * 1024 * 1024) } }))
    ]

    const lines = await captureLogs(async () => {
      await appendTo(stream, stray)
      await sleep(1200) // one warning a second at most: the count of the rest comes after it
    })
    const warnings = lines.filter((line) => /Dropped an entry/.test(line.msg))
    assert.ok(warnings.length >= 2, JSON.stringify(lines)) // at least one from each instance
    // Every entry was counted, by each instance.
    assert.equal(
      warnings.reduce((sum, line) => sum + line.dropped, 0),
      2 * stray.length,
      JSON.stringify(warnings)
    )
    assert.equal(({} as any).polluted, undefined)

    const reply = await http('POST', '/api/patients', {
      token: alice.token,
      body: validPatient(),
      baseUrl: a.url
    })
    assert.equal(reply.status, 201)
    assert.deepEqual(await aliceOnB.delivered('patients created'), reply.body)
    for (const server of [a, b]) {
      assert.deepEqual((await http('GET', '/health', { baseUrl: server.url })).body, {
        status: 'ok',
        events: 'ok'
      })
    }
  })
})

describe('scale-out: /health shows event delivery', function () {
  this.timeout(60_000)

  async function eventsOf(server: RunningServer) {
    const reply = await http('GET', '/health', { baseUrl: server.url })
    assert.equal(reply.status, 200, JSON.stringify(reply.body))
    assert.equal(reply.body.status, 'ok')
    return reply.body.events
  }

  async function until(server: RunningServer, events: string) {
    const deadline = Date.now() + 10_000
    while ((await eventsOf(server)) !== events) {
      if (Date.now() > deadline) assert.fail(`/health did not show events ${events} within 10 s`)
      await sleep(50)
    }
  }

  it('down while Redis is gone or silent, ok again once it is back; REST keeps serving', async () => {
    const proxy = await startRedisProxy(new URL(REDIS_URL))
    const settings = testContext().settings
    const server = await startServer({
      ...settings,
      port: 0,
      redisUrl: proxy.url,
      events: { ...settings.events, heartbeatMs: 100 }
    })
    try {
      assert.equal(await eventsOf(server), 'ok')

      proxy.cut()
      await until(server, 'down')
      proxy.restore()
      await until(server, 'ok')

      proxy.freeze()
      await until(server, 'down')
      proxy.restore()
      await until(server, 'ok')
    } finally {
      await server.stop()
      await proxy.close()
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

    const message = serializeEvent({ event: 'patched', path: 'users', data: raw, context } as any, {
      boot: 1,
      seq: 7
    })

    assert.deepEqual(JSON.parse(message), {
      boot: 1,
      seq: 7,
      event: 'patched',
      path: 'users',
      data: { id: 'u1', name: 'Ada' }
    })
  })

  it('a payload that cannot be serialized is sent without it, and the call is not failed', () => {
    const circular: any = { id: 'u1' }
    circular.self = circular

    const message = serializeEvent({ event: 'created', path: 'users', data: circular }, { boot: 1, seq: 7 })

    assert.deepEqual(JSON.parse(message), { boot: 1, seq: 7, event: 'created', path: 'users', data: null })
  })
})
