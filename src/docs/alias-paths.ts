import { CREATE_ROUTES, LOGOUT_ROUTE, SERVICE_ROUTES } from '../http/api-aliases'
import type { ApiRoute } from '../http/api-aliases'
import { errorResponseRef } from './schemas'

/** An OpenAPI operation: what is read or changed of one here, and whatever else it says. */
interface Operation {
  summary?: string
  description?: string
  parameters?: Parameter[]
  requestBody?: unknown
  responses?: Record<string, unknown>
  [keyword: string]: unknown
}
type Parameter = { name?: string } & Record<string, unknown>
type PathItem = Record<string, Operation>
export type Paths = Record<string, PathItem>

const copy = <T>(value: T): T => structuredClone(value)

function aliasOf(operation: Operation, method: string, servicePath: string): Operation {
  const alias = copy(operation)
  alias.description = [`The same as \`${method.toUpperCase()} ${servicePath}\`.`, alias.description]
    .filter(Boolean)
    .join(' ')
  return alias
}

function aliasPathItem(item: PathItem | undefined, servicePath: string, methods?: string[]): PathItem {
  const entries = Object.entries(item ?? {}).filter(([method]) => !methods || methods.includes(method))
  return Object.fromEntries(
    entries.map(([method, operation]) => [method, aliasOf(operation, method, servicePath)])
  )
}

/** `GET /api/<service>/{id}` as `find` filtered by `field`: the find operation, the field in the path. */
function findByPath(find: Operation, service: string, field: string): Operation {
  const operation = aliasOf(find, 'get', `/${service}?${field}=…`)
  operation.summary = `Find the ${service} of one ${field.replace(/Id$/, '')}`
  operation.parameters = [
    {
      in: 'path',
      name: 'id',
      required: true,
      description: `The ${field} whose ${service} are listed`,
      schema: { type: 'string', format: 'uuid' }
    },
    // The path's `id` is the field's value; a query `id` (the mapping's own) would only confuse.
    ...(operation.parameters ?? []).filter((parameter) => parameter.name !== field && parameter.name !== 'id')
  ]
  return operation
}

const json = (schema: string) => ({
  'application/json': { schema: { $ref: `#/components/schemas/${schema}` } }
})

/** `POST /api/auth/refresh`: the create of `authentication`, whatever `strategy` says, with the refresh strategy. */
function refreshOperation(create: Operation): Operation {
  const operation = aliasOf(create, 'post', '/authentication` with `"strategy": "refresh"')
  operation.summary = 'Renew the tokens'
  operation.description =
    'Spends the refresh token for a new access token and a new refresh token of the same session. ' +
    'A spent refresh token presented again ends the session; an unknown, malformed, expired or spent one is a 401. ' +
    operation.description
  operation.requestBody = { required: true, content: json('RefreshData') }
  delete operation.responses?.['429']
  return operation
}

/** `POST /api/auth/logout`: `DELETE /authentication` with the caller's token. */
const logoutOperation = (): Operation => ({
  tags: ['authentication'],
  summary: 'Log out',
  description:
    'The same as `DELETE /authentication` with the access token. Ends the session of the token on every instance: its access and refresh tokens are refused from then on, and its sockets are logged off.',
  responses: {
    200: { description: 'The ended session’s authentication', content: json('Authentication') },
    401: errorResponseRef(401),
    500: errorResponseRef(500),
    503: errorResponseRef(503)
  },
  security: [{ bearerAuth: [] }]
})

/**
 * The `/api/...` routes of src/http/api-aliases.ts, documented from the operations of the
 * services they rewrite to (read from the same declarations), so they cannot drift apart.
 */
export function apiAliasPaths(paths: Paths, routes: ApiRoute[]): Paths {
  const result: Paths = {}
  for (const [route, service] of Object.entries(CREATE_ROUTES)) {
    result[route] = aliasPathItem(paths[`/${service}`], `/${service}`, ['post'])
  }
  if (result['/api/auth/login']?.post) {
    result['/api/auth/login'].post.summary = 'Log in'
  }
  const refresh = paths['/authentication']?.post
  if (refresh) {
    result['/api/auth/refresh'] = { post: refreshOperation(refresh) }
  }
  result[LOGOUT_ROUTE] = { post: logoutOperation() }
  for (const [route, service] of Object.entries(SERVICE_ROUTES)) {
    result[route] = aliasPathItem(paths[`/${service}`], `/${service}`)
    result[`${route}/{id}`] = aliasPathItem(paths[`/${service}/{id}`], `/${service}/{id}`)
  }
  for (const { service, findBy: field, history } of routes) {
    const collection = `/${service}`
    const record = `/${service}/{id}`
    result[`/api${collection}`] = aliasPathItem(paths[collection], collection)
    result[`/api${record}`] = aliasPathItem(paths[record], record)
    if (history) {
      for (const versions of [`${record}/history`, `${record}/history/{version}`]) {
        result[`/api${versions}`] = aliasPathItem(paths[versions], versions)
      }
    }
    const find = paths[collection]?.get
    if (field && find) {
      result[`/api${record}`].get = findByPath(find, service, field)
    }
  }
  return Object.fromEntries(Object.entries(result).filter(([, item]) => Object.keys(item).length > 0))
}
