import { authenticate } from '@feathersjs/authentication'
import { hooks as schemaHooks } from '@feathersjs/schema'
import type { KnexAdapterParams } from '@feathersjs/knex'
import { publishToAuthenticated, publishToOwner } from '../../realtime/channels'
import type { Application, ApplicationByPath, HookContext } from '../../declarations'
import { serviceDocs } from '../../docs/service-docs'
import type { ErrorStatus } from '../../docs/schemas'
import { audit } from '../../hooks/audit-trail'
import { etag, ifMatch, ifMatchOfGet, ifNoneMatchOfGet } from '../../hooks/if-match'
import { creatorOnly } from '../../hooks/creator-only'
import { referencesNotFound, requireOwnReference } from '../../hooks/reference-checks'
import { resolveValidatedQuery } from '../../hooks/resolve-query'
import { validateRecord } from '../../hooks/validate-record'
import { registerHistory } from './history-service'
import { RecordService } from './record-service'
import { foreignKeyName, referencesOf } from '../references'
import { shapeOf } from '../fields'
import type { Relation } from './relations'
import type {
  AnyResource,
  DataOf,
  Declaration,
  Method,
  PatchOf,
  QueryOf,
  RecordOf,
  Resource
} from '../declaration'

/** The service of a declared resource: the Knex adapter with single-statement writes. */
export type ResourceService<D extends Declaration> = RecordService<
  RecordOf<D>,
  DataOf<D>,
  KnexAdapterParams<QueryOf<D>>,
  PatchOf<D>
>

function serviceOptions(app: Application, resource: AnyResource) {
  const relations: Record<string, Relation> = Object.fromEntries(
    referencesOf(resource)
      .filter(({ embed }) => embed)
      .map(({ field, to, embed }) => [embed!, { table: to.table, foreignKey: field, schema: to.visible }])
  )
  const { ownerCounts } = resource.declaration
  return {
    paginate: app.get('paginate'),
    Model: app.get('postgresqlClient'),
    name: resource.table,
    columns: resource.columns,
    operators: ['$ilike'],
    relations,
    ownerCounts:
      ownerCounts && resource.scopeField ? { table: ownerCounts, owner: resource.scopeField } : undefined,
    versioned: Boolean(resource.history),
    leftOut: leftOutOf(resource)
  }
}

/** What an update that leaves a writable field out stores in it: null, or the column's default. */
function leftOutOf(resource: AnyResource) {
  return Object.fromEntries(
    resource.writable.flatMap((field) => {
      const shape = shapeOf(resource.declaration.fields[field])
      if (!shape.optional) return []
      return [[field, shape.default ? 'default' : 'null'] as const]
    })
  )
}

/** Newest first (or whatever the declaration says) when the client does not sort. */
const defaultSort =
  (sort: { readonly [field: string]: 1 | -1 | undefined }) => async (context: HookContext) => {
    const query = (context.params.query ??= {})
    query.$sort ??= { ...sort }
  }

const offered = (methods: readonly Method[], writes: Method[]) =>
  writes.filter((method) => methods.includes(method))

function aroundHooks(resource: AnyResource) {
  const { declaration, methods, authenticated } = resource
  const around: Record<string, unknown[]> = { all: [] }
  const add = (method: string, ...hooks: unknown[]) =>
    (around[method] = [...(around[method] ?? []), ...hooks])
  if (authenticated.length === methods.length) {
    add('all', authenticate('jwt'))
  } else {
    authenticated.forEach((method) => add(method, authenticate('jwt')))
  }
  add('all', schemaHooks.resolveExternal(resource.resolvers.external))
  if (declaration.audit) add('all', audit())
  if (resource.history) {
    offered(methods, ['update', 'patch', 'remove']).forEach((method) => add(method, ifMatch()))
    offered(methods, ['get']).forEach((method) => add(method, ifMatchOfGet(), ifNoneMatchOfGet()))
  }
  const owner = declaration.owner
  if ('creator' in owner && owner.creator) {
    offered(methods, ['update', 'patch', 'remove']).forEach((method) =>
      add(method, creatorOnly(owner.creator!))
    )
  }
  const notFound = Object.fromEntries(
    referencesOf(resource).map(({ field, notFound }) => [foreignKeyName(resource, field), notFound])
  )
  if (Object.keys(notFound).length > 0) {
    offered(methods, ['create', 'update', 'patch']).forEach((method) =>
      add(method, referencesNotFound(notFound))
    )
  }
  return around
}

