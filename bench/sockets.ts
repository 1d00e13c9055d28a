// `npm run bench:sockets`: event delivery with many sockets connected, printed as a table.
//
//   npm run bench:sockets                       N = 1000 sockets, one per user, on one server
//   npm run bench:sockets -- --redis            the same with REDIS_URL (events through Redis)
//   options: --sockets 1000 --creates 2000 --concurrency 8 --broadcasts 10 --redis-url redis://127.0.0.1:6379
//
// The compiled server runs in a process of its own, in production mode, on a database it wipes
// first: BENCH_DATABASE_URL, or else an embedded cluster in .data/postgres-bench. Users are written
// straight into the database with one precomputed hash (argon2 for 1,000 registrations would be
// the whole run) and their tokens signed here with the server's secret.
//
// Measured:
// - patients: each POST /api/patients is for one of the N users; latency is from sending the POST
//   to the `patients created` event at that user's socket (so it includes the insert), next to the
//   POST's own response time.
// - doctors: each POST /api/doctors reaches all N sockets; latency from the POST to each delivery.
// - memory: the server's RSS and heap (after a GC) before and after the N sockets logged in, per socket.
import { randomUUID } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { io } from 'socket.io-client'
import type { Socket } from 'socket.io-client'
import { startBenchServer } from './bench-server'
import { createUsers, tokensFor } from './bench-users'
import type { BenchServer } from './bench-server'

const { values: options } = parseArgs({
  options: {
    sockets: { type: 'string', default: '1000' },
    creates: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '8' },
    broadcasts: { type: 'string', default: '10' },
    redis: { type: 'boolean', default: false },
    'redis-url': { type: 'string', default: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' }
  }
})

const SOCKETS = Number(options.sockets)
const CREATES = Number(options.creates)
const CONCURRENCY = Number(options.concurrency)
const BROADCASTS = Number(options.broadcasts)
const CONNECT_BATCH = 50
const EVENT_TIMEOUT_MS = 10_000

type Memory = NodeJS.MemoryUsage

interface SocketBenchServer extends BenchServer {
  memory(): Promise<Memory>
}

async function startSocketBenchServer(): Promise<SocketBenchServer> {
  const server = await startBenchServer({
    nodeArguments: ['--expose-gc', '-r', './bench/memory-probe.cjs'],
    environment: {
      REDIS_URL: options.redis ? options['redis-url'] : undefined,
      // Every socket comes from 127.0.0.1, a batch at a time unauthenticated: above the batch.
      UNAUTHENTICATED_SOCKETS_PER_ADDRESS: String(2 * CONNECT_BATCH)
    },
    poolMax: 4
  })
  let probed: ((memory: Memory) => void) | undefined
  server.onLine((line) => {
    if (line.startsWith('{"memoryProbe"')) probed?.(JSON.parse(line).memoryProbe)
  })
  const memory = () =>
    new Promise<Memory>((resolve) => {
      probed = resolve
      server.process.kill('SIGUSR2')
    })
  return { ...server, memory }
}

interface Listener {
  socket: Socket
}

type Arrival = (at: number) => void

/** Events are matched by a unique name; each waiting name resolves with the time it arrived. */
const waiting = new Map<string, Arrival>()
const broadcastArrivals = new Map<string, number[]>()

function listen(socket: Socket) {
  socket.on('patients created', (patient: { name: string }) => waiting.get(patient.name)?.(performance.now()))
  socket.on('doctors created', (doctor: { name: string }) =>
    broadcastArrivals.get(doctor.name)?.push(performance.now())
  )
}

async function connectOne(url: string, accessToken: string): Promise<Listener> {
  const socket = io(url, { transports: ['websocket'], reconnection: false, forceNew: true })
  listen(socket)
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve())
    socket.once('connect_error', reject)
  })
  await new Promise<void>((resolve, reject) =>
    socket.emit('create', 'authentication', { strategy: 'jwt', accessToken }, (error: unknown) =>
      error ? reject(error) : resolve()
    )
  )
  return { socket }
}

async function connectAll(url: string, tokens: string[]) {
  const listeners: Listener[] = []
  for (let start = 0; start < tokens.length; start += CONNECT_BATCH) {
    listeners.push(
      ...(await Promise.all(
        tokens.slice(start, start + CONNECT_BATCH).map((token) => connectOne(url, token))
      ))
    )
  }
  return listeners
}

async function post(url: string, path: string, token: string, body: unknown) {
  const response = await fetch(url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body)
  })
  if (response.status !== 201) throw new Error(`POST ${path}: ${response.status} ${await response.text()}`)
  await response.arrayBuffer()
}

