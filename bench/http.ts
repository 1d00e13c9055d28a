// `npm run bench`: load scenarios against the API with autocannon, printed as a table.
//
//   npm run bench                          compiles, starts the app on a fresh database, measures it
//   npm run bench -- --url http://host:port   measures a running server instead
//   options: --duration 10 --connections 32 --scenarios a,b,c,d,e,fa,fb,flood,fhir --scale
//            --pid <server pid> (with --url: also report the server's CPU per request) --rounds 5
// With the app started here (on a PostgreSQL of this host), the database's CPU per request too: the
// backends of the bench's database (not the WAL writer or the checkpointer).
//
// Scenarios: a GET /api/patients/:id, b GET /api/patients, c POST /api/patients,
// d GET /api/mappings/:patientId, e POST /api/auth/login (8 connections),
// p PATCH /api/patients/:id (one of the 200 seeded patients, a new age each time),
// flood: the p99 of (a) while 8 connections flood the login, against its idle p99,
// fa GET /fhir/Patient/:id, fb GET /fhir/Patient (a search page of 10),
// fhir: (a) against (fa) and (b) against (fb) in alternating rounds (--rounds, default 5): the
// medians, and the median of each round's FHIR / API ratio of server CPU per request and of p50,
// scale (--scale, needs the app started here): p50 of GET /api/patients for a caller with
// 10,000 patients in a table of 1,000,000 rows, against the same with 1,000 rows, with plans.
import autocannon from 'autocannon'
import { randomUUID } from 'node:crypto'
import { parseArgs } from 'node:util'
import { startBenchServer } from './bench-server'
import { processCpuMicros } from './process-cpu'
import type { BenchServer } from './bench-server'

const { values: options } = parseArgs({
  options: {
    url: { type: 'string' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '32' },
    scenarios: { type: 'string', default: 'a,b,c,d,e,fa,fb,flood' },
    scale: { type: 'boolean', default: false },
    pid: { type: 'string' },
    rounds: { type: 'string', default: '5' }
  }
})

const DURATION = Number(options.duration)
const CONNECTIONS = Number(options.connections)
const LOGIN_CONNECTIONS = 8

interface Result {
  scenario: string
  rps: number
  p50: number
  p99: number
  non2xx: number
  errors: number
  /** The server process's CPU time per request (µs), where it can be read. */
  cpu?: number
  /** The database backends' CPU time per request (µs), where they can be read. */
  databaseCpu?: number
}

interface Seed {
  token: string
  email: string
  password: string
  patientIds: string[]
}

