import type { Middleware } from '@feathersjs/koa'

const RESOURCE = /^\/api\/(patients|doctors|mappings|audit)(?:\/([^/]+))?$/

function withDefaultStrategy(body: any) {
  if (body !== null && typeof body === 'object' && !Array.isArray(body) && !('strategy' in body)) {
    return { ...body, strategy: 'local' }
  }
  return body
}

/**
 * The documented `/api/...` routes are rewritten to the Feathers service paths before routing, so
 * they run exactly the same service, hooks and access rules as `client.service(name)`.
 */
export const apiAliases = (): Middleware => async (ctx, next) => {
  if (!ctx.path.startsWith('/api/')) {
    return next()
  }
  const path = ctx.path.length > 5 ? ctx.path.replace(/\/+$/, '') : ctx.path
  if (path === '/api/auth/register' && ctx.method === 'POST') {
    ctx.path = '/users'
  } else if (path === '/api/auth/login' && ctx.method === 'POST') {
    ctx.path = '/authentication'
    ctx.request.body = withDefaultStrategy(ctx.request.body)
  } else {
    const match = RESOURCE.exec(path)
    if (match) {
      const [, service, id] = match
      if (service === 'mappings' && id !== undefined && ctx.method === 'GET') {
        // GET /api/mappings/:patientId is the page of that patient's mappings.
        ctx.path = '/mappings'
        ctx.query = { ...ctx.query, patientId: decodeURIComponent(id) }
      } else {
        ctx.path = id === undefined ? `/${service}` : `/${service}/${id}`
      }
    }
  }
  return next()
}
