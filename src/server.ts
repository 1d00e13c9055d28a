import { once } from 'node:events'
import http from 'node:http'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createApp, loadRedis } from './app'
import type { FhirMapping } from './fhir/vocabulary'
import type { ApplicationConfiguration } from './configuration'
import { startDatabase } from './database'
import type { DatabaseServer } from './database'
import { deploymentId } from './database/deployment'
import { createKnex, migrateToLatest } from './database/knex'
import { answerClientErrorsAsJson } from './http/client-errors'
import { passExpectationsToApp } from './http/expectations'
import {
  securityHeaders,
  sendSecurityHeaders,
  sendSecurityHeadersOnHandshakes
} from './http/security-headers'
import { answerConnectAsJson, answerOtherUpgradesAsRequests } from './http/upgrades'
import type { Application } from './declarations'
import { configureLogger, logger } from './logger'
import { closeRedis } from './database/redis'
import { resources as declaredResources, tables } from './services'
import { checkTables } from './declarative/database/drift'
import type { AnyResource } from './declarative/declaration'

export interface ServerOptions {
  /** The declared resources to serve (default: src/services). */
  resources?: readonly AnyResource[]
  /** Directories of migrations beyond migrations/ (a test's throwaway resource). */
  migrations?: readonly string[]
  /** The FHIR mappings served under /fhir (default: src/services/fhir.ts, of the served resources). */
  fhir?: readonly FhirMapping[]
}

export interface RunningServer {
  app: Application
  server: Server
  /** Where the server answers, e.g. http://127.0.0.1:3030 */
  url: string
  database: DatabaseServer
  stop(): Promise<void>
}

/** The connections to Redis (login counts, events) that would keep the process alive. */
async function closeClients(app: Application) {
  await app.get('eventSync')?.close()
  const redis = app.get('redis')
  if (redis) await closeRedis(redis)
}

/** An HTTP server whose slow clients are cut off (`http` settings) rather than held forever. */
function createHttpServer(app: Application, settings: ApplicationConfiguration['http']) {
  const server = http.createServer(
    {
      requestTimeout: settings.requestTimeoutMs,
      headersTimeout: settings.headersTimeoutMs,
      keepAliveTimeout: settings.keepAliveTimeoutMs,
      // How often Node checks those timeouts; its default of 30 s would let them overrun.
      connectionsCheckingInterval: Math.min(1000, settings.headersTimeoutMs)
    },
    app.callback()
  )
  return server
}

async function listen(app: Application, settings: ApplicationConfiguration) {
  const server = createHttpServer(app, settings.http)
  app.server = server
  await app.setup(server)
  // After the setup, in which Socket.io puts itself in front of the app's request handler.
  const headers = await securityHeaders()
  sendSecurityHeaders(server, headers)
  sendSecurityHeadersOnHandshakes(app.io, headers)
  answerClientErrorsAsJson(server, headers)
  passExpectationsToApp(server)
  answerOtherUpgradesAsRequests(server, app.io.path(), headers)
  answerConnectAsJson(server, headers)
  server.listen(settings.port, settings.host)
  await once(server, 'listening')
  return server
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref())

/**
 * SIGTERM's drain: stop accepting connections, refuse new requests on kept-alive ones, let the
 * in-flight requests finish (at most `shutdownTimeoutMs`), then close every connection and socket.
 */
async function drainAndClose(app: Application, server: Server, shutdownTimeoutMs: number) {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()))
  server.closeIdleConnections()
  const finished = await Promise.race([
    app
      .get('drain')
      .drain()
      .then(() => true),
    sleep(shutdownTimeoutMs).then(() => false)
  ])
  if (!finished) {
    logger.warn(
      { inFlight: app.get('drain').active },
      'Shutdown: requests still running after the shutdown timeout; closing their connections'
    )
  }
  // Socket.io's long-lived connections would hold server.close() open.
  app.io?.disconnectSockets(true)
  server.closeAllConnections()
  await closed
  // Feathers' Koa teardown closes `app.server` too, and fails on one that is already closed (not
  // documented: test/unit/library-internals.test.ts).
  const closedServer: { server?: Server } = app
  closedServer.server = undefined
  await app.teardown()
  await closeClients(app)
}

/**
 * The whole lifecycle in one place: database (embedded unless DATABASE_URL), migrations, app,
 * HTTP + Socket.io server; `stop()` drains and undoes it in reverse order. The tables must match
 * the declared resources (src/declarative/database/drift.ts), or the server does not start.
 */
export async function startServer(
  settings: ApplicationConfiguration,
  { resources = declaredResources, migrations = [], fhir }: ServerOptions = {}
): Promise<RunningServer> {
  await configureLogger({ level: settings.logLevel, format: settings.logFormat })
  const database = await startDatabase(settings.database)
  const db = createKnex(database.connectionString, settings.database)
  let app: Application | undefined
  let server: Server | undefined
  try {
    await migrateToLatest(db, migrations)
    await checkTables(db, resources, tables)
    const redis = settings.redisUrl ? await loadRedis(settings.redisUrl) : undefined
    app = createApp(settings, db, await deploymentId(db), resources, fhir, redis)
    await app.get('eventSync')?.ready.catch((error: Error) => {
      throw new Error(`Redis at REDIS_URL cannot be reached: ${error.message}`)
    })
    server = await listen(app, settings)
    const { address, port } = server.address() as AddressInfo
    const host = address.includes(':') ? `[${address}]` : address
    const [running, listening] = [app, server]
    let stopping: Promise<void> | undefined
    const stop = () =>
      (stopping ??= (async () => {
        await drainAndClose(running, listening, settings.http.shutdownTimeoutMs)
        await db.destroy()
        await database.stop()
      })())
    return { app, server, url: `http://${host}:${port}`, database, stop }
  } catch (error) {
    if (app) {
      await (server ? drainAndClose(app, server, 0) : closeClients(app)).catch(() => undefined)
    }
    await db.destroy()
    await database.stop()
    throw error
  }
}

/**
 * A rejected promise that nobody handled (a hook's fire-and-forget call, a library's stray timer)
 * is logged and the server keeps serving: Node's default would exit. An uncaught exception leaves
 * the process in an unknown state: it is logged and `onFatal` shuts down.
 */
export function installProcessGuards(onFatal: (error: unknown) => void) {
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'Unhandled rejection'))
  process.on('uncaughtException', (error) => {
    logger.error({ err: error }, 'Uncaught exception')
    onFatal(error)
  })
}
