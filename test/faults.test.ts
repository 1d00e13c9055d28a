import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import type { ChildProcessWithoutNullStreams } from 'node:child_process'
import http from 'node:http'
import net from 'node:net'
import path from 'node:path'
import socketio from '@feathersjs/socketio-client'
import { io } from 'socket.io-client'
import { createClient } from '../src/client'
import { startEmbeddedPostgres } from '../src/database/embedded-postgres'
import type { EmbeddedPostgres } from '../src/database/embedded-postgres'
import { startServer } from '../src/server'
import type { RunningServer } from '../src/server'
import { testContext } from './setup'
import { assertBareServerError, assertError, http as request, uniqueEmail, validPatient } from './helpers'

const ROOT = path.join(__dirname, '..')

function isFree(port: number) {
  return new Promise<boolean>((resolve) => {
    const probe = net.createServer()
    probe.once('error', () => resolve(false))
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)))
  })
}

async function freePort(from: number) {
  for (let port = from; port < from + 100; port++) {
    if (await isFree(port)) return port
  }
  throw new Error(`no free port in ${from}-${from + 99}`)
}

async function timed<T>(fn: () => Promise<T>) {
  const started = Date.now()
  const result = await fn()
  return { result, ms: Date.now() - started }
}

async function eventually(check: () => Promise<boolean>, ms: number) {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new Error(`not true within ${ms} ms`)
}

/** The postmaster of a cluster and its children (backends, writer, …). */
function clusterProcesses(dataDir: string) {
  const postmaster = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0])
  const children = spawnSync('ps', ['-o', 'pid=', '--ppid', String(postmaster)], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((line) => Number(line.trim()))
    .filter((pid) => pid > 0)
  return [postmaster, ...children]
}

