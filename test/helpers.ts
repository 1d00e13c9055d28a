import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import net from 'node:net'
import type { ApplicationConfiguration } from '../src/configuration'
import { logger, redirectLogs } from '../src/logger'
import type { LogLevel } from '../src/logger'
import { startServer } from '../src/server'
import type { RunningServer, ServerOptions } from '../src/server'
import { BACKGROUND } from '../src/auth/sessions/store'
import { resources } from '../src/services'
import { testContext } from './setup'

export interface Reply<T = any> {
  status: number
  body: T
  headers: Headers
}

export interface RequestOptions {
  body?: unknown
  /** Sent as is: for malformed or oversized bodies. */
  rawBody?: string
  token?: string
  headers?: Record<string, string>
  /** Another server than the shared test server, e.g. one started with other settings. */
  baseUrl?: string
}

export function baseUrl() {
  return testContext().server.url
}

/** One HTTP request against the listening test server. */
export async function http<T = any>(
  method: string,
  path: string,
  options: RequestOptions = {}
): Promise<Reply<T>> {
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers }
  if (options.body !== undefined || options.rawBody !== undefined) {
    headers['content-type'] ??= 'application/json'
  }
  if (options.token) {
    headers.authorization = `Bearer ${options.token}`
  }
  const response = await fetch((options.baseUrl ?? baseUrl()) + path, {
    method,
    headers,
    body: options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body))
  })
  const text = await response.text()
  let body: any = text
  try {
    body = text ? JSON.parse(text) : undefined
  } catch {
    // not JSON: leave the text for the assertion to show
  }
  return { status: response.status, body, headers: response.headers }
}

export const uniqueEmail = (label = 'user') => `${label}-${randomUUID()}@example.org`

export interface TestUser {
  id: string
  name: string
  email: string
  password: string
  /** The access token of the login. */
  token: string
  refreshToken: string
  /** The session the login opened. */
  sessionId: string
}

/** A login's tokens and session. */
export interface TestLogin {
  token: string
  refreshToken: string
  sessionId: string
}

/** Logs `user` in again (on `baseUrl`, if given): another session. */
export async function logIn(user: { email: string; password: string }, baseUrl?: string): Promise<TestLogin> {
  const login = await http('POST', '/api/auth/login', {
    body: { email: user.email, password: user.password },
    baseUrl
  })
  assert.equal(login.status, 201, JSON.stringify(login.body))
  return {
    token: login.body.accessToken,
    refreshToken: login.body.refreshToken,
    sessionId: login.body.authentication.payload.sid
  }
}

/** Registers and logs in a fresh user through the documented routes (of `baseUrl`, if given). */
export async function signUp(name = 'Dr. Test', baseUrl?: string): Promise<TestUser> {
  const email = uniqueEmail()
  const password = 'correct horse battery'
  const registered = await http('POST', '/api/auth/register', { body: { name, email, password }, baseUrl })
  assert.equal(registered.status, 201, JSON.stringify(registered.body))
  const login = await logIn({ email, password }, baseUrl)
  return { id: registered.body.id, name, email, password, ...login }
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
export const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

/** Asserts a Feathers JSON error with this status and class name. */
export function assertError(reply: Reply, code: number, name: string) {
  assert.equal(reply.status, code, JSON.stringify(reply.body))
  assert.equal(reply.body.code, code)
  assert.equal(reply.body.name, name)
  assert.equal(typeof reply.body.message, 'string')
  assertNoLeak(reply.body)
}

/** The answer to anything unexpected: a bare 500, with nothing of what happened. */
export function assertBareServerError(reply: Reply) {
  assert.equal(reply.status, 500)
  assert.deepEqual(reply.body, {
    name: 'GeneralError',
    message: 'Internal Server Error',
    code: 500,
    className: 'general-error'
  })
}

/** No SQL, stack trace or file path in anything a client receives. */
export function assertNoLeak(body: unknown) {
  const text = JSON.stringify(body ?? '')
  assert.doesNotMatch(
    text,
    /\bselect\s.+\sfrom\b|\binsert into\b|\bupdate \S+ set\b|\bdelete from\b/i,
    'SQL in a response'
  )
  assert.doesNotMatch(
    text,
    /\bat .*\(.*:\d+:\d+\)|\/node_modules\/|\/src\/|\.ts:\d+/,
    'a stack or path in a response'
  )
}

/** Neither the password nor its hash, anywhere in a payload. */
export function assertNoSecret(body: unknown, password?: string) {
  const text = JSON.stringify(body ?? '')
  assert.ok(!text.includes('"password"'), 'a password field in a response')
  assert.ok(!text.includes('$argon2'), 'a password hash in a response')
  if (password) {
    assert.ok(!text.includes(password), 'the plain password in a response')
  }
}

export const validPatient = (overrides: Record<string, unknown> = {}) => ({
  name: 'Jane Roe',
  age: 42,
  disease: 'Hypertension',
  ...overrides
})

export const validDoctor = (overrides: Record<string, unknown> = {}) => ({
  name: 'Dr. Gregory House',
  age: 50,
  specialty: 'Diagnostics',
  ...overrides
})

/** Creates a record through the documented route and returns it. */
export async function created<T = any>(path: string, user: TestUser, body: unknown): Promise<T> {
  const reply = await http('POST', path, { token: user.token, body })
  assert.equal(reply.status, 201, JSON.stringify(reply.body))
  return reply.body
}

/** The running app's own database connection, for reading or arranging rows behind the API. */
export const testDatabase = () => testContext().server.app.get('postgresqlClient')

const WRITES = ['create', 'update', 'patch', 'remove']

/**
 * The tables of the declared resources a client writes to: where a refused request must leave
 * every row as it was (the audit trail, written by every call, is not one of them).
 */
export const tablesClientsWrite = () =>
  resources
    .filter(({ methods }) => methods.some((method) => WRITES.includes(method)))
    .map(({ table }) => table)

/** Rows in a table, read directly: to prove that a rejected request changed nothing. */
export async function countRows(table: string, where: Record<string, unknown> = {}) {
  const [{ count }] = await testDatabase()(table).where(where).count({ count: '*' })
  return Number(count)
}

/** The SQL of every statement the app sends for `action` while it runs, in order. */
export async function statementsDuring(action: () => Promise<unknown>): Promise<string[]> {
  const db = testDatabase()
  const statements: string[] = []
  // The sessions' poll runs every 500 ms whatever the test does: not a statement of the action.
  const onQuery = ({ sql }: { sql: string }) => sql.startsWith(BACKGROUND) || statements.push(sql)
  db.on('query', onQuery)
  try {
    await action()
  } finally {
    db.off('query', onQuery)
  }
  return statements
}

/** A database of its own beside the test database, on the same PostgreSQL; `drop` removes it. */
export async function createScratchDatabase() {
  const url = new URL(testContext().settings.database.url ?? testContext().database.connectionString)
  const name = `scratch_${randomUUID().replace(/-/g, '')}`
  const admin = testDatabase()
  await admin.raw(`CREATE DATABASE ${name}`)
  url.pathname = `/${name}`
  return { url: url.toString(), drop: () => admin.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) }
}

