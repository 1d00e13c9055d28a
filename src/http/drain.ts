import { Unavailable } from '@feathersjs/errors'
import type { Middleware } from '@feathersjs/koa'

/**
 * Counts the requests being served and, once draining, refuses new ones (a request on a kept-alive
 * connection) with 503 and `Connection: close`, so SIGTERM can wait for exactly the in-flight ones.
 */
export class Drain {
  private inFlight = 0
  private draining = false
  private waiting: Array<() => void> = []

  get active() {
    return this.inFlight
  }

  get isDraining() {
    return this.draining
  }

  middleware(): Middleware {
    return async (ctx, next) => {
      this.inFlight++
      // Koa writes the response after the middleware returns: a request is done once it is sent,
      // the refusal below included.
      ctx.res.once('close', () => this.done())
      if (this.draining) {
        ctx.set('Connection', 'close')
        throw new Unavailable('The server is shutting down')
      }
      await next()
    }
  }

  private done() {
    this.inFlight--
    if (this.inFlight === 0) {
      this.waiting.splice(0).forEach((resolve) => resolve())
    }
  }

  /** Refuses new requests and resolves when the in-flight ones are answered. */
  drain(): Promise<void> {
    this.draining = true
    if (this.inFlight === 0) {
      return Promise.resolve()
    }
    return new Promise((resolve) => this.waiting.push(resolve))
  }
}
