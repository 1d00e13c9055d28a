// `npm run bench:session-ends`: how long the token of an ended session is still accepted by another
// instance. Two compiled instances (A and B) on one wiped database (BENCH_DATABASE_URL, or the
// embedded bench cluster): a user logs in on A, B serves the token (so it is verified and its user
// cached there), the user logs out on A, and B is asked again every millisecond until it answers
// 401. Measured from the logout's answer to B's first 401, twice:
//
// - B shares Redis with A (the end's entry on the events stream);
// - B has no Redis (the end reaches it only through its poll of the database, as when a message
//   is lost).
//
//   npm run bench:session-ends -- --rounds 50 --redis-url redis://127.0.0.1:6379
import { randomUUID } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { startBenchServer, startInstance } from './bench-server'

const { values: options } = parseArgs({
  options: {
    rounds: { type: 'string', default: '50' },
    'redis-url': { type: 'string', default: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' }
  }
})
const ROUNDS = Number(options.rounds)

async function call(base: string, method: string, path: string, body?: unknown, token?: string) {
  const response = await fetch(base + path, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  return { status: response.status, body: (await response.json()) as any }
}

const percentile = (sorted: number[], share: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil(share * sorted.length) - 1)]

/** ROUNDS logouts on `a`, each timed until `b` refuses the token. */
async function measure(a: string, b: string) {
  const email = `bench-${randomUUID()}@example.org`
  const password = 'benchmark-password'
  const user = (await call(a, 'POST', '/api/auth/register', { name: 'Bench', email, password })).body
  const times: number[] = []
  for (let round = 0; round < ROUNDS; round++) {
    const { accessToken } = (await call(a, 'POST', '/api/auth/login', { email, password })).body
    if ((await call(b, 'GET', `/users/${user.id}`, undefined, accessToken)).status !== 200) {
      throw new Error('B does not accept the token of an open session')
    }
    // A random pause, so that the logouts do not fall at the same moment of B's poll every round.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 600))
    const logout = await call(a, 'POST', '/api/auth/logout', undefined, accessToken)
    if (logout.status !== 200) throw new Error(`logout: ${logout.status}`)
    const since = performance.now()
    while ((await call(b, 'GET', `/users/${user.id}`, undefined, accessToken)).status !== 401) {
      if (performance.now() - since > 5000) throw new Error('B still accepts the token after 5 s')
      await new Promise((resolve) => setTimeout(resolve, 1))
    }
    times.push(performance.now() - since)
  }
  const sorted = [...times].sort((x, y) => x - y)
  const ms = (value: number) => value.toFixed(1)
  return `${ms(percentile(sorted, 0.5))} | ${ms(percentile(sorted, 0.9))} | ${ms(percentile(sorted, 0.99))} | ${ms(sorted[sorted.length - 1])} | ${sorted.length}`
}

async function main() {
  const redis = { REDIS_URL: options['redis-url'] }
  const a = await startBenchServer({ environment: redis })
  const shared = { DATABASE_URL: a.databaseUrl, JWT_SECRET: a.secret }
  const instances: Array<{ stop(): Promise<void> }> = [a]
  try {
    const withRedis = await startInstance({ environment: { ...shared, ...redis } })
    instances.push(withRedis)
    const withoutRedis = await startInstance({ environment: { ...shared, REDIS_URL: undefined } })
    instances.push(withoutRedis)
    console.log(
      `\nLogout on A, then B asked every millisecond until it answers 401 (${ROUNDS} rounds each):\n`
    )
    console.log(
      '| B learns of the end | p50 ms | p90 ms | p99 ms | max ms | rounds |\n|---|---|---|---|---|---|'
    )
    console.log(`| through Redis (the events stream) | ${await measure(a.url, withRedis.url)} |`)
    console.log(`| without Redis (its poll of the database) | ${await measure(a.url, withoutRedis.url)} |`)
  } finally {
    for (const instance of instances.reverse()) await instance.stop()
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
