import { BadRequest, MethodNotAllowed } from '@feathersjs/errors'
import { getServiceOptions } from '@feathersjs/feathers'
import type { FeathersKoaContext, Middleware } from '@feathersjs/koa'
import { http } from '@feathersjs/transport-commons'
import type { Application, ConditionHeader } from '../declarations'
import { fieldOf } from '../errors'
import type { AliasResolver } from './api-aliases'

/**
 * Which methods each path serves, from the registered services' `methods` and the `/api` alias
 * table, never from a list of its own: a 405 names them in `Allow` (RFC 9110 §15.5.6), an OPTIONS
 * answers them, and a conditional header that the method reached does not evaluate is refused
 * (RFC 9110 §13.1.1: a condition is never ignored). All of it before the request's body is read
 * or anything runs.
 */

/** The methods a path may serve; OPTIONS is answered (with `Allow`) wherever one of them is. */
const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const

/** Paths the app answers itself, outside the services (health, the API documentation): their methods. */
export type Pages = Readonly<Record<string, readonly string[]>>

/** What a served request reaches: the conditional headers it evaluates. */
export interface Target {
  conditions: readonly ConditionHeader[]
}

/** What `method` on `path` runs, or undefined where the path does not serve it (or is no path of ours). */
export type TargetOf = (path: string, method: string) => Target | undefined

const PAGE: Target = { conditions: [] }

/** What an adapter (AdapterBase) adds to a service: whether a method may change several records. */
interface MultiOption {
  allowsMulti(method: string): boolean
}

const hasMultiOption = (service: object): service is MultiOption =>
  typeof (service as Partial<MultiOption>).allowsMulti === 'function'

/** Whether a service answers `method` at its path without an id: adapters say so by their `multi`. */
function servedWithoutId(service: object, method: string, withoutId: readonly string[] = []) {
  if (method === 'find' || method === 'create') return true
  if (hasMultiOption(service)) return Boolean(service.allowsMulti(method))
  return withoutId.includes(method)
}

function serviceTarget(app: Application, path: string, httpMethod: string): Target | undefined {
  if (!(HTTP_METHODS as readonly string[]).includes(httpMethod)) return undefined
  const lookup = app.lookup(path)
  if (!lookup) return undefined
  const { service, params } = lookup
  // The transports register a record's route as `<path>/:__id`, so its id is `__id`: not
  // documented (test/unit/library-internals.test.ts checks it).
  const id: unknown = params.__id
  // HEAD is a GET without a body: `find` or `get` as well.
  const method = http.getServiceMethod(httpMethod, id ?? null)
  const options = getServiceOptions(service)
  if (!options.methods?.includes(method)) return undefined
  if (id === undefined && !servedWithoutId(service, method, options.methodsWithoutId)) return undefined
  // Feathers would run `create` for a POST to a record's path too, ignoring the id: not a route of ours.
  if (id !== undefined && method === 'create') return undefined
  return { conditions: options.conditions?.[method] ?? [] }
}

/** The targets of the app's paths: its pages, its services, and the `/api` routes that lead to them. */
export function targetsOf(app: Application, resolveAlias: AliasResolver, pages: Pages): TargetOf {
  return (path, method) => {
    if (Object.hasOwn(pages, path)) {
      return pages[path].includes(method) ? PAGE : undefined
    }
    const alias = resolveAlias(path, method)
    return serviceTarget(app, alias?.path ?? path, alias?.method ?? method)
  }
}

/** The methods `path` serves, OPTIONS included; none for a path that is not ours. */
export function allowedMethods(targetOf: TargetOf, path: string): string[] {
  const allowed: string[] = HTTP_METHODS.filter((method) => targetOf(path, method))
  return allowed.length > 0 ? [...allowed, 'OPTIONS'] : []
}

const READS = new Set(['GET', 'HEAD'])

/**
 * The conditional header a request sends that its target cannot evaluate: `If-Match` on anything
 * but a record with versions (src/hooks/if-match.ts), `If-None-Match` on anything but a read or a
 * write of one. A read's `If-None-Match` that names no version of ours simply does not match.
 */
function unevaluated(ctx: FeathersKoaContext, target: Target | undefined) {
  const conditions = target?.conditions ?? []
  const { headers } = ctx.req
  if (headers['if-match'] !== undefined && !conditions.includes('if-match')) {
    return 'If-Match'
  }
  if (
    headers['if-none-match'] !== undefined &&
    !READS.has(ctx.method) &&
    !conditions.includes('if-none-match')
  ) {
    return 'If-None-Match'
  }
  return undefined
}

/**
 * A method the path does not serve is a 405 with `Allow` (so is any 405 a service answers), an
 * OPTIONS is a 204 with `Allow`, a condition the target cannot evaluate a 400. A path that is not
 * ours goes on, to its 404.
 */
export const methodsAndConditions =
  (targetOf: TargetOf): Middleware =>
  async (ctx, next) => {
    // As requested: the `/api` routes are rewritten further in.
    const path = ctx.path
    const target = targetOf(path, ctx.method)
    if (!target) {
      const allowed = allowedMethods(targetOf, path)
      if (allowed.length === 0) {
        return next()
      }
      ctx.set('Allow', allowed.join(', '))
      if (ctx.method !== 'OPTIONS') {
        throw new MethodNotAllowed(`${ctx.method} is not allowed here (Allow: ${allowed.join(', ')})`)
      }
    }
    const condition = unevaluated(ctx, target)
    if (condition) {
      throw new BadRequest(
        `${condition} cannot be evaluated here: this resource keeps no versions and takes no conditions`,
        { header: condition }
      )
    }
    if (!target) {
      ctx.status = 204
      ctx.body = null
      return
    }
    try {
      await next()
    } catch (error) {
      // A 405 from further in (a method named by X-Service-Method) names the methods too.
      if (fieldOf(error, 'code') === 405) ctx.set('Allow', allowedMethods(targetOf, path).join(', '))
      throw error
    }
  }
