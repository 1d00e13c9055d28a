import { CREATE_ROUTES } from '../http/api-aliases'
import type { ApiRoute } from '../http/api-aliases'

type Operation = Record<string, any>
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
    ...(operation.parameters ?? []).filter(
      (parameter: Operation) => parameter.name !== field && parameter.name !== 'id'
    )
  ]
  return operation
}

/**
 * The `/api/...` routes of src/http/api-aliases.ts, documented from the operations of the
 * services they rewrite to (read from the same declarations), so they cannot drift apart.
 */
export function apiAliasPaths(paths: Paths, routes: ApiRoute[]): Paths {
  const result: Paths = {}
  for (const [route, service] of Object.entries(CREATE_ROUTES)) {
    result[route] = aliasPathItem(paths[`/${service}`], `/${service}`, ['post'])
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
