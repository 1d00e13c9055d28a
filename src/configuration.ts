import { Ajv } from '@feathersjs/schema'
import { Type, getValidator } from '@feathersjs/typebox'
import type { Static, TSchema } from '@feathersjs/typebox'
import { ConfigurationError, describeProblems, validationProblems } from './settings/problems'
import type { Problem, SettingsOrigin } from './settings/problems'
import { readSettings } from './settings/sources'
import type { ReadOptions } from './settings/sources'

/*
 * Every setting: its type, what it allows and what it does (`description`). A setting is added
 * here, given a default in config/default.json and an environment variable in
 * config/custom-environment-variables.json; `npm run docs:settings` then writes its row of the
 * table in docs/configuration.md (test/settings-docs.test.ts fails until it is there). What is
 * allowed is said by the type; where the type cannot say it (a pattern), by `allowed`.
 */

const port = (description: string) => Type.Integer({ minimum: 0, maximum: 65535, description })
const milliseconds = (description: string) => Type.Integer({ minimum: 1, description })
const count = (description: string) => Type.Integer({ minimum: 1, description })
const fixed = <T extends string>(value: T, description: string) => Type.Literal(value, { description })

/**
 * A lifetime: whole seconds as a number, or a string of digits and a unit, `s`, `m`, `h` or `d`
 * (`900`, `'15m'`, `'30d'`). jsonwebtoken would read a string without a unit as milliseconds; here
 * it is refused.
 */
const duration = (description: string) =>
  Type.Union([Type.Integer({ minimum: 1 }), Type.String({ pattern: '^[1-9][0-9]{0,8}[smhd]$' })], {
    description,
    allowed: 'whole seconds in a config file (900), or digits and a unit s, m, h or d (15m, 30d)'
  })

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 }

/** The seconds of a lifetime setting (see `duration`). */
export function durationSeconds(value: number | string): number {
  if (typeof value === 'number') {
    return value
  }
  return Number(value.slice(0, -1)) * UNIT_SECONDS[value.slice(-1)]
}

const object = <T extends Record<string, TSchema>>(properties: T) =>
  Type.Object(properties, { additionalProperties: false })

/** Feathers' authentication settings: the app's wiring is fixed, the secret and lifetimes are settings. */
const authenticationSettings = object({
  entity: fixed('user', 'Fixed: the record a token authenticates is a user.'),
  service: fixed('users', 'Fixed: the service that holds the users.'),
  secret: Type.String({
    minLength: 1,
    writeOnly: true,
    description:
      'The secret that signs and checks access tokens; the same on every instance. In production at least 32 bytes, and never the development default.',
    allowed: 'any text; in production at least 32 bytes and not the development secret'
  }),
  authStrategies: Type.Tuple([Type.Literal('jwt'), Type.Literal('local'), Type.Literal('refresh')], {
    description: 'Fixed: the ways to log in (an access token, email and password, a refresh token).'
  }),
  jwtOptions: object({
    header: object({ typ: fixed('access', 'Fixed: the `typ` header of an access token.') }),
    audience: Type.String({
      minLength: 1,
      description: 'The `aud` claim of access tokens, checked on each.'
    }),
    issuer: Type.String({ minLength: 1, description: 'The `iss` claim of access tokens, checked on each.' }),
    algorithm: Type.Union([Type.Literal('HS256'), Type.Literal('HS384'), Type.Literal('HS512')], {
      description: 'How access tokens are signed with the secret.'
    }),
    expiresIn: duration('How long an access token is valid (see docs on sessions).')
  }),
  local: object({
    usernameField: fixed('email', 'Fixed: a login names the user by `email`.'),
    passwordField: fixed('password', 'Fixed: a login proves it is the user with `password`.')
  }),
  refresh: object({
    expiresIn: duration(
      'How long a refresh token is valid: a session nobody refreshed for this long is over.'
    )
  })
})

