import { createHash } from 'node:crypto'
import { FeathersError, Unavailable } from '@feathersjs/errors'
// Its files, not its entry, which loads every store it has (Redis among them): see rate-limiter-flexible.d.ts.
import RateLimiterMemory from 'rate-limiter-flexible/lib/RateLimiterMemory.js'
import RateLimiterRes from 'rate-limiter-flexible/lib/RateLimiterRes.js'
import type { RateLimiterAbstract, RateLimiterRedis } from 'rate-limiter-flexible'
import type { ApplicationConfiguration } from '../configuration'
import type { HookContext, NextFunction } from '../declarations'
import { fieldOf } from '../errors'
import { clientAddress } from '../hooks/audit-trail'
import { logger } from '../logger'
import { normalisedEmail } from '../declarative/fields'
import type { RedisClient } from '../database/redis'

export type ThrottleSettings = ApplicationConfiguration['loginThrottle']

export class TooManyRequests extends FeathersError {
  constructor(retryAfterSeconds: number) {
    super('Too many failed logins, try again later', 'TooManyRequests', 429, 'too-many-requests', {
      retryAfter: retryAfterSeconds
    })
  }
}

/** Attempts per key in fixed windows that start with the key's first attempt. */
export interface LoginLimiters {
  email: RateLimiterAbstract
  ip: RateLimiterAbstract
}

/**
 * The limiters of one deployment: in this process, or in Redis under the deployment's namespace,
 * shared by its instances only. Each attempt is reserved with one atomic increment, so no number
 * of simultaneous guesses can get past the limit.
 */
export function loginLimiters(
  settings: ThrottleSettings,
  redis?: { client: RedisClient; namespace: string; RateLimiterRedis: typeof RateLimiterRedis }
): LoginLimiters {
  const limiter = (kind: 'email' | 'ip', points: number) => {
    const options = { points, duration: settings.windowSeconds, keyPrefix: `login-${kind}` }
    if (!redis) {
      return new RateLimiterMemory(options)
    }
    return new redis.RateLimiterRedis({
      ...options,
      keyPrefix: `${redis.namespace}:login-${kind}`,
      storeClient: redis.client,
      useRedisPackage: true,
      // While Redis is away a login is refused at once (503) instead of waiting for it.
      rejectIfRedisNotReady: true
    })
  }
  return {
    email: limiter('email', settings.maxFailuresPerEmail),
    ip: limiter('ip', settings.maxFailuresPerIp)
  }
}

/**
 * Emails are personal data: the keys hold a digest of the address as the login looks it up. Any
 * length is counted: an address too long to exist is still a guess at the one it contains.
 */
const emailKey = (email: string) => createHash('sha256').update(normalisedEmail(email)).digest('base64url')

/** The throttle is a guard: when its counts cannot be kept, logins wait (503). */
function unavailable(error: unknown): never {
  logger.error({ err: error }, 'Login throttle unavailable')
  throw new Unavailable('Login is temporarily unavailable')
}

interface Reservation {
  limiter: RateLimiterAbstract
  key: string
}

/** Reserves one attempt on each key, in order; none is kept when one of them is at its limit. */
async function reserve(reservations: Reservation[]) {
  const reserved: Reservation[] = []
  for (const reservation of reservations) {
    try {
      await reservation.limiter.consume(reservation.key)
      reserved.push(reservation)
    } catch (rejection) {
      await release(reserved)
      if (rejection instanceof RateLimiterRes) {
        throw new TooManyRequests(Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)))
      }
      unavailable(rejection)
    }
  }
}

/** Gives reserved attempts back: they turned out not to be failed guesses. */
async function release(reservations: Reservation[]) {
  await Promise.all(reservations.map(({ limiter, key }) => limiter.reward(key))).catch(unavailable)
}

/**
 * Around hook for `authentication.create` with the local strategy. Every attempt first reserves
 * one try for its email and one for its address; once `maxFailuresPerEmail` or `maxFailuresPerIp`
 * tries are held within `windowSeconds`, further attempts are refused with 429 and `Retry-After`
 * before any password is checked. A failed login (401) keeps its tries; any other outcome gives
 * them back, and a successful login also clears its email's count (not its address's: an attacker
 * could otherwise reset it with an account of their own).
 */
export const loginThrottle =
  (limiters: LoginLimiters) => async (context: HookContext, next: NextFunction) => {
    const data = context.data as Record<string, unknown> | undefined
    if (data?.strategy !== 'local') {
      return next()
    }
    const email = typeof data.email === 'string' ? emailKey(data.email) : undefined
    const ip = clientAddress(context.params.ip)
    const reservations: Reservation[] = [
      ...(email ? [{ limiter: limiters.email, key: email }] : []),
      ...(ip ? [{ limiter: limiters.ip, key: ip }] : [])
    ]
    await reserve(reservations)
    try {
      await next()
    } catch (error) {
      if (fieldOf(error, 'code') !== 401) {
        await release(reservations)
      }
      throw error
    }
    await release(reservations.filter(({ limiter }) => limiter === limiters.ip))
    if (email) {
      await limiters.email.delete(email).catch(unavailable)
    }
  }

declare module '../declarations' {
  interface Configuration {
    loginLimiters: LoginLimiters
  }
}
