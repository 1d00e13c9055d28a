// What auditing costs per request: `DATABASE_URL=postgres://… node -r tsx/cjs bench/audit-cost.ts`
// (a database the script may write to; it adds a user, a patient, a doctor and audit records).
// Compares `patients` with a copy of it registered here with the same hooks except `audit()`,
// and times the audit INSERT alone.
import { randomUUID } from 'node:crypto'
import { loadConfiguration } from '../src/configuration'
import type { Application } from '../src/declarations'
import { patients } from '../src/services/patients'
import { startServer } from '../src/server'
import { appendAudit } from '../src/declarative/runtime/audit-statement'
import { registerResource } from '../src/declarative/runtime/register'
import { defineResource } from '../src/declarative/resource'

/** `patients` as src/services/patients.ts declares it, on the same table, without the audit. */
const unauditedPatients = defineResource({
  ...patients.declaration,
  path: 'unaudited-patients',
  table: 'patients',
  name: 'UnauditedPatient',
  methods: ['get', 'patch'],
  audit: false,
  api: undefined
})

function registerUnauditedPatients(app: Application) {
  registerResource(app, unauditedPatients)
}

const ROUNDS = Number(process.env.ROUNDS ?? 5)
const PER_ROUND = Number(process.env.PER_ROUND ?? 400)
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 8)

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

async function call(url: string, init: RequestInit) {
  const started = performance.now()
  const response = await fetch(url, init)
  await response.arrayBuffer()
  if (!response.ok) throw new Error(`${init.method} ${url}: ${response.status}`)
  return performance.now() - started
}

/** Sequential latencies (ms) of `count` calls. */
async function latencies(count: number, make: () => [string, RequestInit]) {
  const times: number[] = []
  for (let index = 0; index < count; index++) times.push(await call(...make()))
  return times
}

/** Requests per second with `CONCURRENCY` clients. */
async function throughput(count: number, make: () => [string, RequestInit]) {
  let left = count
  const started = performance.now()
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (left-- > 0) await call(...make())
    })
  )
  return count / ((performance.now() - started) / 1000)
}

async function main() {
  const settings = await loadConfiguration()
  const server = await startServer({ ...settings, port: 0, logLevel: 'warn' })
  try {
    const base = server.url
    const json = (method: string, body?: unknown, token?: string): RequestInit => ({
      method,
      headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
      body: body === undefined ? undefined : JSON.stringify(body)
    })
    const email = `bench-${randomUUID()}@example.org`
    await fetch(
      `${base}/api/auth/register`,
      json('POST', { name: 'Bench', email, password: 'bench password' })
    )
    const { accessToken: token } = await (
      await fetch(`${base}/api/auth/login`, json('POST', { email, password: 'bench password' }))
    ).json()
    registerUnauditedPatients(server.app)
    // Writes go round a set of records, so concurrent clients do not queue on one row's lock.
    const records: any[] = []
    for (let index = 0; index < 64; index++) {
      records.push(
        await (
          await fetch(`${base}/api/patients`, json('POST', { name: 'P', age: 40, disease: 'D' }, token))
        ).json()
      )
    }
    const [patient] = records
    let next = 0
    const someRecord = () => records[next++ % records.length].id

    const cases: Record<string, () => [string, RequestInit]> = {
      'GET /patients/:id, audited': () => [`${base}/patients/${patient.id}`, json('GET', undefined, token)],
      'GET /patients/:id, without audit': () => [
        `${base}/unaudited-patients/${patient.id}`,
        json('GET', undefined, token)
      ],
      'PATCH /patients/:id, audited': () => [
        `${base}/patients/${someRecord()}`,
        json('PATCH', { age: 41 }, token)
      ],
      'PATCH /patients/:id, without audit': () => [
        `${base}/unaudited-patients/${someRecord()}`,
        json('PATCH', { age: 41 }, token)
      ]
    }
    const results: Record<string, { ms: number[]; rps: number[] }> = {}
    for (const name of Object.keys(cases)) results[name] = { ms: [], rps: [] }
    // Interleaved rounds, so load from elsewhere on the machine hits every case alike.
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, make] of Object.entries(cases)) {
        await latencies(50, make) // warm-up
        results[name].ms.push(median(await latencies(PER_ROUND, make)))
        results[name].rps.push(await throughput(PER_ROUND, make))
      }
    }
    const db = server.app.get('postgresqlClient')
    const inserts: number[] = []
    for (let index = 0; index < PER_ROUND * ROUNDS; index++) {
      const started = performance.now()
      await appendAudit(db, {
        userId: patient.userId,
        action: 'get',
        service: 'patients',
        recordId: patient.id,
        ip: '127.0.0.1'
      })
      inserts.push(performance.now() - started)
    }
    for (const [name, { ms, rps }] of Object.entries(results)) {
      console.log(
        `${name.padEnd(38)} median latency ${median(ms).toFixed(2)} ms   throughput (${CONCURRENCY} clients) ${median(rps).toFixed(0)} req/s`
      )
    }
    console.log(`${'audit INSERT alone'.padEnd(38)} median ${median(inserts).toFixed(3)} ms`)
  } finally {
    await server.stop()
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
