import { BadRequest } from '@feathersjs/errors'
import type { Middleware } from '@feathersjs/koa'

/** `POST <route>` is `create` on the service. */
export const CREATE_ROUTES: Readonly<Record<string, string>> = {
  '/api/auth/register': 'users',
  '/api/auth/login': 'authentication'
}

/** Services served at `/api/<name>` and `/api/<name>/:id`. */
export const API_RESOURCES: readonly string[] = ['patients', 'doctors', 'mappings', 'audit']

/** `GET /api/<name>/:value` is `find` with this field equal to the value, instead of `get`. */
export const FIND_BY_PATH: Readonly<Record<string, string>> = { mappings: 'patientId' }

const RESOURCE = new RegExp(`^/api/(${API_RESOURCES.join('|')})(?:/([^/]+))?$`)

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
 * (src/docs/api-aliases.ts documents them from the same tables.)
 */
export const apiAliases = (): Middleware => async (ctx, next) => {
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
    const match = RESOURCE.exec(path)
    if (match) {
      const [, service, id] = match
      const findBy = FIND_BY_PATH[service]
      if (findBy && id !== undefined && ctx.method === 'GET') {
        ctx.path = `/${service}`
        ctx.query = { ...ctx.query, [findBy]: decodedSegment(id) }
      } else {
        ctx.path = id === undefined ? `/${service}` : `/${service}/${id}`
      }
    }
  }
  return next()
}
