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
 * The app's one Redis client (node-redis): the login throttle's counts and the events' publisher.
 * It connects when the event sync starts (feathers-sync connects the client it is given and gives
 * its duplicate, the subscriber, the same listeners).
 */
export async function createRedis(url: string): Promise<RedisClient> {
  const { createClient } = await import('redis')
  const client = createClient({ url })
  const outages = outageLog(
    'Redis unreachable: events wait and logins are refused until it is back',
    'Redis connected again'
  )
  client.on('error', outages.failed)
  client.on('ready', outages.recovered)
  return client
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
