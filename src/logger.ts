import pino from 'pino'
import type { DestinationStream, Logger, LoggerOptions } from 'pino'

export type { Logger }
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent'
export type LogFormat = 'json' | 'pretty'

const REDACTED = '[Redacted]'
const MAX_DEPTH = 8

// Keys are compared lower-cased, without `-`, `_` or spaces: `Set-Cookie`, `access_token`, `accessToken` alike.
const normalise = (key: string) => key.toLowerCase().replace(/[-_\s]/g, '')

/** Credentials: a key containing one of these (`authorization`, `cookie`, `password`, `accessToken`, `refreshToken`, `jwt`, …). */
const SECRET_PARTS = [
  'authorization',
  'cookie',
  'password',
  'passphrase',
  'secret',
  'token',
  'jwt',
  'apikey',
  'credential'
]
/** Personal data: a patient's, a doctor's or a user's fields, and what carries a database's values. */
const PERSONAL_KEYS = new Set(
  [
    ...[
      'name',
      'firstName',
      'lastName',
      'fullName',
      'userName',
      'email',
      'phone',
      'birthDate',
      'dateOfBirth'
    ],
    ...['age', 'disease', 'diagnosis', 'specialty'],
    // PostgreSQL errors: `detail` holds the row's values ("Key (email)=(…)", "Failing row contains (…)"),
    // `where` and `internalQuery` the statement; knex's and pg's query objects carry `bindings`, `values`.
    ...['detail', 'where', 'internalQuery', 'bindings', 'values']
  ].map(normalise)
)
// Error fields that say what went wrong, not with which data: kept as they are.
const ERROR_FIELDS = new Set(['type', 'name', 'message', 'stack', 'code', 'className'])

// Log keys come from code, and repeat: each is classified once (bounded, in case some come from outside).
const classified = new Map<string, boolean>()
function isCensored(key: string): boolean {
  let censored = classified.get(key)
  if (censored === undefined) {
    const normal = normalise(key)
    censored = PERSONAL_KEYS.has(normal) || SECRET_PARTS.some((part) => normal.includes(part))
    if (classified.size < 10_000) classified.set(key, censored)
  }
  return censored
}

// A JWT or a bearer credential inside a text (an error message, a URL), whatever key holds it.
const TOKEN_IN_TEXT = /\beyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*|\bBearer\s+[\w~+/.=-]{8,}/gi
const scrub = (text: string) => text.replace(TOKEN_IN_TEXT, REDACTED)

/**
 * A copy of `value` fit for a log line: censored keys (above) are `[Redacted]` at any depth,
 * tokens inside texts too, errors become pino's `err` fields (`type`, `message` and `stack` with
 * their causes', `code` — a SQLSTATE for a database error —, and their other fields, censored as
 * the rest), and objects that are not plain data (a socket, a request) are only named.
 */
function censor(value: unknown, depth = 0, seen: object[] = []): unknown {
  if (typeof value === 'string') return scrub(value)
  if (value === null || typeof value !== 'object') return value
  if (depth > MAX_DEPTH) return '[Object]'
  if (seen.includes(value)) return '[Circular]'
  if (value instanceof Error) return errorFields(value, depth, seen)
  if (value instanceof Date) return value
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer)
    return `[${value.constructor.name} of ${value.byteLength} bytes]`
  seen.push(value)
  try {
    if (Array.isArray(value)) {
      return value.map((item) => censor(item, depth + 1, seen))
    }
    const prototype = Object.getPrototypeOf(value)
    if (prototype !== Object.prototype && prototype !== null) {
      const toJSON = (value as { toJSON?: unknown }).toJSON
      return typeof toJSON === 'function'
        ? censor(toJSON.call(value), depth + 1, seen)
        : `[${value.constructor?.name ?? 'Object'}]`
    }
    const copy: Record<string, unknown> = {}
    for (const [key, field] of Object.entries(value)) {
      copy[key] = field !== undefined && isCensored(key) ? REDACTED : censor(field, depth + 1, seen)
    }
    return copy
  } finally {
    seen.pop()
  }
}

