import { loadConfiguration } from './configuration'
import { logger } from './logger'
import { installProcessGuards, startServer } from './server'
import type { RunningServer } from './server'

const SHUTDOWN_SIGNALS = ['SIGTERM', 'SIGINT'] as const
// The drain waits at most `http.shutdownTimeoutMs`; this is the backstop for anything else.
const HARD_EXIT_MS = 10_000

let running: RunningServer | undefined

function shutdown(reason: string, exitCode: number) {
  logger.info(`${reason}, shutting down`)
  setTimeout(() => {
    logger.error('Shutdown did not finish in time; exiting')
    process.exit(1)
  }, HARD_EXIT_MS).unref()
  const stopped = running ? running.stop() : Promise.resolve()
  stopped.then(
    () => {
      logger.info('Stopped')
      process.exit(exitCode)
    },
    (error) => {
      logger.error({ err: error }, 'Shutdown failed')
      process.exit(1)
    }
  )
}

installProcessGuards(() => shutdown('Uncaught exception', 1))

async function main() {
  const settings = await loadConfiguration()
  running = await startServer(settings)
  logger.info({ database: running.database.kind }, `Healthcare API listening on ${running.url}`)
  for (const signal of SHUTDOWN_SIGNALS) {
    process.once(signal, () => shutdown(`${signal} received`, 0))
  }
}

main().catch((error: Error) => {
  console.error(`Could not start the server: ${error.message}`)
  process.exit(1)
})
