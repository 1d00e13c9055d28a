import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {
  ConfigurationError,
  DEVELOPMENT_SECRET,
  checkConfiguration,
  configurationSchema,
  durationSeconds,
  loadConfiguration
} from '../src/configuration'

const ROOT = path.join(__dirname, '..')
const CONFIG = path.join(ROOT, 'config')
/** What an unknown top-level setting's refusal lists: every setting the schema declares. */
const TOP_LEVEL = Object.keys(configurationSchema.properties).join(', ')

/** The settings as `npm start` would read them with exactly these environment variables. */
const load = (env: NodeJS.ProcessEnv, options: { dir?: string; purpose?: 'serve' | 'migrate' } = {}) =>
  loadConfiguration({ env: { NODE_ENV: 'development', ...env }, ...options })

/** The one line a bad setting stops start-up with. */
async function refusal(env: NodeJS.ProcessEnv, options?: { dir?: string }) {
  const error = await load(env, options).then(
    () => assert.fail(`${JSON.stringify(env)} was accepted`),
    (error: unknown) => error
  )
  assert.ok(error instanceof ConfigurationError, String(error))
  assert.doesNotMatch(error.message, /\n/)
  return error.message
}

describe('configuration', () => {
  it('the test configuration is valid and has its own database', async () => {
    const settings = await loadConfiguration()
    assert.equal(settings.database.embedded.database, 'healthcare_test')
  })

  describe('a bad setting in the environment is refused with one line: the setting, its variable, the value, what is allowed', () => {
    const cases: [NodeJS.ProcessEnv, string][] = [
      [
        { CORS_ORIGINS: 'http://a.example/' },
        'origins: CORS_ORIGINS="http://a.example/" is refused; allowed: origins as a browser sends them (https://app.example.org, http://localhost:8080: no path, no trailing slash), comma-separated or a JSON array'
      ],
      [
        { CORS_ORIGINS: '["http://a.example"' },
        'origins: CORS_ORIGINS="[\\"http://a.example\\"" is refused; allowed: origins as a browser sends them (https://app.example.org, http://localhost:8080: no path, no trailing slash), comma-separated or a JSON array'
      ],
      [
        { LOG_LEVEL: 'loud' },
        'logLevel: LOG_LEVEL="loud" is refused; allowed: debug, info, warn, error, silent'
      ],
      [{ LOG_FORMAT: 'xml' }, 'logFormat: LOG_FORMAT="xml" is refused; allowed: json, pretty'],
      [
        { TRUST_PROXY: 'maybe' },
        'http.trustProxy: TRUST_PROXY="maybe" is refused; allowed: true or false (also 1 or 0, yes or no)'
      ],
      [{ PORT: 'eighty' }, 'port: PORT="eighty" is refused; allowed: a whole number from 0 to 65535'],
      [{ PORT: '3030.5' }, 'port: PORT="3030.5" is refused; allowed: a whole number from 0 to 65535'],
      [{ PORT: '0x10' }, 'port: PORT="0x10" is refused; allowed: a whole number from 0 to 65535'],
      [{ PORT: '70000' }, 'port: PORT="70000" is refused; allowed: a whole number from 0 to 65535'],
      [
        { HTTP_REQUEST_TIMEOUT_MS: '0' },
        'http.requestTimeoutMs: HTTP_REQUEST_TIMEOUT_MS="0" is refused; allowed: a whole number, at least 1'
      ],
      [
        { DATABASE_URL: 'mysql://api:s3cret@db.internal/healthcare' },
        'database.url: DATABASE_URL="mysql://api:***@db.internal/healthcare" is refused; allowed: a postgres:// or postgresql:// URL'
      ],
      [
        { REDIS_URL: 'http://127.0.0.1:6379' },
        'redisUrl: REDIS_URL="http://127.0.0.1:6379" is refused; allowed: a redis:// or rediss:// URL'
      ],
      [
        { JWT_EXPIRES_IN: '900' },
        'authentication.jwtOptions.expiresIn: JWT_EXPIRES_IN="900" is refused; allowed: whole seconds in a config file (900), or digits and a unit s, m, h or d (15m, 30d)'
      ],
      [
        { NODE_CONFIG: '{"port": 3031' },
        `NODE_CONFIG: not a JSON object; allowed: settings as JSON, e.g. NODE_CONFIG='{"port":3031}'`
      ],
      [
        { NODE_CONFIG: '[3031]' },
        `NODE_CONFIG: not a JSON object; allowed: settings as JSON, e.g. NODE_CONFIG='{"port":3031}'`
      ],
      [
        { NODE_CONFIG: '{"colour": "blue", "http": {"trustproxy": true}}' },
        `colour: not a setting ("blue" in NODE_CONFIG); allowed here: ${TOP_LEVEL} | http.trustproxy: not a setting (true in NODE_CONFIG); allowed here: trustProxy, requestTimeoutMs, headersTimeoutMs, keepAliveTimeoutMs, shutdownTimeoutMs`
      ],
      [
        { NODE_CONFIG: '{"database": {"timeouts": {"healthMs": "1s"}}, "authentication": {"secret": 42}}' },
        'database.timeouts.healthMs: "1s" in NODE_CONFIG is refused; allowed: a whole number, at least 1 | authentication.secret (JWT_SECRET): (hidden) in NODE_CONFIG is refused; allowed: any text; in production at least 32 bytes and not the development secret'
      ],
      [
        { NODE_CONFIG: '{"authentication": {"entity": "patient"}}' },
        'authentication.entity: "patient" in NODE_CONFIG is refused; allowed: only user'
      ],
      [
        { NODE_CONFIG: '{"__proto__": {"polluted": true}, "http": {"__proto__": {"polluted": true}}}' },
        `__proto__: not a setting ({"polluted":true} in NODE_CONFIG); allowed here: ${TOP_LEVEL} | http.__proto__: not a setting ({"polluted":true} in NODE_CONFIG); allowed here: trustProxy, requestTimeoutMs, headersTimeoutMs, keepAliveTimeoutMs, shutdownTimeoutMs`
      ],
      [
        { NODE_ENV: 'prod' },
        'NODE_ENV: "prod" has no config/prod.json; allowed: development, production, test'
      ],
      [
        { LOG_LEVEL: 'loud', PORT: '-1' },
        'port: PORT="-1" is refused; allowed: a whole number from 0 to 65535 | logLevel: LOG_LEVEL="loud" is refused; allowed: debug, info, warn, error, silent'
      ]
    ]
    afterEach(() => assert.equal(({} as Record<string, unknown>).polluted, undefined))
    for (const [env, message] of cases) {
      it(
        Object.entries(env)
          .map(([name, value]) => `${name}=${value}`)
          .join(' '),
        async () => {
          assert.equal(await refusal(env), `Invalid configuration: ${message}`)
        }
      )
    }
  })

  it('reads what each setting is from the text of its variable: lists, booleans, numbers; an empty variable is unset', async () => {
    const origins = async (CORS_ORIGINS: string) => (await load({ CORS_ORIGINS })).origins
    assert.deepEqual(await origins('http://a.example'), ['http://a.example'])
    assert.deepEqual(await origins(' http://a.example , https://b.example:8443,'), [
      'http://a.example',
      'https://b.example:8443'
    ])
    assert.deepEqual(await origins('["http://a.example", "https://b.example"]'), [
      'http://a.example',
      'https://b.example'
    ])
    for (const [text, value] of [
      ['true', true],
      ['false', false],
      ['1', true],
      ['0', false],
      ['yes', true],
      ['no', false],
      ['YES', true],
      [' No ', false]
    ] as const) {
      assert.equal((await load({ TRUST_PROXY: text })).http.trustProxy, value, text)
    }
    assert.equal((await load({ PORT: ' 8080 ' })).port, 8080)
    const unset = await load({ REDIS_URL: '', DATABASE_URL: '', PORT: '' })
    assert.equal(unset.redisUrl, undefined)
    assert.equal(unset.database.url, undefined)
    assert.equal(unset.port, 3030)
    // In this order, each over the ones before: config files, NODE_CONFIG, environment variables.
    const layered = await load({ NODE_CONFIG: '{"port": 4000, "host": "0.0.0.0"}', PORT: '5000' })
    assert.deepEqual([layered.host, layered.port], ['0.0.0.0', 5000])
  })

  describe('config files', () => {
    let dir: string
    beforeEach(() => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'healthcare-config-'))
      cpSync(CONFIG, dir, { recursive: true })
    })
    afterEach(() => rmSync(dir, { recursive: true, force: true }))

    const local = (text: string) => writeFileSync(path.join(dir, 'local.json'), text)
    const file = (name: string) => path.join(dir, name)

    it('an unknown setting, a bad value or a file that is not JSON is refused, naming the file', async () => {
      local('{"http": {"trustProxy": "yes", "timeoutMs": 5}}')
      assert.equal(
        await refusal({}, { dir }),
        `Invalid configuration: http.timeoutMs: not a setting (5 in ${file('local.json')}); allowed here: trustProxy, requestTimeoutMs, headersTimeoutMs, keepAliveTimeoutMs, shutdownTimeoutMs | http.trustProxy (TRUST_PROXY): "yes" in ${file('local.json')} is refused; allowed: true or false (also 1 or 0, yes or no)`
      )
      local('{"port": 3031,}')
      assert.equal(await refusal({}, { dir }), `Invalid configuration: ${file('local.json')}: not valid JSON`)
      local('[]')
      assert.equal(
        await refusal({}, { dir }),
        `Invalid configuration: ${file('local.json')}: not a JSON object of settings`
      )
    })

    it('local.json and local-<NODE_ENV>.json come after default.json and <NODE_ENV>.json', async () => {
      local('{"port": 4001, "logLevel": "debug"}')
      writeFileSync(file('local-test.json'), '{"port": 4002}')
      const settings = await loadConfiguration({ env: { NODE_ENV: 'test' }, dir })
      assert.deepEqual([settings.port, settings.logLevel], [4002, 'debug'])
    })

    it('a variable mapped to a setting the schema does not declare is refused', async () => {
      const mapping = JSON.parse(readFileSync(file('custom-environment-variables.json'), 'utf8'))
      writeFileSync(
        file('custom-environment-variables.json'),
        JSON.stringify({ ...mapping, colour: 'COLOUR' })
      )
      assert.equal((await load({}, { dir })).port, 3030)
      assert.equal(
        await refusal({ COLOUR: 'blue' }, { dir }),
        `Invalid configuration: colour: not a setting ("blue" in COLOUR); allowed here: ${TOP_LEVEL}`
      )
    })
  })

  it('production refuses the development secret and short secrets', async () => {
    const production = { NODE_ENV: 'production', DATABASE_URL: 'postgres://api@db.internal:5432/healthcare' }
    assert.equal(
      await refusal(production),
      'Invalid configuration: authentication.secret: set JWT_SECRET to a secret of at least 32 bytes in production (now: the development secret, from config/default.json)'
    )
    assert.equal(
      await refusal({ ...production, JWT_SECRET: 'too-short' }),
      'Invalid configuration: authentication.secret: set JWT_SECRET to a secret of at least 32 bytes in production (now: 9 bytes, from JWT_SECRET)'
    )
    const strong = 'x'.repeat(32)
    assert.equal((await load({ ...production, JWT_SECRET: strong })).authentication.secret, strong)
    // Elsewhere the development secret is what it says.
    assert.equal((await load({})).authentication.secret, DEVELOPMENT_SECRET)
    const settings = await loadConfiguration()
    assert.equal(
      (await checkConfiguration(settings, 'development')).authentication.secret,
      settings.authentication.secret
    )
  })

  it('production refuses to start without DATABASE_URL: the embedded PostgreSQL is for development', async () => {
    const secret = { JWT_SECRET: 'x'.repeat(32) }
    assert.equal(
      await refusal({ NODE_ENV: 'production', ...secret }),
      'Invalid configuration: database.url: set DATABASE_URL in production; the embedded PostgreSQL is for development'
    )
    const url = 'postgres://api@db.internal:5432/healthcare'
    assert.equal((await load({ NODE_ENV: 'production', DATABASE_URL: url, ...secret })).database.url, url)
    assert.equal((await load(secret)).database.url, undefined)
  })

  it('migrate needs only the database: no JWT secret in production', async () => {
    const url = 'postgres://api@db.internal:5432/healthcare'
    const settings = await load({ NODE_ENV: 'production', DATABASE_URL: url }, { purpose: 'migrate' })
    assert.equal(settings.database.url, url)
    assert.equal(
      await load({ NODE_ENV: 'production' }, { purpose: 'migrate' }).then(
        () => 'accepted',
        (error: Error) => error.message
      ),
      'Invalid configuration: database.url: set DATABASE_URL in production; the embedded PostgreSQL is for development'
    )
  })

  it('both token lifetimes are settings, from JWT_EXPIRES_IN and REFRESH_TOKEN_EXPIRES_IN, checked at start', async () => {
    const lifetimes = async (access: string, refresh: string) => {
      const settings = await load({ JWT_EXPIRES_IN: access, REFRESH_TOKEN_EXPIRES_IN: refresh })
      return [settings.authentication.jwtOptions.expiresIn, settings.authentication.refresh.expiresIn]
    }
    assert.deepEqual((await lifetimes('3s', '1h')).map(durationSeconds), [3, 3600])
    assert.deepEqual(['15m', '30d', '2h', 900].map(durationSeconds), [900, 2_592_000, 7200, 900])
    const inFile = await load({ NODE_CONFIG: '{"authentication": {"refresh": {"expiresIn": 3600}}}' })
    assert.equal(inFile.authentication.refresh.expiresIn, 3600)
    // A string without a unit would be milliseconds to jsonwebtoken: refused, as is anything else.
    for (const [access, refresh] of [
      ['900', '30d'],
      ['15m', '2592000'],
      ['15 minutes', '30d'],
      ['15m', '0d'],
      ['15m', '-1d']
    ]) {
      assert.match(
        await refusal({ JWT_EXPIRES_IN: access, REFRESH_TOKEN_EXPIRES_IN: refresh }),
        /^Invalid configuration: authentication\.(jwtOptions|refresh)\.expiresIn: (JWT_EXPIRES_IN|REFRESH_TOKEN_EXPIRES_IN)="[^"]*" is refused; allowed: whole seconds/,
        `${access}, ${refresh}`
      )
    }
  })

  describe('the entry points print the line alone on stderr and exit with 1', function () {
    this.timeout(60_000)
    /** `command` run as npm runs it, with the test's environment but `env`; its exit code and output. */
    const run = (entry: string, env: NodeJS.ProcessEnv) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, ['--require', 'tsx/cjs', entry], {
          cwd: ROOT,
          env: { ...process.env, ...env }
        })
        let [stdout, stderr] = ['', '']
        child.stdout.on('data', (chunk) => (stdout += chunk))
        child.stderr.on('data', (chunk) => (stderr += chunk))
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
        child.on('close', (code) => {
          clearTimeout(timer)
          resolve({ code, stdout, stderr })
        })
      })

    const cases: [string, string, NodeJS.ProcessEnv, string][] = [
      [
        'npm start, npm run dev',
        'src/index.ts',
        { CORS_ORIGINS: 'http://a.example/' },
        'Could not start the server: Invalid configuration: origins: CORS_ORIGINS="http://a.example/" is refused; allowed: origins as a browser sends them (https://app.example.org, http://localhost:8080: no path, no trailing slash), comma-separated or a JSON array'
      ],
      [
        'npm start, npm run dev',
        'src/index.ts',
        { NODE_CONFIG: '{bad' },
        `Could not start the server: Invalid configuration: NODE_CONFIG: not a JSON object; allowed: settings as JSON, e.g. NODE_CONFIG='{"port":3031}'`
      ],
      [
        'npm run migrate',
        'src/database/migrate.ts',
        { LOG_LEVEL: 'loud' },
        'Migration failed: Invalid configuration: logLevel: LOG_LEVEL="loud" is refused; allowed: debug, info, warn, error, silent'
      ],
      [
        'npm run seed',
        'src/seed/index.ts',
        { TRUST_PROXY: 'on' },
        'Seeding failed: Invalid configuration: http.trustProxy: TRUST_PROXY="on" is refused; allowed: true or false (also 1 or 0, yes or no)'
      ]
    ]
    // All at once: each child spends its time loading the app through tsx.
    let results: Awaited<ReturnType<typeof run>>[]
    before(async () => {
      results = await Promise.all(cases.map(([, entry, env]) => run(entry, env)))
    })
    cases.forEach(([command, , env, line], index) => {
      it(`${command}: ${Object.entries(env).map(([name, value]) => `${name}=${value}`)}`, () => {
        const { code, stdout, stderr } = results[index]
        assert.equal(code, 1, stderr)
        assert.equal(stderr, `${line}\n`)
        assert.equal(stdout, '')
      })
    })
  })
})
