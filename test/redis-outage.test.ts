import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import type { ApplicationConfiguration } from '../src/configuration'
import { startServer } from '../src/server'
import type { RunningServer } from '../src/server'
import { testContext } from './setup'
import { http, signUp, validPatient } from './helpers'
import type { TestUser } from './helpers'
import { startRedisProxy } from './redis-proxy'
import { startRedisServer } from './redis-server'
import { closeSockets, connectSocket } from './sockets'
import type { TestSocket } from './sockets'

// Two instances of one deployment on a redis-server of the test's own, which the tests kill,
// restart empty, cut off or freeze (never the shared Redis).

const DELIVERY_DEADLINE_MS = 20_000
/** How long a socket is watched for a late duplicate once it has everything it should. */
const AFTERWARDS_MS = 500

type Record = { id: string; version: number }

interface Written {
  user: TestUser
  via: RunningServer
  event: string
  record: Record
  /** When the write was sent: before Redis was killed, while it was down, or after it was restarted. */
  phase: Phase
  /** Instances whose sockets must not receive it: a newer version reached them first. */
  supersededOn?: RunningServer
}

type Phase = 'before' | 'outage' | 'after'

const keyOf = (event: string, record: Record) => `${event} ${record.id} v${record.version}`

/** Every write of the test, with the event each must cause. */
class Ledger {
  readonly writes: Written[] = []
  phase: Phase = 'before'

  async create(user: TestUser, via: RunningServer, label = 'Steady'): Promise<Record> {
    const phase = this.phase
    const reply = await http('POST', '/api/patients', {
      token: user.token,
      body: validPatient({ name: label }),
      baseUrl: via.url
    })
    assert.equal(reply.status, 201, JSON.stringify(reply.body))
    this.writes.push({ user, via, event: 'patients created', record: reply.body, phase })
    return reply.body
  }

  async patch(user: TestUser, via: RunningServer, id: string, age: number): Promise<Written> {
    const phase = this.phase
    const reply = await http('PATCH', `/api/patients/${id}`, {
      token: user.token,
      body: { age },
      baseUrl: via.url
    })
    assert.equal(reply.status, 200, JSON.stringify(reply.body))
    const written: Written = { user, via, event: 'patients patched', record: reply.body, phase }
    this.writes.push(written)
    return written
  }

  /** Until `count` writes were sent in `phase` and answered. */
  async untilWritten(phase: Phase, count: number) {
    while (this.writes.filter((write) => write.phase === phase).length < count) {
      await sleep(20)
    }
  }

  /** What the socket of `user` on `server` must receive, each exactly once. */
  expectedOn(user: TestUser, server: RunningServer) {
    return this.writes.filter((write) => write.user === user && write.supersededOn !== server)
  }
}

function patientEvents(socket: TestSocket) {
  return socket.received.filter(({ event }) => event.startsWith('patients '))
}

/** Waits until every socket has at least as many patient events as it should (or the deadline), then a little more. */
async function settle(expectations: Array<[TestSocket, Written[]]>) {
  const deadline = Date.now() + DELIVERY_DEADLINE_MS
  while (
    expectations.some(([socket, expected]) => patientEvents(socket).length < expected.length) &&
    Date.now() < deadline
  ) {
    await sleep(50)
  }
  await sleep(AFTERWARDS_MS)
}

/** Waits until `socket` has received the events of `writes` (or the deadline); answers the keys it has. */
async function untilReceived(socket: TestSocket, writes: Written[]) {
  const deadline = Date.now() + DELIVERY_DEADLINE_MS
  const keys = () => new Set(patientEvents(socket).map(({ event, payload }) => keyOf(event, payload)))
  while (writes.some(({ event, record }) => !keys().has(keyOf(event, record))) && Date.now() < deadline) {
    await sleep(20)
  }
  const received = keys()
  for (const { event, record } of writes) {
    assert.ok(received.has(keyOf(event, record)), `missed ${keyOf(event, record)}`)
  }
  return received
}

/** Exactly the expected events, each once, each as the REST answer was, each record's versions rising. */
function assertExactlyOnce(socket: TestSocket, expected: Written[], label: string) {
  const received = patientEvents(socket)
  assert.deepEqual(
    received.map(({ event, payload }) => keyOf(event, payload)).sort(),
    expected.map(({ event, record }) => keyOf(event, record)).sort(),
    `${label}: not exactly its owner's events, once each`
  )
  const byKey = new Map(expected.map((write) => [keyOf(write.event, write.record), write.record]))
  for (const { event, payload } of received) {
    assert.deepEqual(
      payload,
      byKey.get(keyOf(event, payload)),
      `${label}: ${event} differs from the REST answer`
    )
  }
  const versions = new Map<string, number>()
  for (const { payload } of received) {
    assert.ok(
      (versions.get(payload.id) ?? 0) < payload.version,
      `${label}: an older version after a newer one`
    )
    versions.set(payload.id, payload.version)
  }
}

