// `npm run bench:redis-outage`: realtime through a Redis outage, tried as an operator would.
//
//   npm run bench:redis-outage          2 instances, 200 users with a socket on each instance,
//                                       50 patient writes a second for 60 s, Redis killed at 20 s
//                                       and restarted empty 5 s later; 3 runs
//   options: --users 200 --rate 50 --duration 60 --kill-at 20 --down 5 --runs 3 --patches 0
//            --patches 0.3: that share of the writes patch the user's latest patient instead
//
// Two compiled instances (production mode) on one wiped database (BENCH_DATABASE_URL, or the
// embedded bench cluster) and a redis-server of the bench's own on a free port: never the shared
// one. Each write goes to either instance at random, as behind a load balancer. Every socket records
// what it receives; once deliveries have stopped, each event is counted on each socket of its owner
// as delivered once, delivered more than once, superseded (a newer version of its record reached
// that socket first: by design it is then never delivered) or missing, and any event on a socket of
// another user as misdelivered. The ratio is delivered once / (events × 2 sockets).
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { io } from 'socket.io-client'
import type { Socket } from 'socket.io-client'
import { startRedisServer } from '../test/redis-server'
import { startBenchServer, startInstance } from './bench-server'
import type { BenchInstance } from './bench-server'
import { createUsers, tokensFor } from './bench-users'

const { values: options } = parseArgs({
  options: {
    users: { type: 'string', default: '200' },
    rate: { type: 'string', default: '50' },
    duration: { type: 'string', default: '60' },
    'kill-at': { type: 'string', default: '20' },
    down: { type: 'string', default: '5' },
    runs: { type: 'string', default: '3' },
    patches: { type: 'string', default: '0' }
  }
})

const USERS = Number(options.users)
const RATE = Number(options.rate)
const DURATION_MS = Number(options.duration) * 1000
const KILL_AT_MS = Number(options['kill-at']) * 1000
const DOWN_MS = Number(options.down) * 1000
const RUNS = Number(options.runs)
const PATCH_SHARE = Number(options.patches)
const CONNECT_BATCH = 50
const MAX_IN_FLIGHT = 64
/** Deliveries are over once nothing has arrived for this long (or everything has). */
const QUIET_MS = 5000
const SETTLE_LIMIT_MS = 60_000

type Phase = 'before' | 'outage' | 'after'

interface Written {
  key: string
  owner: number
  id: string
  version: number
  phase: Phase
  via: number
  sentAt: number
}

interface Listener {
  socket: Socket
  owner: number
  instance: number
  /** Event key → how many times it arrived. */
  counts: Map<string, number>
  /** Record id → the highest version that arrived. */
  newest: Map<string, number>
  firstArrival: Map<string, number>
  resyncs: number
}

let lastArrival = 0

async function connect(url: string, token: string, owner: number, instance: number): Promise<Listener> {
  const socket = io(url, { transports: ['websocket'], reconnection: false, forceNew: true })
  const listener: Listener = {
    socket,
    owner,
    instance,
    counts: new Map(),
    newest: new Map(),
    firstArrival: new Map(),
    resyncs: 0
  }
  const record = (patient: { id: string; version: number }) => {
    const key = `${patient.id}:${patient.version}`
    const now = performance.now()
    lastArrival = now
    listener.counts.set(key, (listener.counts.get(key) ?? 0) + 1)
    if (!listener.firstArrival.has(key)) listener.firstArrival.set(key, now)
    listener.newest.set(patient.id, Math.max(listener.newest.get(patient.id) ?? 0, patient.version))
  }
  socket.on('patients created', record)
  socket.on('patients patched', record)
  socket.on('resync', () => listener.resyncs++)
  await new Promise<void>((resolve, reject) =>
    socket.once('connect', () => resolve()).once('connect_error', reject)
  )
  await new Promise<void>((resolve, reject) =>
    socket.emit('create', 'authentication', { strategy: 'jwt', accessToken: token }, (error: unknown) =>
      error ? reject(new Error(JSON.stringify(error))) : resolve()
    )
  )
  return listener
}