export const configurationSchema = Type.Object(
  {
    host: Type.String({
      minLength: 1,
      description: 'The address the server listens on (`0.0.0.0`: every interface).'
    }),
    port: port('The HTTP port (REST and Socket.io); `0` picks a free one.'),
    origins: Type.Array(Type.String({ pattern: '^[a-z][a-z0-9+.-]*://[^/\\s]+$' }), {
      description:
        'The origins of the web pages that may call the API (CORS, and Socket.io long-polling); other origins get no CORS headers.',
      allowed:
        'origins as a browser sends them (https://app.example.org, http://localhost:8080: no path, no trailing slash), comma-separated or a JSON array'
    }),
    logLevel: Type.Union(
      [
        Type.Literal('debug'),
        Type.Literal('info'),
        Type.Literal('warn'),
        Type.Literal('error'),
        Type.Literal('silent')
      ],
      { description: 'The least severe log lines written.' }
    ),
    logFormat: Type.Union([Type.Literal('json'), Type.Literal('pretty')], {
      description:
        '`json`: one JSON object a line, on stdout. `pretty`: one readable line each, for people (`npm run dev` sets it; needs the pino-pretty devDependency).'
    }),
    http: object({
      trustProxy: Type.Boolean({
        description:
          "Take the client's address from the last entry of `X-Forwarded-For` (login throttle, audit). Only behind a reverse proxy you control, which sets that header."
      }),
      requestTimeoutMs: milliseconds(
        'A request whose body has not arrived within this many milliseconds is answered 408 and closed.'
      ),
      headersTimeoutMs: milliseconds(
        "A connection that has not sent a request's headers within this many milliseconds is closed."
      ),
      keepAliveTimeoutMs: milliseconds(
        'An idle kept-alive connection is closed after this many milliseconds.'
      ),
      shutdownTimeoutMs: milliseconds(
        'On SIGTERM, SIGINT or SIGHUP: how long (milliseconds) requests in flight may finish before their connections are closed.'
      )
    }),
    loginThrottle: object({
      maxFailuresPerEmail: count(
        'Failed logins for one email within the window after which further attempts are answered 429.'
      ),
      maxFailuresPerIp: count(
        'Failed logins from one address within the window after which further attempts are answered 429.'
      ),
      windowSeconds: count('The length of the login throttle window, from the first attempt it counts.')
    }),
    paginate: object({
      default: count('The page size of a list when the request sets no `$limit`.'),
      max: count('The largest page a list answers, whatever `$limit` asks for.')
    }),
    database: object({
      url: Type.Optional(
        Type.String({
          pattern: '^postgres(ql)?://',
          writeOnly: true,
          description:
            'The PostgreSQL database. Unset: an embedded PostgreSQL is started for the server (development only; required in production).',
          allowed: 'a postgres:// or postgresql:// URL'
        })
      ),
      embedded: object({
        dataDir: Type.String({
          minLength: 1,
          description: 'Where the embedded PostgreSQL keeps its data (relative to the working directory).'
        }),
        port: port('The port of the embedded PostgreSQL (on 127.0.0.1).'),
        database: Type.String({
          pattern: '^[a-z_][a-z0-9_]*$',
          description: 'The database the server uses in the embedded PostgreSQL (created if missing).',
          allowed: 'lower-case letters, digits and _, not starting with a digit'
        })
      }),
      pool: object({
        min: Type.Integer({
          minimum: 0,
          description: 'Connections to PostgreSQL kept open when idle.'
        }),
        max: count(
          'The most connections to PostgreSQL at once; times the number of instances, it must fit PostgreSQL’s `max_connections`.'
        )
      }),
      timeouts: object({
        connectMs: milliseconds('How long (milliseconds) opening a connection to PostgreSQL may take.'),
        acquireMs: milliseconds(
          'How long (milliseconds) a request waits for a free connection before it is answered 503.'
        ),
        statementMs: milliseconds(
          "How long (milliseconds) one SQL statement may run (PostgreSQL's statement_timeout)."
        ),
        healthMs: milliseconds("How long (milliseconds) `GET /health` waits for the database's answer.")
      })
    }),
    redisUrl: Type.Optional(
      Type.String({
        pattern: '^rediss?://',
        writeOnly: true,
        description:
          'Redis, for more than one instance: realtime events and ended sessions reach every instance, and the login throttle counts across them. Unset: one instance, everything in its memory (the Redis client is not even loaded).',
        allowed: 'a redis:// or rediss:// URL'
      })
    ),
    publicUrl: Type.Optional(
      Type.String({
        pattern: '^https?://[^\\s?#]+$',
        description:
          'Where clients reach this server: the FHIR facade\u2019s absolute URLs (links, `fullUrl`s) start with it, never with anything taken from a request. Unset: `http://localhost:<the port the server listens on>`.',
        allowed: 'an http:// or https:// URL without a query or fragment'
      })
    ),
    sockets: object({
      perUser: count(
        'Sockets one user may have logged in at once, per instance: logging in on one more is refused (429) and that socket does not count.'
      ),
      unauthenticatedPerAddress: count(
        'Sockets one address may hold without logging in, per instance: one more is refused at the handshake (429).'
      )
    }),
    events: object({
      heartbeatMs: milliseconds(
        'With Redis: how often (milliseconds) an instance checks that its events go round through Redis (`GET /health` reports it).'
      ),
      queueMaxEvents: count(
        'With Redis: the events an instance holds for the other instances while Redis is away or slow (and those it keeps for 10 s to send again after a reconnect). Past it, the waiting ones are dropped and the other instances send their sockets a `resync` event.'
      ),
      queueMaxBytes: Type.Integer({
        minimum: 1024 * 1024,
        description:
          'The same bound in bytes of serialized events (at least 1 MiB, one event of the largest size).'
      }),
      streamMaxLength: Type.Integer({
        minimum: 1000,
        description:
          'With Redis: the events stream is trimmed to about this many entries; an instance that cannot read for longer than they last (about 1,000 s at 100 events a second) misses some and sends its sockets a `resync` event.'
      })
    }),
    authentication: authenticationSettings
  },
  { $id: 'Configuration', additionalProperties: false }
)

