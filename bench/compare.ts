// `npm run bench:compare`: the project against the hand-written yardstick (and, with --ref, against
// other commits of this repository), alternating them in one run on this host's PostgreSQL, so that
// a change on the request path shows its effect as ratios rather than as absolute figures.
//
//   npm run bench:compare                      yardstick (same work) against this checkout's build
//   npm run bench:compare -- --ref fa47ce6     … and the server as it was at fa47ce6 (repeatable)
//   options: --rounds 3 --duration 6 --warmup 2 --connections 32 --scenarios a,b,c,d --bare
//            --yardstick ../shared/bench (copied to .bench/yardstick and installed there once)
//            --database postgres://postgres@127.0.0.1:5432/postgres (BENCH_ADMIN_DATABASE_URL)
//
// Each round runs the yardstick's load driver (`load.mjs`) once against every target, in an order
// that rotates from round to round. Every target has a database of its own, dropped first. For each
// scenario it prints the median rps, its ratio to the yardstick, and the CPU time per request of the
// server process and of its PostgreSQL backends, read from /proc while the timed part ran.
import { execFileSync, spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { cpSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import pg from 'pg'
import { nodeOptionsOf } from './bench-server'
import { processCpuMicros } from './process-cpu'

const { values: options } = parseArgs({
  options: {
    ref: { type: 'string', multiple: true, default: [] },
    bare: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '6' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '32' },
    scenarios: { type: 'string', default: 'a,b,c,d' },
    yardstick: { type: 'string', default: '../shared/bench' },
    database: {
      type: 'string',
      default: process.env.BENCH_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
    }
  }
})

const WORK = resolve('.bench')
const SAME_WORK = 'yardstick'

interface Target {
  label: string
  cwd: string
  script: string
  database: string
  environment: Record<string, string>
  port: number
  process?: ChildProcess
}

interface Measurement {
  target: string
  round: number
  scenario: string
  rps: number
  errors: number
  /** µs of server CPU per request, and of its PostgreSQL backends. */
  cpu?: number
  databaseCpu?: number
}

const run = (command: string, args: string[], cwd: string) =>
  execFileSync(command, args, { cwd, stdio: ['ignore', 'ignore', 'inherit'] })

/** The yardstick, copied out once (its folder may be read-only) and installed where it was copied. */
function installedYardstick(source: string) {
  const copy = resolve(WORK, 'yardstick')
  if (!existsSync(resolve(copy, 'baseline/node_modules'))) {
    if (!existsSync(resolve(source, 'load.mjs')) || !existsSync(resolve(source, 'baseline/server.mjs'))) {
      throw new Error(`No yardstick in ${resolve(source)}: name its folder with --yardstick <folder>`)
    }
    cpSync(resolve(source), copy, { recursive: true })
    run('npm', ['ci', '--no-audit', '--no-fund'], copy)
    run('npm', ['ci', '--no-audit', '--no-fund'], resolve(copy, 'baseline'))
  }
  return copy
}

/** Another commit of this repository, checked out beside this one, installed and built once. */
function builtCommit(ref: string) {
  const commit = execFileSync('git', ['rev-parse', '--short', ref], { encoding: 'utf8' }).trim()
  const directory = resolve(WORK, 'refs', commit)
  if (!existsSync(resolve(directory, 'lib/src/index.js'))) {
    if (!existsSync(directory)) run('git', ['worktree', 'add', '--detach', directory, commit], '.')
    run('npm', ['ci', '--no-audit', '--no-fund'], directory)
    const scripts = JSON.parse(readFileSync(resolve(directory, 'package.json'), 'utf8')).scripts
    run('npm', ['run', scripts.build ? 'build' : 'compile'], directory)
  }
  return { commit, directory }
}

function databaseUrl(name: string) {
  const url = new URL(options.database)
  url.pathname = `/${name}`
  return url.toString()
}

async function recreateDatabase(name: string) {
  const admin = new pg.Client({ connectionString: options.database })
  await admin.connect()
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
}

function targets(): Target[] {
  const yardstick = installedYardstick(options.yardstick)
  const admin = new URL(options.database)
  const yardstickEnvironment = (database: string) => ({
    PGHOST: admin.hostname,
    PGPORT: admin.port || '5432',
    PGUSER: decodeURIComponent(admin.username) || 'postgres',
    PGDATABASE: database,
    RESET_SCHEMA: '1'
  })
  const project = (label: string, cwd: string): Omit<Target, 'port'> => {
    const database = `bench_compare_${label.replace(/\W/g, '_')}`
    const environment = {
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      DATABASE_URL: databaseUrl(database),
      JWT_SECRET: randomBytes(32).toString('hex')
    }
    return { label, cwd, script: 'lib/src/index.js', database, environment }
  }
  const list: Array<Omit<Target, 'port'>> = [
    {
      label: SAME_WORK,
      cwd: resolve(yardstick, 'baseline'),
      script: 'server.mjs',
      database: 'bench_compare_yardstick',
      environment: yardstickEnvironment('bench_compare_yardstick')
    },
    ...(options.bare
      ? [
          {
            label: 'bare',
            cwd: resolve(yardstick, 'baseline'),
            script: 'server.mjs',
            database: 'bench_compare_bare',
            environment: { ...yardstickEnvironment('bench_compare_bare'), BARE: '1' }
          }
        ]
      : []),
    ...options.ref.map((ref) => {
      const { commit, directory } = builtCommit(ref)
      return project(commit, directory)
    }),
    project('this', resolve('.'))
  ]
  return list.map((target, index) => ({ ...target, port: 3191 + index }))
}

/** The Node.js options of a build's `npm start`, so every build runs as it would in production. */
const startOptions = (cwd: string) =>
  nodeOptionsOf(JSON.parse(readFileSync(resolve(cwd, 'package.json'), 'utf8')).scripts.start)

async function start(target: Target) {
  await recreateDatabase(target.database)
  mkdirSync(resolve(WORK, 'logs'), { recursive: true })
  const errors = openSync(resolve(WORK, 'logs', `${target.label}.log`), 'w')
  target.process = spawn(process.execPath, [...startOptions(target.cwd), target.script], {
    cwd: target.cwd,
    env: { ...process.env, ...target.environment, PORT: String(target.port) },
    // Both write a line per request: to nowhere, alike.
    stdio: ['ignore', 'ignore', errors]
  })
  for (let attempt = 0; attempt < 600; attempt++) {
    if (target.process.exitCode !== null) throw new Error(`${target.label} exited: see .bench/logs`)
    try {
      await fetch(`http://127.0.0.1:${target.port}/api/patients`)
      return
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  throw new Error(`${target.label} did not listen within a minute`)
}

/** CPU readings of the server and of its database's backends while `work` runs, every 100 ms. */
async function sampledCpu<T>(target: Target, work: () => Promise<T>) {
  const client = new pg.Client({ connectionString: databaseUrl(target.database) })
  await client.connect()
  const backendCpu = new Map<number, number>()
  const samples: Array<{ at: number; server: number; database: number }> = []
  const sample = async () => {
    const { rows } = await client.query(
      'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()'
    )
    for (const { pid } of rows) backendCpu.set(pid, processCpuMicros(pid) ?? backendCpu.get(pid) ?? 0)
    const database = [...backendCpu.values()].reduce((sum, micros) => sum + micros, 0)
    samples.push({ at: Date.now(), server: processCpuMicros(target.process!.pid!) ?? 0, database })
  }
  let sampling = true
  const sampler = (async () => {
    while (sampling) {
      await sample()
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  })()
  try {
    return { result: await work(), samples }
  } finally {
    sampling = false
    await sampler
    await client.end()
  }
}

type Samples = Awaited<ReturnType<typeof sampledCpu>>['samples']

/** A reading at a moment between two samples, interpolated. */
function cpuAt(samples: Samples, at: number, key: 'server' | 'database') {
  const after = samples.findIndex((sample) => sample.at >= at)
  if (after === -1) return samples.at(-1)?.[key] ?? 0
  if (after === 0) return samples[0][key]
  const [a, b] = [samples[after - 1], samples[after]]
  return a[key] + ((b[key] - a[key]) * (at - a.at)) / Math.max(b.at - a.at, 1)
}

function loadDriver(target: Target): Promise<string> {
  const yardstick = resolve(WORK, 'yardstick')
  const driver = spawn(
    process.execPath,
    [
      'load.mjs',
      ...['--url', `http://127.0.0.1:${target.port}`, '--label', target.label],
      ...['--duration', options.duration, '--warmup', options.warmup],
      ...['--connections', options.connections, '--scenarios', options.scenarios]
    ],
    { cwd: yardstick, stdio: ['ignore', 'pipe', 'ignore'] }
  )
  let output = ''
  driver.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  return new Promise((resolve) => driver.on('exit', () => resolve(output)))
}

async function measure(target: Target, round: number): Promise<Measurement[]> {
  const { result: output, samples } = await sampledCpu(target, () => loadDriver(target))
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line))
    .map((line) => {
      const [from, to] = [Date.parse(line.ts), Date.parse(line.ts) + line.duration_s * 1000]
      const per = (key: 'server' | 'database') =>
        line.requests
          ? Math.round((cpuAt(samples, to, key) - cpuAt(samples, from, key)) / line.requests)
          : undefined
      return {
        target: target.label,
        round,
        scenario: line.scenario,
        rps: line.rps ?? 0,
        errors: line.error ? 1 : line.errors,
        cpu: per('server'),
        databaseCpu: per('database')
      }
    })
}

const median = (values: number[]) => {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

function table(measurements: Measurement[], labels: string[]) {
  const lines = [
    '| scenario | target | rps (median) | / yardstick | / first ref | server µs/req | PostgreSQL µs/req | errors | rps per round |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |'
  ]
  const firstRef = options.ref.length ? labels[options.bare ? 2 : 1] : undefined
  const medianRps = (scenario: string, label?: string) =>
    median(measurements.filter((m) => m.scenario === scenario && m.target === label).map((m) => m.rps))
  for (const scenario of [...new Set(measurements.map((m) => m.scenario))]) {
    for (const label of labels) {
      const rows = measurements.filter((m) => m.scenario === scenario && m.target === label)
      const rps = medianRps(scenario, label)
      const ratio = (to?: string) => (to && to !== label ? (rps / medianRps(scenario, to)).toFixed(2) : '')
      const cpu = (key: 'cpu' | 'databaseCpu') => median(rows.map((m) => m[key] ?? NaN))
      const errors = rows.reduce((sum, m) => sum + m.errors, 0)
      lines.push(
        `| ${scenario} | ${label} | ${Math.round(rps)} | ${ratio(SAME_WORK)} | ${ratio(firstRef)} | ${cpu('cpu')} | ${cpu('databaseCpu')} | ${errors} | ${rows.map((m) => Math.round(m.rps)).join(', ')} |`
      )
    }
  }
  return lines.join('\n')
}

async function main() {
  mkdirSync(WORK, { recursive: true })
  const list = targets()
  const measurements: Measurement[] = []
  try {
    for (const target of list) await start(target)
    for (let round = 0; round < Number(options.rounds); round++) {
      const order = list.map((_, index) => list[(index + round) % list.length])
      for (const target of order) {
        console.error(`round ${round + 1}: ${target.label}`)
        measurements.push(...(await measure(target, round)))
      }
    }
  } finally {
    for (const target of list) target.process?.kill('SIGTERM')
  }
  const file = resolve(WORK, `compare-${new Date().toISOString().replace(/[:.]/g, '-')}.jsonl`)
  writeFileSync(file, measurements.map((m) => JSON.stringify(m)).join('\n') + '\n')
  console.log(
    table(
      measurements,
      list.map((target) => target.label)
    )
  )
  console.log(`\nEach measurement: ${file}`)
}

main().catch((error: Error) => {
  console.error(error.message)
  process.exitCode = 1
})
