// rate-limiter-flexible's entry loads every store it has (Redis, Mongo, MySQL, …). The app loads the
// files of the limiters it uses instead: the memory one always, the Redis one only with REDIS_URL
// (see `loadRedis` in src/app.ts). The package has no exports map, so its files can be loaded by
// path; typed here as the package types its classes. Should it move them, loading fails at start
// (and with it every test), and test/lifecycle.test.ts checks which of them are loaded.
declare module 'rate-limiter-flexible/lib/RateLimiterMemory.js' {
  import { RateLimiterMemory } from 'rate-limiter-flexible'
  export = RateLimiterMemory
}
declare module 'rate-limiter-flexible/lib/RateLimiterRedis.js' {
  import { RateLimiterRedis } from 'rate-limiter-flexible'
  export = RateLimiterRedis
}
declare module 'rate-limiter-flexible/lib/RateLimiterRes.js' {
  import { RateLimiterRes } from 'rate-limiter-flexible'
  export = RateLimiterRes
}