/** Before a write names a record of an owned resource, that record must be the caller's (else 404). */
function ownReferenceChecks(resource: AnyResource, fields: readonly string[]) {
  return referencesOf(resource)
    .filter(({ field, to }) => fields.includes(field) && to.scopeField)
    .map(({ field, to, notFound }) =>
      requireOwnReference({ field, service: to.path, ownerField: to.scopeField!, message: notFound })
    )
}

function beforeHooks(resource: AnyResource) {
  const { declaration, methods, authenticated, writable, patchable, validators, resolvers } = resource
  const before: Record<string, unknown[]> = { all: [schemaHooks.validateQuery(validators.query)] }
  if (resolvers.query) {
    const scope = resolveValidatedQuery(resolvers.query)
    authenticated.forEach((method) => (before[method] = [scope]))
  }
  const add = (method: Method, ...hooks: unknown[]) => {
    if (methods.includes(method)) before[method] = [...(before[method] ?? []), ...hooks]
  }
  if (declaration.sort) add('find', defaultSort(declaration.sort))
  add(
    'create',
    validateRecord(validators.data),
    ...ownReferenceChecks(resource, writable),
    schemaHooks.resolveData(resolvers.data)
  )
  add(
    'update',
    validateRecord(validators.data),
    ...ownReferenceChecks(resource, writable),
    schemaHooks.resolveData(resolvers.patch)
  )
  add(
    'patch',
    validateRecord(validators.patch),
    ...ownReferenceChecks(resource, patchable),
    schemaHooks.resolveData(resolvers.patch)
  )
  return before
}

/** With a history, a REST response holding one record carries its version as its ETag. */
function afterHooks(resource: AnyResource) {
  if (!resource.history) return {}
  const one = offered(resource.methods, ['get', 'create', 'update', 'patch', 'remove'])
  return Object.fromEntries(one.map((method) => [method, [etag()]]))
}

/**
 * With a history, the conditional headers a record's methods evaluate (src/hooks/if-match.ts);
 * REST refuses any other before the call (src/http/methods.ts).
 */
function conditionsOf(resource: AnyResource) {
  if (!resource.history) return undefined
  const evaluated = ['if-match', 'if-none-match'] as const
  return Object.fromEntries(
    offered(resource.methods, ['get', 'update', 'patch', 'remove']).map((method) => [method, evaluated])
  )
}

/** The Feathers hooks table a declaration makes: authentication, access, validation, resolvers, audit. */
export function hooksOf(resource: AnyResource) {
  return { around: aroundHooks(resource), before: beforeHooks(resource), after: afterHooks(resource) }
}

/** Errors each method answers beyond the usual ones, from the owner rule, references and unique fields. */
function documentedErrors(resource: AnyResource) {
  const { declaration } = resource
  const errors: Partial<Record<Method, ErrorStatus[]>> = {}
  const add = (methods: Method[], status: ErrorStatus) =>
    offered(resource.methods, methods).forEach(
      (method) => (errors[method] = [...(errors[method] ?? []), status])
    )
  if ('creator' in declaration.owner && declaration.owner.creator) add(['update', 'patch', 'remove'], 403)
  if (referencesOf(resource).length > 0) add(['create'], 404)
  // A new record may meet any unique set; a change only one whose fields it may write.
  const unique = declaration.unique ?? []
  const changesUnique = (fields: readonly string[]) =>
    unique.some((set: readonly string[]) => set.some((field) => fields.includes(field)))
  if (unique.length > 0) add(['create'], 409)
  if (changesUnique(resource.writable)) add(['update'], 409)
  if (changesUnique(resource.patchable)) add(['patch'], 409)
  if (resource.history) add(['get', 'update', 'patch', 'remove'], 412)
  return errors
}