async function call(base: string, method: string, path: string, body?: unknown, token?: string) {
  const response = await fetch(base + path, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  const json: any = await response.json()
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`)
  return json
}

async function signUp(base: string) {
  const email = `bench-${randomUUID()}@example.org`
  const password = 'benchmark-password'
  await call(base, 'POST', '/api/auth/register', { name: 'Bench', email, password })
  const { accessToken } = await call(base, 'POST', '/api/auth/login', { email, password })
  return { email, password, token: accessToken as string }
}

async function seed(base: string, patients = 200): Promise<Seed> {
  const user = await signUp(base)
  const patientIds: string[] = []
  for (let index = 0; index < patients; index++) {
    const patient = await call(
      base,
      'POST',
      '/api/patients',
      { name: `Patient ${index}`, age: index % 100, disease: 'Flu' },
      user.token
    )
    patientIds.push(patient.id)
  }
  const doctors = []
  for (let index = 0; index < 5; index++) {
    doctors.push(
      await call(
        base,
        'POST',
        '/api/doctors',
        { name: `Dr. ${index}`, age: 40, specialty: 'General' },
        user.token
      )
    )
  }
  for (const [index, patientId] of patientIds.slice(0, 50).entries()) {
    await call(base, 'POST', '/api/mappings', { patientId, doctorId: doctors[index % 5].id }, user.token)
    await call(
      base,
      'POST',
      '/api/mappings',
      { patientId, doctorId: doctors[(index + 1) % 5].id },
      user.token
    )
  }
  return { ...user, patientIds }
}

/** The measured server's pid: the one started here, or `--pid`. */
let serverPid: number | undefined = options.pid ? Number(options.pid) : undefined

/** The bench's own connection to the database of the server started here, if any. */
let benchDatabase: BenchServer['db'] | undefined

/** CPU time used so far by each backend of the server's database (µs), when PostgreSQL runs on this host. */
async function databaseCpuMicros(): Promise<Map<number, number> | undefined> {
  if (!benchDatabase) return undefined
  const { rows } = await benchDatabase.raw(
    'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()'
  )
  const times = new Map<number, number>()
  for (const { pid } of rows as Array<{ pid: number }>) {
    const micros = processCpuMicros(pid)
    if (micros === undefined) return undefined
    times.set(pid, micros)
  }
  return times
}

/**
 * The CPU the backends used between two readings: all of it for a backend that started meanwhile
 * (the pool grows under load); a backend that ended meanwhile is not counted.
 */
const databaseCpuBetween = (before?: Map<number, number>, after?: Map<number, number>) =>
  before && after
    ? [...after].reduce((sum, [pid, micros]) => sum + micros - (before.get(pid) ?? 0), 0)
    : undefined

async function load(
  base: string,
  scenario: string,
  request: autocannon.Request,
  connections = CONNECTIONS
): Promise<Result> {
  const cpuBefore = serverPid && processCpuMicros(serverPid)
  const databaseBefore = await databaseCpuMicros()
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    autocannon({ url: base, connections, duration: DURATION, requests: [request] }, (error, done) =>
      error ? reject(error) : resolve(done)
    )
  })
  const cpuAfter = serverPid && processCpuMicros(serverPid)
  const databaseCpu = databaseCpuBetween(databaseBefore, await databaseCpuMicros())
  const requests = result.requests.total
  return {
    scenario,
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    cpu: cpuBefore && cpuAfter && requests ? Math.round((cpuAfter - cpuBefore) / requests) : undefined,
    databaseCpu: databaseCpu !== undefined && requests ? Math.round(databaseCpu / requests) : undefined
  }
}

const pick = <T>(list: T[]) => list[Math.floor(Math.random() * list.length)]

function requests(seedData: Seed): Record<string, autocannon.Request> {
  const auth = { authorization: `Bearer ${seedData.token}`, 'content-type': 'application/json' }
  const fhirAuth = { authorization: `Bearer ${seedData.token}`, accept: 'application/fhir+json' }
  return {
    fa: {
      method: 'GET',
      headers: fhirAuth,
      setupRequest: (request) => ({ ...request, path: `/fhir/Patient/${pick(seedData.patientIds)}` })
    },
    fb: { method: 'GET', path: '/fhir/Patient', headers: fhirAuth },
    a: {
      method: 'GET',
      headers: auth,
      setupRequest: (request) => ({ ...request, path: `/api/patients/${pick(seedData.patientIds)}` })
    },
    b: { method: 'GET', path: '/api/patients', headers: auth },
    c: {
      method: 'POST',
      path: '/api/patients',
      headers: auth,
      body: JSON.stringify({ name: 'Load', age: 30, disease: 'Flu' })
    },
    d: {
      method: 'GET',
      headers: auth,
      setupRequest: (request) => ({
        ...request,
        path: `/api/mappings/${pick(seedData.patientIds.slice(0, 50))}`
      })
    },
    p: {
      method: 'PATCH',
      headers: auth,
      setupRequest: (request) => ({
        ...request,
        path: `/api/patients/${pick(seedData.patientIds)}`,
        body: JSON.stringify({ age: Math.floor(Math.random() * 100) })
      })
    },
    e: {
      method: 'POST',
      path: '/api/auth/login',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: seedData.email, password: seedData.password })
    }
  }
}

async function loginFlood(base: string, scenarios: Record<string, autocannon.Request>) {
  const idle = await load(base, 'a idle', scenarios.a)
  const [busy] = await Promise.all([
    load(base, 'a during login flood', scenarios.a),
    load(base, 'login flood', scenarios.e, LOGIN_CONNECTIONS)
  ])
  // Both loads share the server's CPU: its time per request of either would be meaningless.
  return [
    idle,
    {
      ...busy,
      cpu: undefined,
      databaseCpu: undefined,
      scenario: `${busy.scenario} (p99 ${(busy.p99 / idle.p99).toFixed(2)}x idle)`
    }
  ]
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/** The median of each field over rounds (undefined where a round could not read it). */
function medianOf(scenario: string, results: Result[]): Result {
  const of = (read: (result: Result) => number | undefined) => {
    const values = results.map(read).filter((value): value is number => value !== undefined)
    return values.length === results.length ? median(values) : undefined
  }
  return {
    scenario,
    rps: of((result) => result.rps)!,
    p50: of((result) => result.p50)!,
    p99: of((result) => result.p99)!,
    non2xx: results.reduce((sum, result) => sum + result.non2xx, 0),
    errors: results.reduce((sum, result) => sum + result.errors, 0),
    cpu: of((result) => result.cpu),
    databaseCpu: of((result) => result.databaseCpu)
  }
}

const ratio = (value: number | undefined, base: number | undefined) =>
  value !== undefined && base ? (value / base).toFixed(2) : '-'

/**
 * A FHIR read and a FHIR search page against the same /api calls: alternating rounds (the order
 * switching each round), so that whatever else the machine does meanwhile weighs on both alike.
 * Each round's FHIR / API ratio of server CPU per request and of p50; their medians are the figures.
 */
async function fhirComparison(base: string, scenarios: Record<string, autocannon.Request>) {
  const rounds = Number(options.rounds)
  const results: Result[] = []
  for (const [api, fhir, label] of [
    ['a', 'fa', 'read'],
    ['b', 'fb', 'search page']
  ]) {
    const apiRounds: Result[] = []
    const fhirRounds: Result[] = []
    // A round of each first, not counted: the first load of a route also warms its code up.
    await load(base, api, scenarios[api])
    await load(base, fhir, scenarios[fhir])
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? [api, fhir] : [fhir, api]
      for (const name of order) {
        const result = await load(base, name, scenarios[name])
        ;(name === api ? apiRounds : fhirRounds).push(result)
      }
    }
    const cpuRatios = fhirRounds.map((result, index) => Number(ratio(result.cpu, apiRounds[index].cpu)))
    const p50Ratios = fhirRounds.map((result, index) => Number(ratio(result.p50, apiRounds[index].p50)))
    const cpuRatio = cpuRatios.every(Number.isFinite) ? median(cpuRatios).toFixed(2) : '-'
    const summary = `FHIR / API ${label}, median of ${rounds} rounds: CPU ${cpuRatio}x, p50 ${median(p50Ratios).toFixed(2)}x`
    console.error(`${summary} (CPU per round ${cpuRatios.join(', ')}; p50 per round ${p50Ratios.join(', ')})`)
    results.push(
      medianOf(`${api} (median of ${rounds})`, apiRounds),
      medianOf(`${fhir} (median of ${rounds}; ${summary})`, fhirRounds)
    )
  }
  return results
}

async function scaleScenario({ db, url: base }: BenchServer) {
  const caller = await signUp(base)
  const { id: userId } = await db('users').where({ email: caller.email }).first('id')
  const others = await db('users')
    .insert({ name: 'Others', email: `others-${randomUUID()}@example.org`, password: 'x' })
    .returning('id')
  const fill = (owner: string, count: number) =>
    db.raw(
      `INSERT INTO patients (user_id, name, age, disease, created_at)
       SELECT ?, 'Patient ' || g, g % 150, 'Flu', now() - g * interval '1 second' FROM generate_series(1, ?) g`,
      [owner, count]
    )
  const page = {
    method: 'GET',
    path: '/api/patients',
    headers: { authorization: `Bearer ${caller.token}` }
  } as autocannon.Request
  // The statement of a page: the page, with its total read from the counts the database keeps
  // (the shape RecordService sends for a query that is only the caller's records).
  const plan = async () =>
    (
      await db.raw(
        `EXPLAIN ANALYZE SELECT patients.*,
           (SELECT coalesce(sum(total), 0)::bigint FROM patient_counts WHERE user_id = ?) AS total_of_query
         FROM patients WHERE user_id = ? ORDER BY created_at, id LIMIT 10`,
        [userId, userId]
      )
    ).rows
      .map((row: any) => row['QUERY PLAN'])
      .join('\n')

  await db('patients').delete()
  await fill(userId, 1_000)
  await db.raw('ANALYZE patients')
  const small = await load(base, 'b with 1,000 rows (caller has 1,000)', page)
  await fill(userId, 9_000)
  await fill(others[0].id, 990_000)
  await db.raw('VACUUM ANALYZE patients')
  const large = await load(base, 'b with 1,000,000 rows (caller has 10,000)', page)
  console.error(`Plan with 1,000,000 rows:\n${await plan()}`)
  return [
    small,
    { ...large, scenario: `${large.scenario} (p50 ${(large.p50 / Math.max(small.p50, 1)).toFixed(2)}x)` }
  ]
}

async function main() {
  const started = options.url ? undefined : await startBenchServer()
  const base = options.url ?? started!.url
  serverPid ??= started?.process.pid
  benchDatabase = started?.db
  try {
    const seedData = await seed(base)
    const scenarios = requests(seedData)
    const results: Result[] = []
    for (const name of options.scenarios.split(',')) {
      if (name === 'flood') results.push(...(await loginFlood(base, scenarios)))
      else if (name === 'fhir') results.push(...(await fhirComparison(base, scenarios)))
      else if (name === 'e')
        results.push(await load(base, 'e POST /api/auth/login', scenarios.e, LOGIN_CONNECTIONS))
      else if (scenarios[name]) results.push(await load(base, name, scenarios[name]))
    }
    if (options.scale && started) results.push(...(await scaleScenario(started)))
    console.log(
      '| scenario | rps | p50 ms | p99 ms | non-2xx | errors | server CPU µs/request | database CPU µs/request |\n|---|---|---|---|---|---|---|---|'
    )
    for (const result of results) {
      const [cpu, databaseCpu] = [result.cpu ?? '-', result.databaseCpu ?? '-']
      console.log(
        `| ${result.scenario} | ${result.rps} | ${result.p50} | ${result.p99} | ${result.non2xx} | ${result.errors} | ${cpu} | ${databaseCpu} |`
      )
    }
  } finally {
    await started?.stop()
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
