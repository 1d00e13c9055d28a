import { authenticate } from '@feathersjs/authentication'
import { hooks as schemaHooks } from '@feathersjs/schema'
import type { KnexAdapterParams } from '@feathersjs/knex'
import { publishToAuthenticated, publishToOwner } from '../channels'
import type { Application, HookContext } from '../declarations'
import { serviceDocs } from '../docs/service-docs'
import type { ErrorStatus } from '../docs/schemas'
import { audit } from '../hooks/audit'
import { creatorOnly } from '../hooks/creator-only'
import { referencesNotFound, requireOwnReference } from '../hooks/references'
import { resolveValidatedQuery } from '../hooks/resolve-query'
import { validateRecord } from '../hooks/validate-record'
import { RecordService } from './knex-service'
import { foreignKeyName, referencesOf } from './references'
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
} from './resource'

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
    versioned: Boolean(resource.history)
  }
}

/** Newest first (or whatever the declaration says) when the client does not sort. */
const defaultSort = (sort: Record<string, 1 | -1>) => async (context: HookContext) => {
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

/** The Feathers hooks table a declaration makes: authentication, access, validation, resolvers, audit. */
export function hooksOf(resource: AnyResource) {
  return { around: aroundHooks(resource), before: beforeHooks(resource) }
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
  if ((declaration.unique ?? []).length > 0) add(['create'], 409)
  return errors
}

function docsOf(resource: AnyResource) {
  const { declaration, methods, authenticated, schemas } = resource
  const writes = methods.includes('create') || methods.includes('update')
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
    docs: declaration.docs
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
  app.use(resource.path as any, service as any, { methods: [...resource.methods], docs: docsOf(resource) })
  const registered = app.service(resource.path as any) as any
  const publisher = publisherOf(resource)
  if (publisher) registered.publish(publisher)
  if (resource.declaration.hooks) registered.hooks(resource.declaration.hooks)
  registered.hooks(hooksOf(resource))
}