/**
 * Another deployment: a server with `settings` (and `options`) on a scratch database of its own,
 * dropped by `stop`.
 */
export async function startOtherDeployment(
  settings: ApplicationConfiguration,
  options: ServerOptions = {}
): Promise<RunningServer> {
  const database = await createScratchDatabase()
  try {
    const server = await startServer(
      { ...settings, database: { ...settings.database, url: database.url } },
      options
    )
    return {
      ...server,
      stop: async () => {
        await server.stop()
        await database.drop()
      }
    }
  } catch (error) {
    await database.drop()
    throw error
  }
}

export interface CapturedOutput {
  /** The log lines, parsed (every one must be JSON). */
  lines: Record<string, any>[]
  /** Everything written meanwhile: the log lines as written, and whatever else reached stdout or stderr. */
  text: string
}

/**
 * Runs `fn` with the logger at `level` (`info` by default) and returns what was written meanwhile,
 * by every app of this process: the logger's lines (its destination swapped for the capture,
 * written synchronously) and anything written to process.stdout or process.stderr.
 */
export async function captureOutput(
  fn: () => Promise<void>,
  level: LogLevel = 'info'
): Promise<CapturedOutput> {
  const logged: string[] = []
  const other: string[] = []
  const streams = [process.stdout, process.stderr]
  const originals = streams.map((stream) => stream.write)
  const previousLevel = logger.level
  const restore = redirectLogs({ write: (line: string) => void logged.push(line) })
  streams.forEach((stream) => {
    stream.write = ((chunk: string | Uint8Array) => {
      other.push(String(chunk))
      return true
    }) as typeof stream.write
  })
  logger.level = level
  try {
    await fn()
  } finally {
    restore()
    streams.forEach((stream, index) => (stream.write = originals[index]))
    logger.level = previousLevel
  }
  const text = logged.join('') + other.join('')
  const lines = logged
    .flatMap((chunk) => chunk.split('\n'))
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line))
  return { lines, text }
}

/** The log lines written while `fn` runs, parsed (see `captureOutput`). */
export async function captureLogs(
  fn: () => Promise<void>,
  level: LogLevel = 'info'
): Promise<Record<string, any>[]> {
  return (await captureOutput(fn, level)).lines
}

/** Sends raw bytes and resolves with everything the server answers until it closes the connection. */
export function rawExchange(
  url: string,
  send: (socket: net.Socket) => void
): Promise<{ text: string; ms: number }> {
  const { hostname, port } = new URL(url)
  const started = Date.now()
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => send(socket))
    let text = ''
    socket.on('data', (chunk) => (text += chunk))
    socket.on('error', reject)
    socket.on('close', () => resolve({ text, ms: Date.now() - started }))
  })
}
