// The server's process: what it loads. Each test runs the server as a child process.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import type { ChildProcessWithoutNullStreams } from 'node:child_process'
import { once } from 'node:events'
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

describe('the server process', function () {
  this.timeout(90_000)

  it('loads no Redis code without REDIS_URL: not the redis client, not feathers-sync, not the Redis login limiter', async () => {
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
    for (const name of [
      'redis',
      '@redis/client',
      'feathers-sync',
      'rate-limiter-flexible/lib/RateLimiterRedis.js'
    ]) {
      assert.ok(withRedis.includes(name), `${name} in ${withRedis}`)
    }
  })
})
