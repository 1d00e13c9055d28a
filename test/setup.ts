// Root hooks: one database (DATABASE_URL, which the tests may wipe, or the embedded test cluster),
// wiped and migrated once, and one app listening on a free port for every test file.
import pg from 'pg'
import { loadConfiguration } from '../src/configuration'
import type { ApplicationConfiguration } from '../src/configuration'
import { startDatabase } from '../src/database'
import type { DatabaseServer } from '../src/database'
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

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(120_000)
    const settings = await loadConfiguration()
    const database = await startDatabase(settings.database)
    await wipe(database.connectionString)
    const serverSettings = { ...settings, database: { ...settings.database, url: database.connectionString } }
    const server = await startServer(serverSettings)
    current = { settings: serverSettings, database, server }
  },
  async afterAll(this: Mocha.Context) {
    this.timeout(60_000)
    await current?.server.stop()
    await current?.database.stop()
    current = undefined
  }
}
