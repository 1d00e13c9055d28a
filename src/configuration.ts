import configuration from '@feathersjs/configuration'
import { Ajv } from '@feathersjs/schema'
import { Type, authenticationSettingsSchema, getValidator } from '@feathersjs/typebox'
import type { Static } from '@feathersjs/typebox'

const port = Type.Integer({ minimum: 0, maximum: 65535 })
const milliseconds = Type.Integer({ minimum: 1 })
const count = Type.Integer({ minimum: 1 })

/**
 * A lifetime: whole seconds as a number, or a string of digits and a unit, `s`, `m`, `h` or `d`
 * (`900`, `'15m'`, `'30d'`). jsonwebtoken would read a string without a unit as milliseconds; here
 * it is refused.
 */
const duration = Type.Union([
  Type.Integer({ minimum: 1 }),
  Type.String({ pattern: '^[1-9][0-9]{0,8}[smhd]$' })
])

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 }

/** The seconds of a lifetime setting (see `duration`). */
export function durationSeconds(value: number | string): number {
  if (typeof value === 'number') {
    return value
  }
  return Number(value.slice(0, -1)) * UNIT_SECONDS[value.slice(-1)]
}

/** Feathers' authentication settings, with both lifetimes checked. */
const authenticationSettings = Type.Object({
  ...authenticationSettingsSchema.properties,
  jwtOptions: Type.Object(
    {
      /** How long an access token is valid (`JWT_EXPIRES_IN`). */
      expiresIn: duration
    },
    { additionalProperties: true }
  ),
  /** The refresh strategy's settings: how long a refresh token is valid (`REFRESH_TOKEN_EXPIRES_IN`). */
  refresh: Type.Object({ expiresIn: duration }, { additionalProperties: false })
})

export const configurationSchema = Type.Object(
  {
    host: Type.String({ minLength: 1 }),
    port,
    origins: Type.Array(Type.String({ minLength: 1 })),
    logLevel: Type.Union([
      Type.Literal('debug'),
      Type.Literal('info'),
      Type.Literal('warn'),
      Type.Literal('error'),
      Type.Literal('silent')
    ]),
    /** `json` lines, or `pretty` for people (`npm run dev`; needs the pino-pretty devDependency). */
    logFormat: Type.Union([Type.Literal('json'), Type.Literal('pretty')]),
    http: Type.Object(
      {
        /** Honour X-Forwarded-For for the client address (only behind a proxy you control). */
        trustProxy: Type.Boolean(),
        requestTimeoutMs: milliseconds,
        headersTimeoutMs: milliseconds,
        keepAliveTimeoutMs: milliseconds,
        /** How long SIGTERM waits for in-flight requests before closing their connections. */
        shutdownTimeoutMs: milliseconds
      },
      { additionalProperties: false }
    ),
    loginThrottle: Type.Object(
      {
        maxFailuresPerEmail: count,
        maxFailuresPerIp: count,
        windowSeconds: count
      },
      { additionalProperties: false }
    ),
    paginate: Type.Object(
      {
        default: Type.Integer({ minimum: 1 }),
        max: Type.Integer({ minimum: 1 })
      },
      { additionalProperties: false }
    ),
    database: Type.Object(
      {
        url: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
        embedded: Type.Object(
          {
            dataDir: Type.String({ minLength: 1 }),
            port,
            database: Type.String({ pattern: '^[a-z_][a-z0-9_]*$' })
          },
          { additionalProperties: false }
        ),
        pool: Type.Object(
          {
            min: Type.Integer({ minimum: 0 }),
            max: Type.Integer({ minimum: 1 })
          },
          { additionalProperties: false }
        ),
        timeouts: Type.Object(
          {
            /** Opening a connection to PostgreSQL. */
            connectMs: milliseconds,
            /** Waiting for a free connection from the pool. */
            acquireMs: milliseconds,
            /** One SQL statement (PostgreSQL's statement_timeout). */
            statementMs: milliseconds,
            /** The health check's SELECT 1. */
            healthMs: milliseconds
          },
          { additionalProperties: false }
        )
      },
      { additionalProperties: false }
    ),
    /** Caps on Socket.io connections, per instance (src/socket-caps.ts). */
    sockets: Type.Object(
      {
        /** Sockets one user may have authenticated at once; one more is refused its login (429). */
        perUser: count,
        /** Sockets one address may hold unauthenticated at once; one more is refused at the handshake. */
        unauthenticatedPerAddress: count
      },
      { additionalProperties: false }
    ),
    redisUrl: Type.Optional(Type.String({ pattern: '^rediss?://' })),
    /**
     * Where clients reach this server (`PUBLIC_URL`): the FHIR facade's absolute URLs start with it.
     * Unset: `http://localhost:<the port the server listens on>`.
     */
    publicUrl: Type.Optional(Type.String({ pattern: '^https?://[^\\s?#]+$' })),
    events: Type.Object(
      {
        /** With `redisUrl`: how often an instance checks that its events go round through Redis. */
        heartbeatMs: milliseconds,
        /**
         * With `redisUrl`: the events an instance holds for the other instances while Redis is away
         * or slow (and those it keeps for 10 s to send again after a reconnect). Past it, the waiting
         * ones are dropped and the other instances send their sockets a `resync` event.
         */
        queueMaxEvents: count,
        /** The same bound in bytes of serialized events; at least one event of the largest size (1 MiB). */
        queueMaxBytes: Type.Integer({ minimum: 1024 * 1024 }),
        /**
         * With `redisUrl`: the events stream on Redis is trimmed to about this many entries: an
         * instance that cannot read for longer than they last (about 1,000 s at 100 events a
         * second) misses some and sends its sockets a `resync` event.
         */
        streamMaxLength: Type.Integer({ minimum: 1000 })
      },
      { additionalProperties: false }
    ),
    authentication: authenticationSettings
  },
  { $id: 'Configuration', additionalProperties: false }
)

