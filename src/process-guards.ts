import { logger } from './logger'

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
