// Types only: the redis package is loaded by `createRedis`, which runs only with REDIS_URL.
import type { createClient } from 'redis'
import { outageLog } from '../logger'

export type RedisClient = ReturnType<typeof createClient>

/** What one deployment keeps in a Redis that others may use too: its keys and channels start with `namespace`. */
export interface SharedRedis {
  client: RedisClient
  namespace: string
}

export const redisNamespace = (deploymentId: string) => `healthcare-api:${deploymentId}`

/**
 * The app's one Redis client (node-redis) for the login throttle's counts. It connects when the
 * event sync starts, which opens connections of its own beside it (`dedicatedRedis`).
 */
export async function createRedis(url: string): Promise<RedisClient> {
  const { createClient } = await import('redis')
  const client = createClient({ url })
  const outages = outageLog('Redis unreachable: logins are refused until it is back', 'Redis connected again')
  client.on('error', outages.failed)
  client.on('ready', outages.recovered)
  return client
}

/**
 * After an outage, tries again at 50 ms, doubling up to 1 s, with up to 100 ms of jitter so that
 * instances do not all arrive at once (node-redis's default waits up to 2.2 s).
 */
const reconnectStrategy = (retries: number) =>
  Math.min(50 * 2 ** retries, 1000) + Math.floor(Math.random() * 100)

/**
 * A connection of its own to the server of `client` (a blocking read needs one), named `name` in
 * CLIENT LIST. While disconnected a command fails at once instead of waiting in node-redis's
 * unbounded offline queue: its user keeps a bounded queue of its own.
 */
export function dedicatedRedis(client: RedisClient, name: string): RedisClient {
  return client.duplicate({ name, disableOfflineQueue: true, socket: { reconnectStrategy } })
}

export async function closeRedis(client: RedisClient) {
  try {
    if (client.isOpen) {
      await client.close()
    } else {
      client.destroy()
    }
  } catch {
    // already closed
  }
}