/** The real entry point as a child process, on the test database and a free port. */
function spawnEntry(env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['-r', 'tsx/cjs', 'src/index.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_ENV: 'test',
      PORT: '0',
      LOG_LEVEL: 'info',
      DATABASE_URL: testContext().database.connectionString,
      ...env
    }
  })
  let output = ''
  child.stdout.on('data', (chunk) => (output += chunk))
  child.stderr.on('data', (chunk) => (output += chunk))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const listening = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start: ${output}`)), 30_000)
    child.stdout.on('data', () => {
      const match = /listening on (http:\/\/[\d.:]+)/.exec(output)
      if (match) {
        clearTimeout(timer)
        resolve(match[1])
      }
    })
  })
  return { child, exited, listening, output: () => output }
}

describe('faults', function () {
  this.timeout(120_000)

  describe('the database stops while the server runs', () => {
    const options = {
      dataDir: path.join(ROOT, '.data/postgres-faults-test'),
      port: 0,
      database: 'faults',
      log: () => undefined
    }
    let database: EmbeddedPostgres | undefined
    let server: RunningServer | undefined

    before(async () => {
      options.port = await freePort(41500)
      database = await startEmbeddedPostgres(options)
      const { settings } = testContext()
      const timeouts = { connectMs: 1000, acquireMs: 2000, statementMs: 1500, healthMs: 1000 }
      server = await startServer({
        ...settings,
        database: { ...settings.database, url: database.connectionString, timeouts }
      })
    })
    after(async () => {
      await server?.stop()
      await database?.stop()
    })

    it('answers 503 promptly, does not crash, and recovers without a restart when it is back', async () => {
      const baseUrl = server!.url
      const email = uniqueEmail()
      const password = 'correct horse battery'
      assert.equal(
        (await request('POST', '/api/auth/register', { baseUrl, body: { name: 'Faulty', email, password } }))
          .status,
        201
      )
      const login = await request('POST', '/api/auth/login', { baseUrl, body: { email, password } })
      const token = login.body.accessToken
      const patient = (await request('POST', '/api/patients', { baseUrl, token, body: validPatient() })).body
      assert.equal((await request('GET', `/api/patients/${patient.id}`, { baseUrl, token })).status, 200)

      await database!.stop()

      for (const [method, path, body] of [
        ['GET', '/health'],
        ['GET', `/api/patients/${patient.id}`],
        ['POST', '/api/patients', validPatient()],
        ['POST', '/api/auth/login', { email, password }]
      ] as const) {
        const { result, ms } = await timed(() => request(method, path, { baseUrl, token, body }))
        assertError(result, 503, 'Unavailable')
        assert.ok(ms < 4000, `${method} ${path} took ${ms} ms`)
      }
      assert.deepEqual((await request('GET', '/health', { baseUrl })).body, {
        name: 'Unavailable',
        message: 'Database unavailable',
        code: 503,
        className: 'unavailable'
      })

      database = await startEmbeddedPostgres(options)
      await eventually(async () => (await request('GET', '/health', { baseUrl })).status === 200, 15_000)
      assert.deepEqual((await request('GET', '/health', { baseUrl })).body, { status: 'ok' })
      const again = await request('GET', `/api/patients/${patient.id}`, { baseUrl, token })
      assert.equal(again.status, 200)
      assert.equal(again.body.id, patient.id)
      assert.equal(
        (await request('POST', '/api/auth/login', { baseUrl, body: { email, password } })).status,
        201
      )
    })

    it('a database that hangs (every process stopped): 503 within the timeouts, and normal service once it resumes', async () => {
      const baseUrl = server!.url
      const email = uniqueEmail()
      const password = 'correct horse battery'
      assert.equal(
        (await request('POST', '/api/auth/register', { baseUrl, body: { name: 'Hung', email, password } }))
          .status,
        201
      )
      const token = (await request('POST', '/api/auth/login', { baseUrl, body: { email, password } })).body
        .accessToken
      const patient = (await request('POST', '/api/patients', { baseUrl, token, body: validPatient() })).body
      assert.equal((await request('GET', `/api/patients/${patient.id}`, { baseUrl, token })).status, 200)

      const processes = clusterProcesses(database!.dataDir)
      processes.forEach((pid) => process.kill(pid, 'SIGSTOP'))
      try {
        // Health gives up after healthMs; a query on a pooled connection after statementMs + connectMs.
        for (const [path, limit] of [
          ['/health', 2500],
          [`/api/patients/${patient.id}`, 4500]
        ] as const) {
          const { result, ms } = await timed(() => request('GET', path, { baseUrl, token }))
          assertError(result, 503, 'Unavailable')
          assert.ok(ms < limit, `GET ${path} took ${ms} ms`)
        }
      } finally {
        processes.reverse().forEach((pid) => process.kill(pid, 'SIGCONT'))
      }
      await eventually(async () => (await request('GET', '/health', { baseUrl })).status === 200, 15_000)
      const again = await request('GET', `/api/patients/${patient.id}`, { baseUrl, token })
      assert.equal(again.status, 200, JSON.stringify(again.body))
      assert.equal(again.body.id, patient.id)
    })
  })

  describe('SIGTERM', () => {
    let entry: ReturnType<typeof spawnEntry> | undefined
    afterEach(() => {
      if (entry && entry.child.exitCode === null) entry.child.kill('SIGKILL')
    })

    it('finishes in-flight requests, refuses new ones, closes sockets and exits 0 within 10 s', async () => {
      entry = spawnEntry()
      const url = new URL(await entry.listening)
      const socket = io(url.origin, { transports: ['websocket'], forceNew: true, reconnection: false })
      const client = createClient(socketio(socket))
      await client
        .service('users')
        .create({ name: 'Socket', email: uniqueEmail(), password: 'long enough pass' })
      const socketClosed = new Promise((resolve) => socket.on('disconnect', resolve))

      // A registration whose body is still arriving when SIGTERM comes.
      const body = JSON.stringify({
        name: 'In flight',
        email: uniqueEmail('inflight'),
        password: 'correct horse battery'
      })
      const inFlight = http.request(url.origin + '/api/auth/register', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }
      })
      const answered = new Promise<{ status?: number; text: string }>((resolve, reject) => {
        inFlight.on('response', (response) => {
          let text = ''
          response.on('data', (chunk) => (text += chunk))
          response.on('end', () => resolve({ status: response.statusCode, text }))
        })
        inFlight.on('error', reject)
      })
      inFlight.write(body.slice(0, 10))
      await new Promise((resolve) => setTimeout(resolve, 300))

      const signalled = Date.now()
      entry.child.kill('SIGTERM')
      await eventually(async () => entry!.output().includes('SIGTERM received'), 5000)
      await new Promise((resolve) => setTimeout(resolve, 200))

      await assert.rejects(fetch(url.origin + '/health'), 'a new connection after SIGTERM was accepted')
      inFlight.end(body.slice(10))
      const reply = await answered.catch((error) => {
        throw new Error(`${error.message}; server output: ${entry!.output()}`)
      })
      assert.equal(reply.status, 201, reply.text)
      assert.equal(JSON.parse(reply.text).name, 'In flight')
      await socketClosed
      const code = await entry.exited
      assert.equal(code, 0, entry.output())
      assert.ok(Date.now() - signalled < 10_000, `exited after ${Date.now() - signalled} ms`)
      assert.match(entry.output(), /"msg":"Stopped"/)
    })
  })

  describe('draining', () => {
    it('answers the in-flight request and refuses the next one on the same connection with 503', async () => {
      const { settings } = testContext()
      const server = await startServer(settings)
      const stopped = { done: false }
      try {
        const body = JSON.stringify({
          name: 'In flight',
          email: uniqueEmail('drain'),
          password: 'correct horse battery'
        })
        const socket = net.connect(Number(new URL(server.url).port), '127.0.0.1')
        let text = ''
        socket.on('data', (chunk) => (text += chunk))
        const closed = new Promise((resolve) => socket.on('close', resolve))
        socket.write(
          `POST /api/auth/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 10)}`
        )
        await new Promise((resolve) => setTimeout(resolve, 300))
        const stopping = server.stop().then(() => (stopped.done = true))
        await new Promise((resolve) => setTimeout(resolve, 100))
        assert.equal(stopped.done, false, 'stop() did not wait for the in-flight request')
        // The rest of the body, then a second (pipelined) request on the same connection.
        socket.write(body.slice(10) + 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n')
        await stopping
        await closed
        const replies = text.split(/(?=HTTP\/1\.1 )/)
        assert.equal(replies.length, 2, text)
        assert.match(replies[0], /^HTTP\/1\.1 201 /)
        assert.match(replies[0], /"name":"In flight"/)
        assert.match(replies[1], /^HTTP\/1\.1 503 /)
        assert.match(replies[1], /\r\nConnection: close\r\n/i)
        assert.match(
          replies[1],
          /\{"name":"Unavailable","message":"The server is shutting down","code":503,"className":"unavailable"\}$/
        )
      } finally {
        await server.stop()
      }
    })
  })

  describe('errors in hooks', () => {
    it('a hook that throws is a 500 and the server keeps serving', async () => {
      const { app } = testContext().server
      app.use('fake-throwing-hook' as any, {
        async find() {
          return []
        }
      })
      app.service('fake-throwing-hook' as any).hooks({
        before: {
          find: [
            async () => {
              throw new TypeError("Cannot read properties of undefined (reading 'id')")
            }
          ]
        }
      })
      const reply = await request('GET', '/fake-throwing-hook')
      assertBareServerError(reply)
      assert.deepEqual((await request('GET', '/health')).body, { status: 'ok' })
    })

    it('an unhandled rejection in a hook does not kill the process', async () => {
      const child: ChildProcessWithoutNullStreams = spawn(
        process.execPath,
        ['-r', 'tsx/cjs', 'test/fixtures/rejecting-hook-server.ts'],
        {
          cwd: ROOT,
          env: { ...process.env, NODE_ENV: 'test', DATABASE_URL: testContext().database.connectionString }
        }
      )
      let output = ''
      child.stdout.on('data', (chunk) => (output += chunk))
      child.stderr.on('data', (chunk) => (output += chunk))
      const code = await new Promise((resolve) => child.on('exit', resolve))
      assert.equal(code, 0, output)
      assert.match(output, /STATUSES \[500,500,200\]/)
      assert.match(
        output,
        /"err":\{"type":"Error","message":"nobody handles this rejection".*"msg":"Unhandled rejection"/
      )
    })
  })
})
