export type LogLevel = 'info' | 'warn' | 'error' | 'silent'
type Level = Exclude<LogLevel, 'silent'>

const RANK: Record<LogLevel, number> = { info: 0, warn: 1, error: 2, silent: 3 }
let threshold: LogLevel = 'info'

/**
 * One JSON line per entry: easy to grep, easy to ship. Entries about a request carry its
 * `requestId` field, so a logged 500 can be matched with the X-Request-Id the client saw.
 */
function write(level: Level, message: string, fields: Record<string, unknown> = {}) {
  if (RANK[level] < RANK[threshold]) {
    return
  }
  const line = JSON.stringify({ time: new Date().toISOString(), level, message, ...fields })
  if (level === 'error') {
    process.stderr.write(line + '\n')
  } else {
    process.stdout.write(line + '\n')
  }
}

export const logger = {
  info: (message: string, fields?: Record<string, unknown>) => write('info', message, fields),
  warn: (message: string, fields?: Record<string, unknown>) => write('warn', message, fields),
  error: (message: string, fields?: Record<string, unknown>) => write('error', message, fields),
  get level(): LogLevel {
    return threshold
  },
  set level(level: LogLevel) {
    threshold = level
  }
}

export function describeError(error: unknown): Record<string, unknown> {
  if (error instanceof Error) {
    return { error: { name: error.name, message: error.message, stack: error.stack } }
  }
  return { error: String(error) }
}