async function eventsHealth(server: RunningServer) {
  const reply = await http('GET', '/health', { baseUrl: server.url })
  return reply.body.events as string
}

async function untilEvents(state: 'ok' | 'down', ...servers: RunningServer[]) {
  const deadline = Date.now() + DELIVERY_DEADLINE_MS
  for (const server of servers) {
    while ((await eventsHealth(server)) !== state) {
      if (Date.now() > deadline) assert.fail(`/health did not show events ${state}`)
      await sleep(20)
    }
  }
}

/** Until `stop`: a patient created through one instance, then patched through the same, then the other instance. */
async function writeSteadily(
  ledger: Ledger,
  user: TestUser,
  instances: RunningServer[],
  running: () => boolean
) {
  for (let turn = 0; running(); turn++) {
    const via = instances[turn % instances.length]
    const patient = await ledger.create(user, via)
    await ledger.patch(user, via, patient.id, 50 + (turn % 50))
    await sleep(10)
  }
}

const instanceSettings = (redisUrl: string, events: Partial<ApplicationConfiguration['events']> = {}) => {
  const { settings } = testContext()
  return { ...settings, port: 0, redisUrl, events: { ...settings.events, heartbeatMs: 100, ...events } }
}

interface User {
  user: TestUser
  sockets: Map<RunningServer, TestSocket>
}

async function usersWithSockets(count: number, servers: RunningServer[]): Promise<User[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, index) => {
      const user = await signUp(`User ${index}`, servers[0].url)
      const sockets = new Map<RunningServer, TestSocket>()
      for (const server of servers) sockets.set(server, await connectSocket(user.token, server.url))
      return { user, sockets }
    })
  )
}

describe('realtime through a Redis outage: two instances, Redis killed and restarted empty', function () {
  this.timeout(90_000)
  let redis: Awaited<ReturnType<typeof startRedisServer>>
  let a: RunningServer
  let b: RunningServer

  before(async () => {
    redis = await startRedisServer()
    ;[a, b] = await Promise.all([
      startServer(instanceSettings(redis.url)),
      startServer(instanceSettings(redis.url))
    ])
  })

  after(async () => {
    closeSockets()
    await Promise.all([a?.stop(), b?.stop()])
    await redis?.stop()
  })

  it('every event reaches every socket of its owner exactly once, local sockets during the outage, the others after it', async () => {
    const ledger = new Ledger()
    const users = await usersWithSockets(4, [a, b])
    const [alice] = users
    const shared = await ledger.create(alice.user, a, 'Edited on both instances')
    let writing = true
    const writers = users.map(({ user }) => writeSteadily(ledger, user, [a, b], () => writing))

    await ledger.untilWritten('before', 16)
    await redis.kill()
    ledger.phase = 'outage'
    await untilEvents('down', a, b)
    await ledger.untilWritten('outage', 16)
    // A change made on A, then the next on B, while neither hears of the other's.
    const onA = await ledger.patch(alice.user, a, shared.id, 70)
    await ledger.patch(alice.user, b, shared.id, 71)
    onA.supersededOn = b

    // During the outage: what each instance wrote reached its own sockets, and only those.
    const duringOutage = ledger.writes.filter(({ phase }) => phase === 'outage')
    for (const { user, sockets } of users) {
      for (const [server, socket] of sockets) {
        const mine = duringOutage.filter((write) => write.user === user)
        const local = mine.filter((write) => write.via === server)
        const received = await untilReceived(socket, local)
        for (const write of mine.filter((write) => write.via !== server)) {
          assert.ok(
            !received.has(keyOf(write.event, write.record)),
            'an event crossed instances without Redis'
          )
        }
      }
    }

    await redis.restart()
    ledger.phase = 'after'
    await ledger.untilWritten('after', 16)
    writing = false
    await Promise.all(writers)
    await untilEvents('ok', a, b)

    const expectations = users.flatMap(({ user, sockets }) =>
      [...sockets].map(
        ([server, socket]) => [socket, ledger.expectedOn(user, server)] as [TestSocket, Written[]]
      )
    )
    await settle(expectations)
    users.forEach(({ user, sockets }) =>
      sockets.forEach((socket, server) =>
        assertExactlyOnce(
          socket,
          ledger.expectedOn(user, server),
          `${user.name} on ${server === a ? 'A' : 'B'}`
        )
      )
    )
    // The record edited on both sides: B's sockets never saw version 2, which came after its own 3.
    const sharedOn = (server: RunningServer) =>
      patientEvents(alice.sockets.get(server)!)
        .filter(({ payload }) => payload.id === shared.id)
        .map(({ payload }) => payload.version)
    assert.deepEqual(sharedOn(a), [1, 2, 3])
    assert.deepEqual(sharedOn(b), [1, 3])
  })
})