export type ApplicationConfiguration = Static<typeof configurationSchema>

const validateConfiguration = getValidator(configurationSchema, new Ajv({ allErrors: true }))

/** The one place a known-insecure setting stops start-up. */
export const DEVELOPMENT_SECRET = 'development-only-secret-do-not-use-in-production'
const MIN_PRODUCTION_SECRET_BYTES = 32

function describeErrors(
  errors: { instancePath: string; message?: string; params: Record<string, unknown> }[]
) {
  return errors
    .map(({ instancePath, message, params }) => {
      const setting = instancePath.replace(/^\//, '').replace(/\//g, '.') || '(root)'
      const extra = typeof params.additionalProperty === 'string' ? ` '${params.additionalProperty}'` : ''
      return `${setting}: ${message}${extra}`
    })
    .join('; ')
}

function checkProductionSecret(settings: ApplicationConfiguration) {
  const secret = settings.authentication.secret
  if (secret === DEVELOPMENT_SECRET || Buffer.byteLength(secret) < MIN_PRODUCTION_SECRET_BYTES) {
    throw new Error(
      `Invalid configuration: authentication.secret: set JWT_SECRET to a secret of at least ${MIN_PRODUCTION_SECRET_BYTES} bytes in production`
    )
  }
}

// The embedded cluster is a development convenience: a production server without DATABASE_URL
// would keep its patients' records in a beta build's data folder inside its own install.
function checkProductionDatabase(settings: ApplicationConfiguration) {
  if (!settings.database.url) {
    throw new Error(
      'Invalid configuration: database.url: set DATABASE_URL in production; the embedded PostgreSQL is for development'
    )
  }
}

/** Validates settings and fails with a message naming every offending setting. */
export async function checkConfiguration(
  raw: unknown,
  environment = process.env.NODE_ENV
): Promise<ApplicationConfiguration> {
  // A plain copy: node-config objects are frozen and carry helper methods.
  const settings = JSON.parse(JSON.stringify(raw))
  try {
    await validateConfiguration(settings)
  } catch (error: any) {
    throw new Error(`Invalid configuration: ${describeErrors(error.errors ?? [])}`, { cause: error })
  }
  if (environment === 'production') {
    checkProductionSecret(settings)
    checkProductionDatabase(settings)
  }
  return settings
}

/** The settings of `config/` and the environment, validated. */
export function loadConfiguration(): Promise<ApplicationConfiguration> {
  return checkConfiguration(configuration()())
}
