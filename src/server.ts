import { once } from 'node:events'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Knex } from 'knex'
import { createApp } from './app'
import type { ApplicationConfiguration } from './configuration'
import { startDatabase } from './database'
import type { DatabaseServer } from './database'
import { createKnex } from './database/knex'
import { answerClientErrorsAsJson } from './http/client-errors'
import type { Application } from './declarations'

export interface RunningServer {
  app: Application
  server: Server
  /** Where the server answers, e.g. http://127.0.0.1:3030 */
  url: string
  database: DatabaseServer
  stop(): Promise<void>
}

export async function migrateToLatest(db: Knex) {
  const [, applied] = await db.migrate.latest()
  return applied as string[]
}

async function closeApp(app: Application) {
  // Socket.io keeps long-lived connections that would hold server.close() open.
  app.io?.disconnectSockets(true)
  await app.teardown()
}

/**
 * The whole lifecycle in one place: database (embedded unless DATABASE_URL), migrations, app,
 * HTTP + Socket.io server; `stop()` undoes it in reverse order.
 */
export async function startServer(settings: ApplicationConfiguration): Promise<RunningServer> {
  const database = await startDatabase(settings.database)
  const db = createKnex(database.connectionString, settings.database.pool)
  let app: Application | undefined
  try {
    await migrateToLatest(db)
    app = createApp(settings, db)
    const server = await app.listen(settings.port, settings.host)
    answerClientErrorsAsJson(server)
    if (!server.listening) {
      await once(server, 'listening')
    }
    const { address, port } = server.address() as AddressInfo
    const host = address.includes(':') ? `[${address}]` : address
    const running = app
    let stopping: Promise<void> | undefined
    const stop = () =>
      (stopping ??= (async () => {
        await closeApp(running)
        await db.destroy()
        await database.stop()
      })())
    return { app, server, url: `http://${host}:${port}`, database, stop }
  } catch (error) {
    await (app ? closeApp(app) : undefined)?.catch(() => undefined)
    await db.destroy()
    await database.stop()
    throw error
  }
}
