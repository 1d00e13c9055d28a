import { FeathersError, Unavailable } from '@feathersjs/errors'
import { Redis } from 'ioredis'
import type { ApplicationConfiguration } from './configuration'
import type { HookContext, NextFunction } from './declarations'
import { clientAddress } from './hooks/audit'
import { describeError, logger } from './logger'

export type ThrottleSettings = ApplicationConfiguration['loginThrottle']

export class TooManyRequests extends FeathersError {
  constructor(retryAfterSeconds: number) {
    super('Too many failed logins, try again later', 'TooManyRequests', 429, 'too-many-requests', {
      retryAfter: retryAfterSeconds
    })
  }
}

interface Window {
  failures: number
  /** Seconds until the window ends and the count starts over. */
  secondsLeft: number
}

/** Failure counts in fixed windows that start with a key's first failure. */
export interface FailureStore {
  read(keys: string[]): Promise<Window[]>
  fail(keys: string[], windowSeconds: number): Promise<void>
  forget(key: string): Promise<void>
  close(): Promise<void>
}

const MAX_MEMORY_KEYS = 100_000

/** For one instance: counts live in this process. */
export class MemoryFailureStore implements FailureStore {
  private windows = new Map<string, { failures: number; endsAt: number }>()

  private current(key: string, now = Date.now()) {
    const window = this.windows.get(key)
    if (window && window.endsAt <= now) {
      this.windows.delete(key)
      return undefined
    }
    return window
  }

  private sweep(now: number) {
    for (const [key, window] of this.windows) {
      if (window.endsAt <= now) this.windows.delete(key)
    }
  }

  async read(keys: string[]) {
    const now = Date.now()
    return keys.map((key) => {
      const window = this.current(key, now)
      return { failures: window?.failures ?? 0, secondsLeft: window ? Math.ceil((window.endsAt - now) / 1000) : 0 }
    })
  }

  async fail(keys: string[], windowSeconds: number) {
    const now = Date.now()
    if (this.windows.size > MAX_MEMORY_KEYS) this.sweep(now)
    for (const key of keys) {
      const window = this.current(key, now)
      if (window) window.failures++
      else this.windows.set(key, { failures: 1, endsAt: now + windowSeconds * 1000 })
    }
  }

  async forget(key: string) {
    this.windows.delete(key)
  }

  async close() {
    this.windows.clear()
  }
}

/** Shared by every instance that uses the same Redis and key prefix. */
export class RedisFailureStore implements FailureStore {
  private redis: Redis

  constructor(url: string, keyPrefix: string) {
    // A login waits at most one reconnection attempt for Redis rather than queueing forever.
    this.redis = new Redis(url, { keyPrefix, maxRetriesPerRequest: 1, lazyConnect: true })
    this.redis.on('error', (error) => logger.warn('Redis (login throttle) error', describeError(error)))
  }

  async read(keys: string[]) {
    const pipeline = this.redis.pipeline()
    for (const key of keys) pipeline.get(key).pttl(key)
    const replies = (await pipeline.exec()) ?? []
    return keys.map((_key, index) => {
      const [[countError, count], [ttlError, ttl]] = replies.slice(index * 2, index * 2 + 2)
      if (countError || ttlError) throw countError ?? ttlError
      return { failures: Number(count ?? 0), secondsLeft: Math.max(0, Math.ceil(Number(ttl) / 1000)) }
    })
  }

  async fail(keys: string[], windowSeconds: number) {
    const transaction = this.redis.multi()
    for (const key of keys) transaction.incr(key).expire(key, windowSeconds, 'NX')
    await transaction.exec()
  }

  async forget(key: string) {
    await this.redis.del(key)
  }

  async close() {
    await this.redis.quit().catch(() => this.redis.disconnect())
  }
}

export const failureStoreFor = (redisUrl: string | undefined, settings: ThrottleSettings): FailureStore =>
  redisUrl ? new RedisFailureStore(redisUrl, settings.keyPrefix) : new MemoryFailureStore()

const emailKey = (email: string) => `email:${email.trim().toLowerCase()}`
const ipKey = (ip: string) => `ip:${ip}`

/** The throttle itself is a guard: when its counts cannot be read, logins wait (503). */
async function guarded<T>(step: Promise<T>): Promise<T> {
  try {
    return await step
  } catch (error) {
    logger.error('Login throttle unavailable', describeError(error))
    throw new Unavailable('Login is temporarily unavailable')
  }
}

/**
 * Around hook for `authentication.create` with the local strategy: after `maxFailuresPerEmail`
 * failed logins for one email, or `maxFailuresPerIp` from one address, within `windowSeconds`,
 * further attempts are refused with 429 and `Retry-After` until the window ends. A successful
 * login clears its email's count (not its address's: an attacker could otherwise reset it with
 * an account of their own).
 */
export const loginThrottle = (store: FailureStore, settings: ThrottleSettings) =>
  async (context: HookContext, next: NextFunction) => {
    const data = context.data as Record<string, unknown> | undefined
    if (data?.strategy !== 'local') {
      return next()
    }
    const keys: string[] = []
    const limits: number[] = []
    if (typeof data.email === 'string' && data.email.length <= 320) {
      keys.push(emailKey(data.email))
      limits.push(settings.maxFailuresPerEmail)
    }
    const ip = clientAddress(context.params.ip)
    if (ip) {
      keys.push(ipKey(ip))
      limits.push(settings.maxFailuresPerIp)
    }
    const windows = await guarded(store.read(keys))
    const blocked = windows.filter((window, index) => window.failures >= limits[index])
    if (blocked.length) {
      throw new TooManyRequests(Math.max(1, ...blocked.map((window) => window.secondsLeft)))
    }
    try {
      await next()
    } catch (error: any) {
      if (error?.code === 401) {
        await guarded(store.fail(keys, settings.windowSeconds))
      }
      throw error
    }
    if (typeof data.email === 'string') {
      await guarded(store.forget(emailKey(data.email)))
    }
  }
