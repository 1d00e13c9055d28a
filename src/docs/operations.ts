import type { Method } from '../declarative/declaration'
import type { ErrorStatus } from './schemas'
import { errorResponseRef } from './schemas'

import type { SwaggerInitOptions } from 'feathers-swagger'

type Generators = NonNullable<NonNullable<SwaggerInitOptions['defaults']>['operationGenerators']>
/** What feathers-swagger hands an operation generator. */
type OperationArgs = Parameters<NonNullable<Generators['find']>>[0]

const ALWAYS: ErrorStatus[] = [500, 503]
const METHOD_ERRORS: Record<Method, ErrorStatus[]> = {
  find: [400],
  get: [400, 404],
  create: [400, 413],
  update: [400, 404, 413],
  patch: [400, 404, 413],
  remove: [400, 404]
}

const json = (ref: unknown) => ({
  'application/json': { schema: typeof ref === 'string' ? { $ref: `#/components/schemas/${ref}` } : ref }
})

const isSecured = (method: Method, { securities }: OperationArgs) =>
  securities.includes(method) || securities.includes('all')

function errorResponses(method: Method, args: OperationArgs) {
  const statuses = [...METHOD_ERRORS[method], ...(isSecured(method, args) ? [401 as const] : []), ...ALWAYS]
  return Object.fromEntries(statuses.sort().map((status) => [status, errorResponseRef(status)]))
}

/** The id in the path: a record's UUID, or a number (`idType: 'integer'`, a version) under its own name. */
const idParameter = ({ modelName, idName, idType }: OperationArgs) =>
  idType === 'integer'
    ? {
        in: 'path',
        name: idName,
        required: true,
        description: `The ${idName}: an integer from 1`,
        schema: { type: 'integer', minimum: 1 }
      }
    : {
        in: 'path',
        name: 'id',
        required: true,
        description: `The ${modelName}'s id`,
        schema: { type: 'string', format: 'uuid' }
      }

/** A JSON schema in the document, read keyword by keyword. */
type Schema = { readonly properties?: Record<string, unknown> } & Record<string, unknown>

const isSchema = (value: unknown): value is Schema => typeof value === 'object' && value !== null

const FIELD_OPERATORS = '`[$ne]`, `[$in][]`, `[$nin][]`, `[$lt]`, `[$lte]`, `[$gt]`, `[$gte]`'

/**
 * Query parameters from the service's query schema (made by `querySyntaxFor`): paging, `$sort`,
 * `$select` and equality on each field. Operators on a field (`age[$gte]=18`) and `$or`/`$and`
 * follow the same schema; they are named in the description rather than listed one by one.
 */
function queryParameters(querySchema: unknown, paginate?: { default?: number; max?: number }) {
  const properties = (isSchema(querySchema) && querySchema.properties) || {}
  const parameters: object[] = [
    {
      in: 'query',
      name: '$limit',
      description: `Page size (default ${paginate?.default}, at most ${paginate?.max})`,
      schema: { type: 'integer', minimum: 0 }
    },
    { in: 'query', name: '$skip', description: 'Records to skip', schema: { type: 'integer', minimum: 0 } }
  ]
  for (const [name, schema] of Object.entries(properties)) {
    if (name === '$sort') {
      parameters.push({
        in: 'query',
        name,
        style: 'deepObject',
        explode: true,
        description: '`$sort[field]=1` ascending, `-1` descending',
        schema
      })
    } else if (name === '$select') {
      parameters.push({
        in: 'query',
        name: '$select[]',
        style: 'form',
        explode: true,
        description: 'Only these fields',
        schema
      })
    } else if (!name.startsWith('$')) {
      // A field: anyOf [the value, its operators]; a query parameter shows the plain value.
      const value = isSchema(schema) && Array.isArray(schema.anyOf) ? schema.anyOf[0] : schema
      parameters.push({
        in: 'query',
        name,
        description: `Equal to this; operators as \`${name}[$gte]=…\``,
        schema: value
      })
    }
  }
  return parameters
}

const QUERY_HELP =
  `Feathers query syntax: equality (\`?field=value\`), the operators ${FIELD_OPERATORS} on any field, ` +
  '`$ilike` on names, `$or` / `$and` (up to 20 clauses). A query on an unknown field or with any other operator is a 400.'

/** Operation generators for feathers-swagger: schemas by reference, the shared error responses. */
export const operationGenerators: Generators = {
  find(args: OperationArgs) {
    const querySchema = args.specs.components.schemas[args.refs.queryParameters as string]
    return {
      tags: args.tags,
      summary: `Find ${args.modelName} records`,
      description: `A page \`{ total, limit, skip, data }\` of the ${args.modelName} records the caller may see. ${QUERY_HELP}`,
      parameters: queryParameters(querySchema, args.service.options?.paginate),
      responses: {
        200: { description: 'A page of records', content: json(args.refs.findResponse) },
        ...errorResponses('find', args)
      },
      security: isSecured('find', args) ? args.security : []
    }
  },
  get(args: OperationArgs) {
    return {
      tags: args.tags,
      summary: `Get a ${args.modelName} by id`,
      parameters: [idParameter(args)],
      responses: {
        200: { description: 'The record', content: json(args.refs.getResponse) },
        ...errorResponses('get', args)
      },
      security: isSecured('get', args) ? args.security : []
    }
  },
  create(args: OperationArgs) {
    return {
      tags: args.tags,
      summary: `Create a ${args.modelName}`,
      requestBody: { required: true, content: json(args.refs.createRequest) },
      responses: {
        201: { description: 'The created record', content: json(args.refs.createResponse) },
        ...errorResponses('create', args)
      },
      security: isSecured('create', args) ? args.security : []
    }
  },
  update(args: OperationArgs) {
    return {
      tags: args.tags,
      summary: `Replace a ${args.modelName} (every writable field)`,
      parameters: [idParameter(args)],
      requestBody: { required: true, content: json(args.refs.updateRequest) },
      responses: {
        200: { description: 'The updated record', content: json(args.refs.updateResponse) },
        ...errorResponses('update', args)
      },
      security: isSecured('update', args) ? args.security : []
    }
  },
  patch(args: OperationArgs) {
    return {
      tags: args.tags,
      summary: `Change some fields of a ${args.modelName}`,
      parameters: [idParameter(args)],
      requestBody: { required: true, content: json(args.refs.patchRequest) },
      responses: {
        200: { description: 'The patched record', content: json(args.refs.patchResponse) },
        ...errorResponses('patch', args)
      },
      security: isSecured('patch', args) ? args.security : []
    }
  },
  remove(args: OperationArgs) {
    return {
      tags: args.tags,
      summary: `Remove a ${args.modelName}`,
      parameters: [idParameter(args)],
      responses: {
        200: { description: 'The removed record', content: json(args.refs.removeResponse) },
        ...errorResponses('remove', args)
      },
      security: isSecured('remove', args) ? args.security : []
    }
  }
}
