import { spawn } from 'node:child_process'
import type { ChildProcessWithoutNullStreams } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import type { Knex } from 'knex'
import { loadConfiguration } from '../src/configuration'
import { startDatabase } from '../src/database'
import { createKnex } from '../src/database/knex'
import packageJson from '../package.json'

export interface BenchServer {
  url: string
  secret: string
  /** The server's database, for another instance beside it. */
  databaseUrl: string
  /** A connection of the bench's own to the server's database (seeding, plans). */
  db: Knex
  process: ChildProcessWithoutNullStreams
  /** Every line the server writes to stdout, as it comes. */
  onLine(listener: (line: string) => void): void
  stop(): Promise<void>
}

export interface BenchServerOptions {
  nodeArguments?: string[]
  environment?: Record<string, string | undefined>
  poolMax?: number
}

/** The Node.js options of a `start` script (`exec node <options> lib/src/index.js`). */
export const nodeOptionsOf = (start = '') => start.split(' ').filter((word) => word.startsWith('--'))

/** Those of `npm start`, so the bench measures what runs. */
const startOptions = nodeOptionsOf(packageJson.scripts.start)

/**
 * The compiled app in a process of its own (so the load driver does not share its event loop),
 * in production mode, on a database of its own that is wiped first: BENCH_DATABASE_URL, or else
 * an embedded cluster in .data/postgres-bench (never DATABASE_URL or the development cluster).
 */
export async function startBenchServer(options: BenchServerOptions = {}): Promise<BenchServer> {
  const settings = await loadConfiguration()
  const database = await startDatabase({
    ...settings.database,
    url: process.env.BENCH_DATABASE_URL,
    embedded: { dataDir: '.data/postgres-bench', port: 54331, database: 'healthcare_bench' }
  })
  // The bench's own connection seeds up to a million rows: no request-sized statement timeout.
  const timeouts = { ...settings.database.timeouts, statementMs: 10 * 60_000 }
  const db = createKnex(database.connectionString, { pool: { min: 0, max: options.poolMax ?? 2 }, timeouts })
  await db.raw('DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public')
  const secret = randomBytes(32).toString('hex')
  const instance = await startInstance({
    ...options,
    environment: { DATABASE_URL: database.connectionString, JWT_SECRET: secret, ...options.environment }
  })
  const stop = async () => {
    await instance.stop()
    await db.destroy()
    await database.stop()
  }
  return { ...instance, secret, db, databaseUrl: database.connectionString, stop }
}

export interface BenchInstance {
  url: string
  process: ChildProcessWithoutNullStreams
  /** Every line the server writes to stdout, as it comes. */
  onLine(listener: (line: string) => void): void
  stop(): Promise<void>
}

/**
 * The compiled app in a process of its own, in production mode: another instance beside the one
 * `startBenchServer` started, when `environment` gives it the same DATABASE_URL and JWT_SECRET.
 */
export async function startInstance(options: BenchServerOptions = {}): Promise<BenchInstance> {
  const server = spawn(
    process.execPath,
    [...startOptions, ...(options.nodeArguments ?? []), 'lib/src/index.js'],
    {
      env: {
        ...process.env,
        NODE_ENV: 'production',
        PORT: '0',
        HOST: '127.0.0.1',
        ...options.environment
      },
      stdio: ['ignore', 'pipe', 'inherit']
    }
  ) as unknown as ChildProcessWithoutNullStreams

  const listeners: Array<(line: string) => void> = []
  let buffered = ''
  server.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString()
    const lines = buffered.split('\n')
    buffered = lines.pop() ?? ''
    for (const line of lines) listeners.forEach((listener) => listener(line))
  })
  const url = await new Promise<string>((resolve, reject) => {
    listeners.push((line) => {
      const listening = /listening on (http:\/\/[\d.:]+)/.exec(line)
      if (listening) resolve(listening[1])
    })
    server.on('exit', (code) => reject(new Error(`the server exited with ${code}`)))
  })
  const stop = async () => {
    server.kill('SIGTERM')
    await once(server, 'exit')
  }
  return { url, process: server, onLine: (listener) => listeners.push(listener), stop }
}