describe('realtime through a Redis outage: past the queue bound, sockets are told to resync', function () {
  this.timeout(60_000)
  const BOUND = 5
  let redis: Awaited<ReturnType<typeof startRedisServer>>
  let a: RunningServer
  let b: RunningServer

  before(async () => {
    redis = await startRedisServer()
    const settings = instanceSettings(redis.url, { queueMaxEvents: BOUND })
    ;[a, b] = await Promise.all([startServer(settings), startServer(settings)])
  })

  after(async () => {
    closeSockets()
    await Promise.all([a?.stop(), b?.stop()])
    await redis?.stop()
  })

  it(`A holds ${BOUND} events for B; past that B's sockets get resync, then what A wrote after the drop`, async () => {
    const ledger = new Ledger()
    const [alice, bob] = await usersWithSockets(2, [a, b])
    const anonymousOnB = await connectSocket(undefined, b.url)

    await redis.kill()
    await untilEvents('down', a, b)
    const written: Record[] = []
    for (let index = 0; index < 2 * BOUND; index++) {
      written.push(await ledger.create(alice.user, a, `Patient ${index}`))
    }
    await redis.restart()
    await untilEvents('ok', a, b)

    // Written 1 to 5 were held; the 6th passed the bound and the queue was dropped; 7 to 10 held again.
    const kept = written.slice(BOUND + 1)
    const aliceOnB = alice.sockets.get(b)!
    await aliceOnB.delivered('patients created', (patient) => patient.id === kept.at(-1)!.id)
    await sleep(AFTERWARDS_MS)
    assert.deepEqual(
      aliceOnB.received.map(({ event, payload }) =>
        event === 'resync' ? ['resync', payload] : [event, payload.id]
      ),
      [['resync', { reason: 'events-lost' }], ...kept.map(({ id }) => ['patients created', id])]
    )
    // Every authenticated socket of B, none of A's (A's own had every event), no anonymous one.
    assert.deepEqual(bob.sockets.get(b)!.received, [{ event: 'resync', payload: { reason: 'events-lost' } }])
    assert.deepEqual(
      alice.sockets.get(a)!.received.map(({ event, payload }) => [event, payload.id]),
      written.map(({ id }) => ['patients created', id])
    )
    assert.deepEqual(bob.sockets.get(a)!.received, [])
    assert.deepEqual(anonymousOnB.received, [])
  })
})

describe('realtime through a dropped subscription (Redis stays up)', function () {
  this.timeout(60_000)
  let redis: Awaited<ReturnType<typeof startRedisServer>>
  let proxy: Awaited<ReturnType<typeof startRedisProxy>>
  let a: RunningServer
  let b: RunningServer

  before(async () => {
    redis = await startRedisServer()
    proxy = await startRedisProxy(new URL(redis.url))
    // A reaches Redis through the proxy, B directly.
    ;[a, b] = await Promise.all([
      startServer(instanceSettings(proxy.url)),
      startServer(instanceSettings(redis.url))
    ])
  })

  after(async () => {
    closeSockets()
    await Promise.all([a?.stop(), b?.stop()])
    await proxy?.close()
    await redis?.stop()
  })

  for (const fault of ['cut', 'freeze'] as const) {
    it(`${fault}: what each side wrote meanwhile reaches the other exactly once, once A is back`, async () => {
      const ledger = new Ledger()
      const users = await usersWithSockets(2, [a, b])

      proxy[fault]()
      await untilEvents('down', a)
      for (const { user } of users) {
        await ledger.patch(user, a, (await ledger.create(user, a)).id, 60)
        await ledger.patch(user, b, (await ledger.create(user, b)).id, 61)
      }
      // A frozen connection answers nothing: A replaces it (its writes and reads time out) without the restore.
      if (fault === 'cut') proxy.restore()
      await untilEvents('ok', a)

      const expectations = users.flatMap(({ user, sockets }) =>
        [...sockets].map(
          ([server, socket]) => [socket, ledger.expectedOn(user, server)] as [TestSocket, Written[]]
        )
      )
      await settle(expectations)
      for (const [socket, expected] of expectations) assertExactlyOnce(socket, expected, fault)
      proxy.restore()
    })
  }
})
