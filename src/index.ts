import { loadConfiguration } from './configuration'
import { describeError, logger } from './logger'
import { startServer } from './server'

const SHUTDOWN_SIGNALS = ['SIGTERM', 'SIGINT'] as const

process.on('unhandledRejection', (reason) => logger.error('Unhandled rejection', describeError(reason)))

async function main() {
  const settings = await loadConfiguration()
  const running = await startServer(settings)
  logger.info(`Healthcare API listening on ${running.url}`, { database: running.database.kind })

  for (const signal of SHUTDOWN_SIGNALS) {
    process.once(signal, async () => {
      logger.info(`${signal} received, shutting down`)
      try {
        await running.stop()
        logger.info('Stopped')
        process.exit(0)
      } catch (error) {
        logger.error('Shutdown failed', describeError(error))
        process.exit(1)
      }
    })
  }
}

main().catch((error: Error) => {
  console.error(`Could not start the server: ${error.message}`)
  process.exit(1)
})
