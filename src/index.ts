import { loadConfiguration } from './configuration'
import { logger } from './logger'
import { installProcessGuards, startServer } from './server'
import type { RunningServer } from './server'

/** Ctrl-C, a process manager, a terminal that closes: each stops the server, and its database. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const
// The drain waits at most `http.shutdownTimeoutMs`; this is the backstop for anything else.
const HARD_EXIT_MS = 10_000
const LAUNCHER_CHECK_MS = 1000

let running: RunningServer | undefined
let stopRequest: { reason: string; exitCode: number } | undefined

function stopRunningServer(server: RunningServer, exitCode: number) {
  setTimeout(() => {
    logger.error('Shutdown did not finish in time; exiting')
    process.exit(1)
  }, HARD_EXIT_MS).unref()
  server.stop().then(
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

/**
 * The first request to stop counts; later ones change nothing. One Ctrl-C reaches the server more
 * than once: from the terminal, to the whole process group, and passed on by npm and tsx watch.
 * Before the server is up, it stops as soon as it is (so that a database it started stops too).
 */
function requestStop(reason: string, exitCode: number) {
  if (stopRequest) {
    logger.debug(`${reason}; already shutting down`)
    return
  }
  stopRequest = { reason, exitCode }
  logger.info(running ? `${reason}, shutting down` : `${reason}, shutting down once started`)
  if (running) stopRunningServer(running, exitCode)
}

/**
 * Under `npm start` or `npm run dev`, the server stops when the process that started it (npm, tsx
 * watch) has gone without passing a signal on: npm passes on SIGINT and SIGTERM but not SIGHUP,
 * and a killed npm passes on nothing. Started otherwise (`node lib/src/index.js` under a process
 * manager, or in the background of a script that then ends), it does not watch its parent.
 */
function stopWhenLauncherExits() {
  if (!process.env.npm_lifecycle_event) return
  const launcher = process.ppid
  setInterval(() => {
    if (process.ppid !== launcher)
      requestStop(`The process that started the server (pid ${launcher}) has exited`, 0)
  }, LAUNCHER_CHECK_MS).unref()
}

for (const signal of STOP_SIGNALS) {
  process.on(signal, () => requestStop(`${signal} received`, 0))
}
stopWhenLauncherExits()
installProcessGuards(() => requestStop('Uncaught exception', 1))

async function main() {
  const settings = await loadConfiguration()
  running = await startServer(settings)
  logger.info({ database: running.database.kind }, `Healthcare API listening on ${running.url}`)
  if (stopRequest) stopRunningServer(running, stopRequest.exitCode)
}

main().catch((error: Error) => {
  console.error(`Could not start the server: ${error.message}`)
  process.exit(1)
})