function arrivalOf(name: string) {
  return new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no event for ${name} within ${EVENT_TIMEOUT_MS} ms`)),
      EVENT_TIMEOUT_MS
    )
    waiting.set(name, (at) => {
      clearTimeout(timer)
      waiting.delete(name)
      resolve(at)
    })
  })
}

/** One patient for user `index`: POST sent → response, and POST sent → event at the owner's socket. */
async function createPatient(url: string, tokens: string[], index: number) {
  const name = `Patient ${index} ${randomUUID()}`
  const arrival = arrivalOf(name)
  const sent = performance.now()
  await post(url, '/api/patients', tokens[index % tokens.length], { name, age: 40, disease: 'Benchmark' })
  const answered = performance.now()
  return { event: (await arrival) - sent, response: answered - sent }
}

async function patientScenario(url: string, tokens: string[]) {
  const events: number[] = []
  const responses: number[] = []
  let next = 0
  const started = performance.now()
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < CREATES) {
        const { event, response } = await createPatient(url, tokens, next++)
        events.push(event)
        responses.push(response)
      }
    })
  )
  const seconds = (performance.now() - started) / 1000
  return { events, responses, rate: Math.round(CREATES / seconds) }
}

async function broadcastScenario(url: string, token: string, recipients: number) {
  const latencies: number[] = []
  const lastArrivals: number[] = []
  for (let index = 0; index < BROADCASTS; index++) {
    const name = `Dr. Broadcast ${index} ${randomUUID()}`
    const arrivals: number[] = []
    broadcastArrivals.set(name, arrivals)
    const sent = performance.now()
    await post(url, '/api/doctors', token, { name, age: 50, specialty: 'Benchmark' })
    const deadline = Date.now() + EVENT_TIMEOUT_MS
    while (arrivals.length < recipients && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    if (arrivals.length < recipients)
      throw new Error(`doctor ${index} reached ${arrivals.length} of ${recipients} sockets`)
    latencies.push(...arrivals.map((at) => at - sent))
    lastArrivals.push(Math.max(...arrivals) - sent)
    broadcastArrivals.delete(name)
  }
  return { latencies, lastArrivals }
}

function percentile(values: number[], fraction: number) {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.max(0, Math.ceil(fraction * sorted.length) - 1)]
}

const ms = (value: number) => value.toFixed(1)
const kib = (bytes: number) => (bytes / 1024).toFixed(1)

async function main() {
  const server = await startSocketBenchServer()
  const listeners: Listener[] = []
  try {
    const ids = await createUsers(server.db, SOCKETS)
    const tokens = await tokensFor(server.db, ids, server.secret)
    // Warm-up: one socket and a few creates, so the baseline includes compiled code and pools.
    const warm = await connectOne(server.url, tokens[0])
    for (let index = 0; index < 20; index++) await createPatient(server.url, [tokens[0]], 0)
    warm.socket.disconnect()
    await new Promise((resolve) => setTimeout(resolve, 200))

    const before = await server.memory()
    const connectStarted = performance.now()
    listeners.push(...(await connectAll(server.url, tokens)))
    const connectSeconds = (performance.now() - connectStarted) / 1000
    const after = await server.memory()

    const patients = await patientScenario(server.url, tokens)
    const doctors = await broadcastScenario(server.url, tokens[0], listeners.length)

    console.log(
      `\n${SOCKETS} sockets (distinct users, logged in with a JWT) connected in ${connectSeconds.toFixed(1)} s; ` +
        `events ${options.redis ? `through Redis (${options['redis-url']})` : 'in process (no REDIS_URL)'}\n`
    )
    console.log('| measure | p50 ms | p99 ms | max ms | samples |\n|---|---|---|---|---|')
    const row = (label: string, values: number[]) =>
      console.log(
        `| ${label} | ${ms(percentile(values, 0.5))} | ${ms(percentile(values, 0.99))} | ${ms(Math.max(...values))} | ${values.length} |`
      )
    row(
      `patients: POST sent → event at the owner's socket (${CONCURRENCY} in flight, ${patients.rate}/s)`,
      patients.events
    )
    row('patients: POST sent → POST answered (same requests)', patients.responses)
    row(`doctors: POST sent → event at each of ${listeners.length} sockets`, doctors.latencies)
    row('doctors: POST sent → event at the last socket', doctors.lastArrivals)
    console.log('\n| server memory | before | after | per socket |\n|---|---|---|---|')
    for (const key of ['rss', 'heapUsed'] as const) {
      console.log(
        `| ${key} | ${kib(before[key] / 1024)} MiB | ${kib(after[key] / 1024)} MiB | ${kib((after[key] - before[key]) / SOCKETS)} KiB |`
      )
    }
  } finally {
    listeners.forEach(({ socket }) => socket.disconnect())
    await server.stop()
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
