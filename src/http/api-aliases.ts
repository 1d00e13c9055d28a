import { BadRequest } from '@feathersjs/errors'
import type { Middleware } from '@feathersjs/koa'
import type { AnyResource } from '../declarative/declaration'

/** `POST <route>` is `create` on the service. */
export const CREATE_ROUTES: Readonly<Record<string, string>> = {
  '/api/auth/register': 'users',
  '/api/auth/login': 'authentication',
  '/api/auth/refresh': 'authentication'
}

/** The strategy a route's body gets: by default (login), or always (refresh). */
const STRATEGIES: Readonly<Record<string, { strategy: string; forced: boolean }>> = {
  '/api/auth/login': { strategy: 'local', forced: false },
  '/api/auth/refresh': { strategy: 'refresh', forced: true }
}

/** `POST /api/auth/logout` is `remove` on `authentication`: the session of the caller's token ends. */
export const LOGOUT_ROUTE = '/api/auth/logout'

/** `<route>` and `<route>/:id` are the service's collection and records. */
export const SERVICE_ROUTES: Readonly<Record<string, string>> = {
  '/api/auth/sessions': 'sessions'
}

/** A resource served at `/api/<path>` and `/api/<path>/:id`, from its declaration's `api`. */
export interface ApiRoute {
  service: string
  /** `GET /api/<path>/:value` is `find` with this field equal to the value, instead of `get`. */
  findBy?: string
  /** `GET /api/<path>/:id/history` and `…/history/:version`: the service `<path>/:id/history`. */
  history?: boolean
}

export const apiRoutesOf = (resources: readonly AnyResource[]): ApiRoute[] =>
  resources.flatMap(({ path, declaration, history }) =>
    declaration.api ? [{ service: path, findBy: declaration.api.findBy, history: Boolean(history) }] : []
  )

function decodedSegment(segment: string) {
  try {
    return decodeURIComponent(segment)
  } catch {
    throw new BadRequest('The path is not valid percent-encoding')
  }
}

/** A request's body as Koa's body parser leaves it: JSON. */
type RequestBody = Parameters<Middleware>[0]['request']['body']

function withStrategy(body: RequestBody, { strategy, forced }: { strategy: string; forced: boolean }) {
  if (
    body !== null &&
    typeof body === 'object' &&
    !Array.isArray(body) &&
    (forced || !('strategy' in body))
  ) {
    return { ...body, strategy }
  }
  return body
}

// The routes are letters and slashes: nothing to escape.
const serviceRoute = new RegExp(`^(${Object.keys(SERVICE_ROUTES).join('|')})(?:/([^/]+))?$`)

/** Where an `/api/...` request goes: a service path, the method it runs there, and what it adds. */
export interface AliasTarget {
  path: string
  /** Another HTTP method than the request's (logout is a DELETE of `authentication`). */
  method?: string
  /** The strategy the body gets (login, refresh). */
  strategy?: { strategy: string; forced: boolean }
  /** `find` with this field equal to the path's value, still percent-encoded. */
  findBy?: { field: string; value: string }
}

/** The alias table as a function: where `method` on `path` (under `/api/`) goes, if anywhere. */
export type AliasResolver = (path: string, method: string) => AliasTarget | undefined

/**
 * The documented `/api/...` routes, resolved to the Feathers service paths they run. A GET is
 * also a HEAD. A path or method the table does not name resolves to nothing: the request stays
 * where it is (and finds no route).
 */
export function aliasResolver(resources: readonly AnyResource[]): AliasResolver {
  const routes = new Map(apiRoutesOf(resources).map((route) => [route.service, route]))
  const resource = new RegExp(`^/api/(${[...routes.keys()].join('|')})(?:/([^/]+)(/history(?:/([^/]+))?)?)?$`)
  return (requestPath, method) => {
    if (!requestPath.startsWith('/api/')) {
      return undefined
    }
    const path = requestPath.length > 5 ? requestPath.replace(/\/+$/, '') : requestPath
    const createService = Object.hasOwn(CREATE_ROUTES, path) ? CREATE_ROUTES[path] : undefined
    if (createService) {
      return method === 'POST'
        ? {
            path: `/${createService}`,
            strategy: Object.hasOwn(STRATEGIES, path) ? STRATEGIES[path] : undefined
          }
        : undefined
    }
    if (path === LOGOUT_ROUTE) {
      return method === 'POST' ? { path: '/authentication', method: 'DELETE' } : undefined
    }
    const service = serviceRoute.exec(path)
    if (service) {
      const [, route, id] = service
      return { path: `/${SERVICE_ROUTES[route]}${id === undefined ? '' : `/${id}`}` }
    }
    const match = resource.exec(path)
    if (!match) {
      return undefined
    }
    const [, name, id, history, version] = match
    const { findBy, history: hasHistory } = routes.get(name) ?? {}
    if (history !== undefined) {
      // A resource without a history has no such route: the path stays unknown (a 404).
      return hasHistory
        ? { path: `/${name}/${id}/history${version === undefined ? '' : `/${version}`}` }
        : undefined
    }
    if (findBy && id !== undefined && (method === 'GET' || method === 'HEAD')) {
      return { path: `/${name}`, findBy: { field: findBy, value: id } }
    }
    return { path: id === undefined ? `/${name}` : `/${name}/${id}` }
  }
}

/**
 * The documented `/api/...` routes are rewritten to the Feathers service paths before routing, so
 * they run exactly the same service, hooks and access rules as `client.service(name)`.
 * (src/docs/alias-paths.ts documents them from the same declarations.)
 */
export const apiAliases = (resolve: AliasResolver): Middleware => {
  return async (ctx, next) => {
    const target = resolve(ctx.path, ctx.method)
    if (target) {
      ctx.path = target.path
      if (target.method) {
        ctx.method = target.method
      }
      if (target.strategy) {
        ctx.request.body = withStrategy(ctx.request.body, target.strategy)
      }
      if (target.findBy) {
        ctx.query = { ...ctx.query, [target.findBy.field]: decodedSegment(target.findBy.value) }
      }
    }
    return next()
  }
}
