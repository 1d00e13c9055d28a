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

function withStrategy(body: any, { strategy, forced }: { strategy: string; forced: boolean }) {
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

/**
 * The documented `/api/...` routes are rewritten to the Feathers service paths before routing, so
 * they run exactly the same service, hooks and access rules as `client.service(name)`.
 * (src/docs/alias-paths.ts documents them from the same declarations.)
 */
export const apiAliases = (resources: readonly AnyResource[]): Middleware => {
  const routes = new Map(apiRoutesOf(resources).map((route) => [route.service, route]))
  const resource = new RegExp(`^/api/(${[...routes.keys()].join('|')})(?:/([^/]+)(/history(?:/([^/]+))?)?)?$`)
  return async (ctx, next) => {
    if (!ctx.path.startsWith('/api/')) {
      return next()
    }
    const path = ctx.path.length > 5 ? ctx.path.replace(/\/+$/, '') : ctx.path
    const createService = Object.hasOwn(CREATE_ROUTES, path) ? CREATE_ROUTES[path] : undefined
    const service = serviceRoute.exec(path)
    if (createService && ctx.method === 'POST') {
      ctx.path = `/${createService}`
      if (Object.hasOwn(STRATEGIES, path)) {
        ctx.request.body = withStrategy(ctx.request.body, STRATEGIES[path])
      }
    } else if (path === LOGOUT_ROUTE && ctx.method === 'POST') {
      ctx.path = '/authentication'
      ctx.method = 'DELETE'
    } else if (service) {
      const [, route, id] = service
      ctx.path = `/${SERVICE_ROUTES[route]}${id === undefined ? '' : `/${id}`}`
    } else {
      const match = resource.exec(path)
      if (match) {
        const [, service, id, history, version] = match
        const findBy = routes.get(service)?.findBy
        if (history !== undefined) {
          // A resource without a history has no such route: the path stays unknown (a 404).
          if (routes.get(service)?.history) {
            ctx.path = `/${service}/${id}/history${version === undefined ? '' : `/${version}`}`
          }
        } else if (findBy && id !== undefined && ctx.method === 'GET') {
          ctx.path = `/${service}`
          ctx.query = { ...ctx.query, [findBy]: decodedSegment(id) }
        } else {
          ctx.path = id === undefined ? `/${service}` : `/${service}/${id}`
        }
      }
    }
    return next()
  }
}
