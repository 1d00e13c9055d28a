import type { Method } from '../declarative/declaration'
import type { TSchema } from '@feathersjs/typebox'
import { createSwaggerServiceOptions } from 'feathers-swagger'
import type { ServiceSwaggerOptions } from 'feathers-swagger'
import type { ErrorStatus } from './schemas'
import { errorResponseRef } from './schemas'

export interface ServiceDocsOptions {
  /**
   * The service's TypeBox schemas by their export names, e.g. `{ patientSchema, patientDataSchema,
   * patientPatchSchema, patientQuerySchema }`: the record, create/update body, patch body and query.
   */
  schemas: Record<string, TSchema>
  /** What the service is, shown with its group in the UI. */
  description: string
  /** The methods that need `Authorization: Bearer <accessToken>`. */
  authenticated: Method[] | 'all'
  /** Errors beyond the usual ones of each method (e.g. `{ create: [409] }`). */
  errors?: Partial<Record<Method, ErrorStatus[]>>
  /** More of feathers-swagger's service options. */
  docs?: ServiceSwaggerOptions
}

/**
 * TypeBox schemas are JSON Schema, which OpenAPI 3.1 takes as they are, except that a `Type.Ref`
 * names a schema by its `$id`: here that becomes a reference to the component of that name.
 */
export function toOpenApiSchema(schema: object): Record<string, unknown> {
  const result: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(schema)) {
    if (key === '$id') continue
    result[key] =
      key === '$ref' && typeof value === 'string' && !value.includes('#')
        ? `#/components/schemas/${value}`
        : openApiValue(value)
  }
  return result
}

const openApiValue = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.map(openApiValue)
    : value !== null && typeof value === 'object'
      ? toOpenApiSchema(value)
      : value

type Operations = NonNullable<ServiceSwaggerOptions['operations']>

/** Per method: the extra error responses, then what the service says of that operation. */
function operations(errors: ServiceDocsOptions['errors'] = {}, declared: Operations = {}) {
  const methods = new Set([...Object.keys(errors), ...Object.keys(declared)])
  return Object.fromEntries(
    [...methods].map((method) => {
      const statuses: ErrorStatus[] = errors[method as Method] ?? []
      const operation = declared[method]
      if (operation === false) {
        return [method, false]
      }
      const responses = Object.fromEntries(
        statuses.map((status) => [`responses.${status}`, errorResponseRef(status)])
      )
      return [method, { ...responses, ...operation }]
    })
  )
}

/**
 * The `docs` option of a service registration: `app.use(path, service, { methods, docs:
 * serviceDocs({...}) })` puts the service's operations, with its schemas, in /openapi.json.
 */
export function serviceDocs({
  schemas,
  description,
  authenticated,
  errors,
  docs = {}
}: ServiceDocsOptions): ServiceSwaggerOptions {
  return createSwaggerServiceOptions({
    schemas,
    transformSchema: toOpenApiSchema,
    docs: {
      description,
      securities: authenticated === 'all' ? ['all'] : authenticated,
      ...docs,
      operations: operations(errors, docs.operations)
    }
  })
}
