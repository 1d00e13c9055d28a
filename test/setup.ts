// Root hooks: one database (DATABASE_URL, which the tests may wipe, or the embedded test cluster),
// wiped and migrated once, and one app listening on a free port for every test file. The app's log
// lines are kept per test and shown only when that test fails.
import pg from 'pg'
import { loadConfiguration } from '../src/configuration'
import type { ApplicationConfiguration } from '../src/configuration'
import { startDatabase } from '../src/database'
import type { DatabaseServer } from '../src/database'
import { redirectLogs } from '../src/logger'
import { startServer } from '../src/server'
import type { RunningServer } from '../src/server'

export interface TestContext {
  settings: ApplicationConfiguration
  database: DatabaseServer
  server: RunningServer
}

let current: TestContext | undefined

export function testContext(): TestContext {
  if (!current) {
    throw new Error('The test server is not running')
  }
  return current
}

async function wipe(connectionString: string) {
  const client = new pg.Client({ connectionString })
  await client.connect()
  try {
    await client.query('DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public')
  } finally {
    await client.end()
  }
}

/**
 * The settings of the shared test server: those of config/test.json and the environment, except
 * what would make it another kind of server than the tests expect. REDIS_URL is for the tests that
 * start servers of their own with Redis (scale-out, sessions); the shared one runs without it, so
 * `/health` and event delivery are the same whatever the caller's shell holds. It listens on a free
 * port whatever PORT says.
 */
export async function testSettings(): Promise<ApplicationConfiguration> {
  const { redisUrl: _forOtherServers, ...settings } = await loadConfiguration()
  return { ...settings, port: 0 }
}

/**
 * The log lines written while a test runs (and the hooks before it), kept until it ends: printed
 * under its failure, dropped when it passes. Tests that assert on logs redirect them further
 * (test/helpers.ts captureOutput) and put this buffer back when done.
 */
const MAX_KEPT_BYTES = 4 * 1024 * 1024
let kept: string[] = []
let keptBytes = 0
let droppedLines = 0

function keep(line: string) {
  if (keptBytes + line.length > MAX_KEPT_BYTES) {
    droppedLines++
    return
  }
  kept.push(line)
  keptBytes += line.length
}

function takeKept() {
  const lines = kept
  const dropped = droppedLines
  kept = []
  keptBytes = 0
  droppedLines = 0
  return { lines, dropped }
}

const restoreLogs = redirectLogs({ write: keep })

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(120_000)
    const settings = await testSettings()
    const database = await startDatabase(settings.database)
    await wipe(database.connectionString)
    const serverSettings = { ...settings, database: { ...settings.database, url: database.connectionString } }
    const server = await startServer(serverSettings)
    current = { settings: serverSettings, database, server }
  },
  afterEach(this: Mocha.Context) {
    const { lines, dropped } = takeKept()
    if (this.currentTest?.state !== 'failed' || lines.length === 0) return
    const more = dropped > 0 ? `(and ${dropped} more lines)\n` : ''
    process.stdout.write(`\n    The app's log during "${this.currentTest.title}":\n${lines.join('')}${more}`)
  },
  async afterAll(this: Mocha.Context) {
    this.timeout(60_000)
    await current?.server.stop()
    await current?.database.stop()
    current = undefined
    takeKept()
    restoreLogs()
  }
}