/** The conditional requests of a resource with history: `If-Match`, `$ifMatch`, `If-None-Match`, and the ETag. */
function historyOperations(resource: AnyResource) {
  if (!resource.history) return {}
  const header = (name: string, description: string) => ({
    in: 'header',
    name,
    description,
    schema: { type: 'string' }
  })
  const ifMatch = header(
    'If-Match',
    'Write only if the record is at this version: its ETag, such as `"3"` (or a list of them); `*` for any. Another version is a 412, a value that names none a 400'
  )
  const ifNoneMatchOfWrite = header(
    'If-None-Match',
    'Write only if the record is at none of these versions (`"3"`, `W/"3"` or a list); `*` for none at all, so a 412 whenever the record exists'
  )
  const ifNoneMatchOfGet = header(
    'If-None-Match',
    'The ETag you hold (or a list, or `*`): a 304 without a body when the record is still at that version'
  )
  const ifMatchOfGet = header(
    'If-Match',
    'Answer only if the record is at this version: its ETag, such as `"3"` (or a list of them). Another version is a 412, a value that names none a 400'
  )
  const query = {
    in: 'query',
    name: '$ifMatch',
    description: 'The same condition as `If-Match`, as a number: for the Feathers client over any transport',
    schema: { type: 'integer', minimum: 1 }
  }
  const etagHeader = {
    ETag: { description: 'The version of the record, in quotes: `"3"`', schema: { type: 'string' } }
  }
  const success = { get: 200, create: 201, update: 200, patch: 200, remove: 200 } as const
  // feathers-swagger appends a value whose key ends in `[+<n>]` to that list.
  const conditions = (method: Method) =>
    method === 'create'
      ? {}
      : method === 'get'
        ? {
            'parameters[+1]': ifNoneMatchOfGet,
            'parameters[+2]': ifMatchOfGet,
            'responses.304': {
              description: 'Not modified: the record is at a version you named',
              headers: etagHeader
            }
          }
        : { 'parameters[+1]': ifMatch, 'parameters[+2]': query, 'parameters[+3]': ifNoneMatchOfWrite }
  return Object.fromEntries(
    offered(resource.methods, ['get', 'create', 'update', 'patch', 'remove']).map((method) => [
      method,
      { [`responses.${success[method as keyof typeof success]}.headers`]: etagHeader, ...conditions(method) }
    ])
  )
}

/** Per method, what the declaration says of its operation after what the declaration makes. */
function mergedOperations(made: Record<string, object>, declared: Record<string, unknown> = {}) {
  const methods = new Set([...Object.keys(made), ...Object.keys(declared)])
  return Object.fromEntries(
    [...methods].map((method) => {
      const own = declared[method]
      return [method, own === false ? false : { ...made[method], ...(own as object | undefined) }]
    })
  )
}

function docsOf(resource: AnyResource) {
  const { declaration, methods, authenticated, schemas } = resource
  const writes = methods.includes('create') || methods.includes('update')
  const operations = mergedOperations(historyOperations(resource), declaration.docs?.operations)
  return serviceDocs({
    description: declaration.description,
    schemas: {
      recordSchema: schemas.response,
      ...(writes && { recordDataSchema: schemas.data }),
      ...(methods.includes('patch') && { recordPatchSchema: schemas.patch }),
      recordQuerySchema: schemas.query
    },
    authenticated: authenticated.length === methods.length ? 'all' : [...authenticated],
    errors: documentedErrors(resource),
    docs: { ...declaration.docs, operations }
  })
}

function publisherOf(resource: AnyResource) {
  switch (resource.declaration.publish) {
    case 'owner':
      return publishToOwner<Record<string, unknown>>(
        (record) => record[resource.ownerField!] as string | undefined
      )
    case 'authenticated':
      return publishToAuthenticated()
    default:
      return undefined
  }
}

/** Registers the service of a declared resource, with its hooks, docs and publisher. */
export function registerResource<D extends Declaration>(app: Application, resource: Resource<D>) {
  const service: ResourceService<D> = new RecordService(serviceOptions(app, resource))
  const byPath = app as ApplicationByPath<ResourceService<D>>
  byPath.use(resource.path, service, {
    methods: [...resource.methods],
    docs: docsOf(resource),
    conditions: conditionsOf(resource)
  })
  const registered = byPath.service(resource.path)
  const publisher = publisherOf(resource)
  if (publisher) registered.publish(publisher)
  if (resource.declaration.hooks) registered.hooks(resource.declaration.hooks)
  registered.hooks(hooksOf(resource))
  if (resource.history) registerHistory(app, resource)
}
