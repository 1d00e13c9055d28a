// The fuzz test's randomness: one seed for a run (FUZZ_SEED replays another), and from it one
// generator per class of cases, so that each class is the same whatever ran before it.

const DEFAULT_SEED = 20261130

function seedFromEnvironment() {
  const text = process.env.FUZZ_SEED
  if (!text) {
    return DEFAULT_SEED
  }
  const seed = Number(text)
  if (!Number.isSafeInteger(seed)) {
    throw new Error(`FUZZ_SEED must be an integer, not '${text}'`)
  }
  return seed >>> 0
}

export const SEED = seedFromEnvironment()
export const REST_RANDOM_CASES = 300
export const SOCKET_RANDOM_CASES = 240
export const ACK_TIMEOUT_MS = 3000
export const REST_TIMEOUT_MS = 10_000
/**
 * An error names what was wrong, but a few bytes of input must not buy megabytes of answer (ajv with
 * allErrors lists every unknown key): no error answer may be larger than this.
 */
export const MAX_ERROR_BYTES = 64 * 1024
/** FUZZ_TRACE=1 prints every call and the start of its answer. */
export const TRACE = process.env.FUZZ_TRACE === '1'

/** mulberry32: small, fast and good enough to pick hostile pieces reproducibly. */
export class Random {
  private state: number

  constructor(seed: number) {
    this.state = seed >>> 0
  }

  next() {
    this.state = (this.state + 0x6d2b79f5) >>> 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  int(below: number) {
    return Math.floor(this.next() * below)
  }

  chance(probability: number) {
    return this.next() < probability
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]
  }

  /** 1 to `max` picks. */
  some<T>(items: readonly T[], max: number): T[] {
    return Array.from({ length: 1 + this.int(max) }, () => this.pick(items))
  }
}

export const range = (length: number) => Array.from({ length }, (_, index) => index)

/** The seed of one class of cases: the run's seed and the class's name, hashed (FNV-1a). */
export function seedFor(name: string): number {
  let hash = 0x811c9dc5 ^ SEED
  for (const char of name) {
    hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193)
  }
  return hash >>> 0
}

/** The generator of one class of cases. */
export const randomFor = (name: string) => new Random(seedFor(name))
