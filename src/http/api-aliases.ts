import { BadRequest } from '@feathersjs/errors'
import type { Middleware } from '@feathersjs/koa'
import type { AnyResource } from '../services/resource'

/** `POST <route>` is `create` on the service. */
export const CREATE_ROUTES: Readonly<Record<string, string>> = {
  '/api/auth/register': 'users',
  '/api/auth/login': 'authentication'
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

function withDefaultStrategy(body: any) {
  if (body !== null && typeof body === 'object' && !Array.isArray(body) && !('strategy' in body)) {
    return { ...body, strategy: 'local' }
  }
  return body
}

/**
 * The documented `/api/...` routes are rewritten to the Feathers service paths before routing, so
 * they run exactly the same service, hooks and access rules as `client.service(name)`.
 * (src/docs/api-aliases.ts documents them from the same declarations.)
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
    if (createService && ctx.method === 'POST') {
      ctx.path = `/${createService}`
      if (createService === 'authentication') {
        ctx.request.body = withDefaultStrategy(ctx.request.body)
      }
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
