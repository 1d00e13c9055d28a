// The server's process: what it loads, and that it stops (and stops its embedded PostgreSQL) when
// it is told to, however the signal reaches it. Each test runs the server as a child process.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import type { ChildProcessWithoutNullStreams } from 'node:child_process'
import { once } from 'node:events'
import net from 'node:net'
import path from 'node:path'
import { testContext } from './setup'

const ROOT = path.join(__dirname, '..')

/** The environment of a child server: the test's, without Redis, logging its start and stop. */
function childEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { REDIS_URL: _redis, ...inherited } = process.env
  return { ...inherited, NODE_ENV: 'test', PORT: '0', LOG_LEVEL: 'info', ...env }
}

/** Everything the child writes, and a promise for the first line matching `pattern`. */
function output(child: ChildProcessWithoutNullStreams) {
  let text = ''
  const waiters: { pattern: RegExp; resolve: () => void }[] = []
  const append = (chunk: Buffer) => {
    text += chunk
    for (const waiter of waiters.filter(({ pattern }) => pattern.test(text))) waiter.resolve()
  }
  child.stdout.on('data', append)
  child.stderr.on('data', append)
  return {
    text: () => text,
    waitFor: (pattern: RegExp, ms: number) =>
      new Promise<void>((resolve, reject) => {
        if (pattern.test(text)) return resolve()
        const timer = setTimeout(() => reject(new Error(`No ${pattern} within ${ms} ms:\n${text}`)), ms)
        waiters.push({ pattern, resolve: () => (clearTimeout(timer), resolve()) })
      })
  }
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function gone(pid: number, ms: number) {
  for (const deadline = Date.now() + ms; Date.now() < deadline;) {
    if (!isAlive(pid)) return true
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return false
}

/** Whether something accepts connections on 127.0.0.1:`port`. */
function accepts(port: number) {
  return new Promise<boolean>((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    socket.once('connect', () => (socket.destroy(), resolve(true)))
    socket.once('error', () => resolve(false))
  })
}

async function freePort() {
  const server = net.createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as net.AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

describe('the server process', function () {
  this.timeout(90_000)

  it('loads no Redis code without REDIS_URL: not the redis client, not the Redis login limiter', async () => {
    const child = spawn(process.execPath, ['--require', 'tsx/cjs', 'test/fixtures/redis-modules.ts'], {
      cwd: ROOT,
      env: childEnvironment({ DATABASE_URL: testContext().database.connectionString, LOG_LEVEL: 'warn' })
    })
    const { text } = output(child)
    const [code] = await once(child, 'close')
    assert.equal(code, 0, text())
    const { started, withRedis } = JSON.parse(text().trim().split('\n').at(-1)!)
    assert.deepEqual(started, [])
    // What REDIS_URL loads, found under the names looked for.
    for (const name of ['redis', '@redis/client', 'rate-limiter-flexible/lib/RateLimiterRedis.js']) {
      assert.ok(withRedis.includes(name), `${name} in ${withRedis}`)
    }
  })

  it('Ctrl-C on `npm run dev` (SIGINT to the process group: npm, the watcher, the server) stops the server and its embedded PostgreSQL', async () => {
    // A cluster of its own, kept between runs (the first run initialises it), on a free port. Where
    // its data is may differ (as root, a folder the postgres user cannot reach is replaced): the
    // port says whether it runs.
    const port = await freePort()
    const { DATABASE_URL: _url, ...env } = childEnvironment({
      EMBEDDED_PG_DIR: path.join(ROOT, '.data', 'postgres-lifecycle'),
      EMBEDDED_PG_PORT: String(port)
    })
    const npm = spawn('npm', ['run', 'dev'], { cwd: ROOT, env, detached: true })
    const log = output(npm)
    try {
      await log.waitFor(/listening on http/, 80_000)
      assert.equal(await accepts(port), true, `PostgreSQL does not answer on ${port}:\n${log.text()}`)
      process.kill(-npm.pid!, 'SIGINT')
      const [code] = await once(npm, 'exit')
      assert.equal(code, 0, log.text())
      assert.match(log.text(), /SIGINT received, shutting down[\s\S]*Stopped/)
      assert.equal(await accepts(port), false, `PostgreSQL still answers on ${port}:\n${log.text()}`)
    } finally {
      if (isAlive(npm.pid!)) process.kill(-npm.pid!, 'SIGKILL')
    }
  })

  it('started by npm, it stops when npm is gone without passing a signal on (killed)', async () => {
    // A shell in npm's place: it starts the server, says its pid, and is killed.
    const launcher = spawn('sh', ['-c', 'node --require tsx/cjs src/index.ts & echo "server pid $!"; wait'], {
      cwd: ROOT,
      env: childEnvironment({
        DATABASE_URL: testContext().database.connectionString,
        npm_lifecycle_event: 'start'
      })
    })
    const log = output(launcher)
    await log.waitFor(/listening on http/, 60_000)
    const server = Number(/server pid (\d+)/.exec(log.text())![1])
    try {
      launcher.kill('SIGKILL')
      assert.ok(await gone(server, 15_000), `the server (pid ${server}) is still running:\n${log.text()}`)
      assert.match(
        log.text(),
        /The process that started the server \(pid \d+\) has exited, shutting down[\s\S]*Stopped/
      )
    } finally {
      if (isAlive(server)) process.kill(server, 'SIGKILL')
    }
  })
})