async function connectAll(urls: string[], tokens: string[]) {
  const listeners: Listener[] = []
  const pairs = tokens.flatMap((token, owner) =>
    urls.map((url, instance) => ({ token, owner, url, instance }))
  )
  for (let start = 0; start < pairs.length; start += CONNECT_BATCH) {
    const batch = pairs.slice(start, start + CONNECT_BATCH)
    listeners.push(
      ...(await Promise.all(
        batch.map(({ url, token, owner, instance }) => connect(url, token, owner, instance))
      ))
    )
  }
  return listeners
}

function resetListeners(listeners: Listener[]) {
  for (const listener of listeners) {
    listener.counts.clear()
    listener.newest.clear()
    listener.firstArrival.clear()
    listener.resyncs = 0
  }
}

async function write(url: string, token: string, patientId: string | undefined) {
  const response = await fetch(patientId ? `${url}/api/patients/${patientId}` : `${url}/api/patients`, {
    method: patientId ? 'PATCH' : 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(
      patientId
        ? { age: Math.floor(Math.random() * 150) }
        : { name: 'Outage bench', age: 40, disease: 'Benchmark' }
    )
  })
  const body: any = await response.json()
  if (response.status !== 200 && response.status !== 201)
    throw new Error(`${response.status} ${JSON.stringify(body)}`)
  return body as { id: string; version: number }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Writes at RATE a second for DURATION_MS; Redis is killed at KILL_AT_MS and restarted empty DOWN_MS later. */
async function load(urls: string[], tokens: string[], redis: Awaited<ReturnType<typeof startRedisServer>>) {
  const written: Written[] = []
  const latest = new Map<number, string>()
  let errors = 0
  let skipped = 0
  let inFlight = 0
  let phase: Phase = 'before'
  let restartedAt = 0
  const started = performance.now()
  const outage = (async () => {
    await sleep(KILL_AT_MS)
    await redis.kill()
    phase = 'outage'
    await sleep(DOWN_MS)
    await redis.restart()
    restartedAt = performance.now()
    phase = 'after'
  })()
  const pending: Array<Promise<void>> = []
  for (let index = 0; performance.now() - started < DURATION_MS; index++) {
    const due = started + (index * 1000) / RATE
    if (due > performance.now()) await sleep(due - performance.now())
    if (inFlight >= MAX_IN_FLIGHT) {
      skipped++ // the servers are behind: the load stays at RATE at most
      continue
    }
    const owner = index % tokens.length
    const via = Math.floor(Math.random() * urls.length)
    const patientId = Math.random() < PATCH_SHARE ? latest.get(owner) : undefined
    const writePhase = phase
    const sentAt = performance.now()
    inFlight++
    pending.push(
      write(urls[via], tokens[owner], patientId)
        .then(({ id, version }) => {
          latest.set(owner, id)
          written.push({ key: `${id}:${version}`, owner, id, version, phase: writePhase, via, sentAt })
        })
        .catch(() => void errors++)
        .finally(() => void inFlight--)
    )
  }
  await Promise.all(pending)
  await outage
  return { written, errors, skipped, restartedAt, killedAt: started + KILL_AT_MS }
}

/** Until every expected delivery has arrived, or nothing has arrived for QUIET_MS. */
async function settle(listeners: Listener[], written: Written[]) {
  const started = performance.now()
  const complete = () =>
    listeners.every((listener) =>
      written.every(({ key, owner }) => owner !== listener.owner || listener.counts.has(key))
    )
  while (!complete() && performance.now() - Math.max(lastArrival, started) < QUIET_MS) {
    if (performance.now() - started > SETTLE_LIMIT_MS) break
    await sleep(200)
  }
  await sleep(1000)
}

function percentile(values: number[], share: number) {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted.length ? sorted[Math.max(0, Math.ceil(share * sorted.length) - 1)] : NaN
}

function tally(
  listeners: Listener[],
  written: Written[],
  { restartedAt, killedAt }: { restartedAt: number; killedAt: number }
) {
  const byKey = new Map(written.map((write) => [write.key, write]))
  const counts = { expected: 0, once: 0, twice: 0, superseded: 0, missing: 0, misdelivered: 0 }
  const outage = { expected: 0, once: 0 }
  const remote: number[] = []
  const local: number[] = []
  let lastOutageArrival = 0
  for (const listener of listeners) {
    for (const write of written) {
      if (write.owner !== listener.owner) continue
      counts.expected++
      const times = listener.counts.get(write.key) ?? 0
      if (write.phase === 'outage') outage.expected++
      if (times === 1) {
        counts.once++
        if (write.phase === 'outage') {
          outage.once++
          lastOutageArrival = Math.max(lastOutageArrival, listener.firstArrival.get(write.key)!)
        }
        // Latency while Redis is up (the writes of the second before the kill left out): on the
        // instance that made the change, and on the other.
        if (write.sentAt < killedAt - 1000) {
          ;(write.via === listener.instance ? local : remote).push(
            listener.firstArrival.get(write.key)! - write.sentAt
          )
        }
      } else if (times > 1) {
        counts.twice++
      } else if ((listener.newest.get(write.id) ?? 0) > write.version) {
        counts.superseded++
      } else {
        counts.missing++
      }
    }
    for (const key of listener.counts.keys()) {
      const write = byKey.get(key)
      if (!write || write.owner !== listener.owner) counts.misdelivered++
    }
  }
  return {
    counts,
    outage,
    local,
    remote,
    recoveryMs: lastOutageArrival ? lastOutageArrival - restartedAt : NaN
  }
}

const latencies = (values: number[]) =>
  `${percentile(values, 0.5).toFixed(1)} / ${percentile(values, 0.99).toFixed(1)}`

const percent = (part: number, whole: number) => (whole ? ((100 * part) / whole).toFixed(3) : '–')

async function main() {
  const redis = await startRedisServer()
  const instances: BenchInstance[] = []
  let listeners: Listener[] = []
  try {
    const a = await startBenchServer({ environment: { REDIS_URL: redis.url }, poolMax: 4 })
    instances.push(a)
    instances.push(
      await startInstance({
        environment: { DATABASE_URL: a.databaseUrl, JWT_SECRET: a.secret, REDIS_URL: redis.url }
      })
    )
    const urls = instances.map(({ url }) => url)
    const ids = await createUsers(a.db, USERS)
    const tokens = await tokensFor(a.db, ids, a.secret)
    listeners = await connectAll(urls, tokens)
    console.log(
      `\n${USERS} users with a socket on each of 2 instances; ${RATE} writes/s for ${DURATION_MS / 1000} s ` +
        `(${PATCH_SHARE * 100}% patches), Redis killed at ${KILL_AT_MS / 1000} s, restarted empty ${DOWN_MS / 1000} s later\n`
    )
    console.log(
      '| run | events (during outage) | failed / skipped writes | delivered once | ratio % | outage events ratio % | twice | superseded | missing | to others | resyncs | recovery ms | same instance p50/p99 ms | other instance p50/p99 ms |\n' +
        '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|'
    )
    for (let run = 1; run <= RUNS; run++) {
      resetListeners(listeners)
      const { written, errors, skipped, ...times } = await load(urls, tokens, redis)
      await settle(listeners, written)
      const { counts, outage, local, remote, recoveryMs } = tally(listeners, written, times)
      const duringOutage = written.filter(({ phase }) => phase === 'outage').length
      const resyncs = listeners.reduce((sum, { resyncs }) => sum + resyncs, 0)
      console.log(
        `| ${run} | ${written.length} (${duringOutage}) | ${errors} / ${skipped} | ${counts.once} of ${counts.expected} | ` +
          `${percent(counts.once, counts.expected)} | ${percent(outage.once, outage.expected)} | ${counts.twice} | ` +
          `${counts.superseded} | ${counts.missing} | ${counts.misdelivered} | ${resyncs} | ${recoveryMs.toFixed(0)} | ` +
          `${latencies(local)} | ${latencies(remote)} |`
      )
    }
  } finally {
    listeners.forEach(({ socket }) => socket.disconnect())
    for (const instance of instances.reverse()) await instance.stop()
    await redis.stop()
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
