import type { Application } from '../declarations'

const MAX_KEY_LENGTH = 256

/**
 * `compute` remembered for the most recent keys: each request's path is resolved on its way by
 * the method check, the `/api` aliases and the REST transport, and concurrent requests interleave.
 * A key whose computation throws is not remembered.
 */
export function rememberingRecent<A extends unknown[], V>(
  compute: (...args: A) => V,
  keyOf: (...args: A) => string,
  size = 1000
) {
  const recent = new Map<string, V>()
  const remembered = (...args: A): V => {
    const key = keyOf(...args)
    if (recent.has(key)) return recent.get(key) as V
    const value = compute(...args)
    // A path as long as a request line may be would make the remembered ones megabytes.
    if (key.length > MAX_KEY_LENGTH) return value
    if (recent.size >= size) recent.delete(recent.keys().next().value as string)
    recent.set(key, value)
    return value
  }
  return Object.assign(remembered, { forget: () => recent.clear() })
}

/**
 * `app.lookup` remembered for recent paths until a service is added or removed. Each caller gets
 * its own copy of the route's parameters: Socket.io hands them to the call as `params.route`.
 */
export const rememberedLookups = (app: Application) => {
  const lookup = app.lookup.bind(app)
  const remembered = rememberingRecent(lookup, (path) => path)
  app.lookup = (path: string) => {
    // A socket names its service with whatever it sends (42, null): the router finds nothing for it.
    if (typeof path !== 'string') return lookup(path)
    const found = remembered(path)
    return found && { ...found, params: { ...found.params } }
  }
  app.mixins.push(() => remembered.forget())
  const { unuse } = app
  app.unuse = function (this: Application, ...args: Parameters<Application['unuse']>) {
    remembered.forget()
    return unuse.apply(this, args)
  } as Application['unuse']
}
