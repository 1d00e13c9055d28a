import { createClient } from 'redis'
import { logger } from './logger'

export type RedisClient = ReturnType<typeof createClient>

/** What one deployment keeps in a Redis that others may use too: its keys and channels start with `namespace`. */
export interface SharedRedis {
  client: RedisClient
  namespace: string
}

export const redisNamespace = (deploymentId: string) => `healthcare-api:${deploymentId}`

/** One line when Redis goes away and one when it is back, not one per reconnection attempt. */
function outageLog() {
  let down = false
  return {
    onError(error: unknown) {
      if (!down) {
        down = true
        logger.error({ err: error }, 'Redis unreachable: events wait and logins are refused until it is back')
      }
    },
    onReady() {
      if (down) {
        down = false
        logger.info('Redis connected again')
      }
    }
  }
}

/**
 * The app's one Redis client (node-redis): the login throttle's counts and the events' publisher.
 * It connects when the event sync starts (feathers-sync connects the client it is given and gives
 * its duplicate, the subscriber, the same listeners).
 */
export function createRedis(url: string): RedisClient {
  const client = createClient({ url })
  const outages = outageLog()
  client.on('error', outages.onError)
  client.on('ready', outages.onReady)
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