export type ApplicationConfiguration = Static<typeof configurationSchema>

const ajv = new Ajv({ allErrors: true })
// A schema's own sentence for what a setting allows, where its type cannot say it (a pattern).
ajv.addKeyword({ keyword: 'allowed', schemaType: 'string' })
const validateConfiguration = getValidator(configurationSchema, ajv)

/** The one place a known-insecure setting stops start-up. */
export const DEVELOPMENT_SECRET = 'development-only-secret-do-not-use-in-production'
const MIN_PRODUCTION_SECRET_BYTES = 32

function productionSecretProblems(settings: ApplicationConfiguration, origin: SettingsOrigin): Problem[] {
  const secret = settings.authentication.secret
  if (secret !== DEVELOPMENT_SECRET && Buffer.byteLength(secret) >= MIN_PRODUCTION_SECRET_BYTES) {
    return []
  }
  const what = secret === DEVELOPMENT_SECRET ? 'the development secret' : `${Buffer.byteLength(secret)} bytes`
  const source = origin.sourceOf(['authentication', 'secret'])
  return [
    {
      subject: 'authentication.secret',
      text: `set JWT_SECRET to a secret of at least ${MIN_PRODUCTION_SECRET_BYTES} bytes in production (now: ${what}${source ? `, from ${source}` : ''})`
    }
  ]
}

// The embedded cluster is a development convenience: a production server without DATABASE_URL
// would keep its patients' records in a beta build's data folder inside its own install.
function productionDatabaseProblems(settings: ApplicationConfiguration): Problem[] {
  if (settings.database.url) {
    return []
  }
  return [
    {
      subject: 'database.url',
      text: 'set DATABASE_URL in production; the embedded PostgreSQL is for development'
    }
  ]
}

export interface CheckOptions {
  /** What the process does: `migrate` needs only the database, not the token secret. */
  purpose?: 'serve' | 'migrate'
  /** Where each value came from, for the messages (see `readSettings`). */
  origin?: SettingsOrigin
}

const UNKNOWN_ORIGIN: SettingsOrigin = {
  sourceOf: () => undefined,
  environmentText: () => undefined,
  variableOf: () => undefined
}

/**
 * Validates settings; a bad one stops start-up with one line (`ConfigurationError`) that names
 * each offending setting, its environment variable, the value and what is allowed.
 */
export async function checkConfiguration(
  raw: unknown,
  environment = process.env.NODE_ENV,
  { purpose = 'serve', origin = UNKNOWN_ORIGIN }: CheckOptions = {}
): Promise<ApplicationConfiguration> {
  // A plain copy: what the validator sees is what the app gets.
  const settings = JSON.parse(JSON.stringify(raw ?? {}))
  try {
    await validateConfiguration(settings)
  } catch (error) {
    const errors = typeof error === 'object' && error !== null && 'errors' in error ? error.errors : undefined
    if (!Array.isArray(errors)) throw error
    const problems = validationProblems(configurationSchema, settings, errors, origin)
    throw new ConfigurationError(describeProblems(problems))
  }
  if (environment === 'production') {
    const problems = [
      ...(purpose === 'serve' ? productionSecretProblems(settings, origin) : []),
      ...productionDatabaseProblems(settings)
    ]
    if (problems.length) throw new ConfigurationError(describeProblems(problems))
  }
  return settings
}

export interface LoadOptions extends ReadOptions, Pick<CheckOptions, 'purpose'> {}

/**
 * The settings of config/ (default.json, then <NODE_ENV>.json, local.json, local-<NODE_ENV>.json),
 * `NODE_CONFIG` and the environment variables of config/custom-environment-variables.json, in that
 * order, validated.
 */
export async function loadConfiguration(options: LoadOptions = {}): Promise<ApplicationConfiguration> {
  const { settings, origin, environment } = readSettings(configurationSchema, options)
  return checkConfiguration(settings, environment, { purpose: options.purpose, origin })
}

export { ConfigurationError }