function errorFields(error: Error, depth: number, seen: object[]) {
  // pino's own serializer for the type, and the message and stack with those of the causes.
  const { type, message, stack } = pino.stdSerializers.err(error)
  const fields: Record<string, unknown> = { type, message: scrub(message), stack: stack && scrub(stack) }
  if (error instanceof AggregateError) {
    // Its `errors` (one per address a connection was tried on, say) are not enumerable.
    fields.aggregateErrors = censor(error.errors, depth + 1, seen)
  }
  seen.push(error)
  for (const key in error) {
    const field = (error as unknown as Record<string, unknown>)[key]
    if (key in fields || key === 'cause' || field === undefined) continue
    fields[key] = !ERROR_FIELDS.has(key) && isCensored(key) ? REDACTED : censor(field, depth + 1, seen)
  }
  seen.pop()
  return fields
}

const censorObject = (object: Record<string, unknown>) => censor(object) as Record<string, unknown>

/** Where lines go: stdout, unless the dev format or a test says otherwise (`redirectLogs`). */
const stdout = pino.destination({ dest: 1, sync: true })
// Once the terminal is gone (it closed: SIGHUP), writing to it fails (EIO). The line is lost; the
// server must not die of it, least of all while it shuts down and stops its database.
stdout.on('error', () => undefined)
const output = {
  stream: stdout as DestinationStream,
  write(line: string) {
    try {
      this.stream.write(line)
    } catch {
      // See above: a log line that cannot be written is dropped.
    }
  }
}

const options: LoggerOptions = {
  level: 'info',
  formatters: {
    // Every object logged passes here before it is written: the redaction can miss no field.
    log: censorObject
  },
  // Errors were turned into fields above (wherever they were, not only under `err`).
  serializers: { err: (value: unknown) => value },
  hooks: {
    // `logger.info('… %o', patient)`: values interpolated into the message are censored too.
    logMethod(args, method) {
      for (let index = typeof args[0] === 'string' ? 1 : 2; index < args.length; index++) {
        ;(args as unknown[])[index] = censor(args[index])
      }
      return method.apply(this, args)
    }
  }
}

/**
 * The app's logger: pino, one JSON line per entry (pino's fields: `level` as a number, `time` in
 * ms, `pid`, `hostname`, `msg`, `err`), on stdout. Values go in fields, never in the message: the
 * fields pass `censor`. Child loggers carry the request or socket they log for (`req.id`,
 * `socket.id`); their bindings are censored as well.
 */
export const logger: Logger = pino(options, output)

// pino leaves bindings alone (its `formatters.bindings` is not applied to children): censor them here.
// Children inherit these from the root logger: pino makes a child with Object.create(parent), which
// it does not document (test/unit/library-internals.test.ts checks it).
const { child, setBindings } = logger
Object.assign(logger, {
  child(this: Logger, bindings: pino.Bindings, childOptions?: pino.ChildLoggerOptions) {
    return Reflect.apply(child, this, [censorObject(bindings), childOptions])
  },
  setBindings(this: Logger, bindings: pino.Bindings) {
    Reflect.apply(setBindings, this, [censorObject(bindings)])
  }
})

/** The logger of a service call: its request's or socket's child, or the app's. */
export const loggerOf = (params?: { logger?: Logger }): Logger => params?.logger ?? logger

let pretty: DestinationStream | undefined

/** Applies the `logLevel` and `logFormat` settings; `pretty` needs the pino-pretty package (a devDependency). */
export async function configureLogger({ level, format }: { level: LogLevel; format: LogFormat }) {
  logger.level = level
  if (format === 'pretty' && !pretty) {
    const { default: pinoPretty } = await import('pino-pretty').catch(() => {
      throw new Error(
        'logFormat "pretty" (LOG_FORMAT=pretty) needs the pino-pretty package, a devDependency: npm install --include=dev'
      )
    })
    const stream = pinoPretty({
      sync: true,
      singleLine: true,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname'
    })
    stream.on('error', () => undefined) // as stdout's, above
    pretty = stream
    output.stream = stream
  }
}

/** For tests: every line goes to `stream` until the function returned is called. */
export function redirectLogs(stream: DestinationStream): () => void {
  const previous = output.stream
  output.stream = stream
  return () => {
    output.stream = previous
  }
}

/**
 * One line when something goes away and one when it is back, not one per failed attempt:
 * `failed(error)` logs `down` (at `level`) the first time, `recovered()` logs `up` once after that.
 */
export function outageLog(down: string, up: string, level: 'warn' | 'error' = 'error') {
  let failing = false
  return {
    failed(error: unknown) {
      if (!failing) {
        failing = true
        logger[level]({ err: error }, down)
      }
    },
    recovered() {
      if (failing) {
        failing = false
        logger.info(up)
      }
    }
  }
}
