import { getLimit } from '@feathersjs/adapter-commons'
import { authenticate } from '@feathersjs/authentication'
import { BadRequest, NotAuthenticated, NotFound } from '@feathersjs/errors'
import type { Id, Paginated, PaginationOptions, Params } from '@feathersjs/feathers'
import { Type } from '@feathersjs/typebox'
import type { TSchema } from '@feathersjs/typebox'
import { hooks as schemaHooks } from '@feathersjs/schema'
import type { Knex } from 'knex'
import type { Application, ApplicationByPath, HookContext } from '../../declarations'
import { serviceDocs } from '../../docs/service-docs'
import { audit } from '../../hooks/audit-trail'
import { isUuid, timestamp, uuid } from '../fields'
import { MAX_OFFSET } from '../query'
import { compileQueryValidator } from '../validators'
import { snakeCase } from '../../database/naming'
import { HISTORY_ACTIONS, historyOwnerField, historyTableOf } from '../database/history-table'
import type { HistoryAction } from '../database/history-table'
import { parseVersion, versionSchema } from '../versions'
import type { AnyResource } from '../declaration'

/**
 * `<path>/:id/history`: the versions of one record of a resource with `history`, newest first, as
 * the database wrote them (history-table.ts). Whoever may read the record may read its versions,
 * also after it was removed: the owner is kept with each version. Read-only: `find` pages,
 * `get` answers one version.
 */

export interface HistoryEntry {
  version: number
  action: HistoryAction
  /** Who made the change; null when it was not made through the API. */
  userId: string | null
  at: string
  /** The record as the change left it (for a remove, as it was removed). */
  data: Record<string, unknown>
}

/** The route of a record's history, as Feathers registers it: the record's id is `params.route.id`. */
export const historyPath = (resource: AnyResource) => `${resource.path}/:id/history`

type HistoryParams = Params<{ $limit?: number; $skip?: number }> & { route?: { id?: string } }

const ENTRY_COLUMNS = ['version', 'action', 'userId', 'at', 'data']

interface HistoryRow {
  version: number
  action: HistoryAction
  userId: string | null
  at: string
  data: Record<string, unknown>
}

/** The schemas of a history's entries and of its query, for validation and /openapi.json. */
export function historySchemas(resource: AnyResource) {
  const { name } = resource
  const embeds =
    Object.keys(resource.schemas.response.properties).length > Object.keys(resource.visible.properties).length
  // A version holds the record's own fields: embedded records are not part of it.
  const data: TSchema = embeds
    ? Type.Object(resource.visible.properties, { $id: `${name}Fields`, additionalProperties: false })
    : Type.Ref(resource.schemas.response)
  const entry = Type.Object(
    {
      version: versionSchema(),
      action: Type.Unsafe<HistoryAction>({ type: 'string', enum: [...HISTORY_ACTIONS] }),
      userId: Type.Union([uuid(), Type.Null()], {
        description: 'Who made the change (null: not through the API)'
      }),
      at: timestamp(),
      data: { ...data, description: 'The record as the change left it (for a remove, as it was removed)' }
    },
    { $id: `${name}Version`, additionalProperties: false }
  )
  const paging = Type.Integer({ minimum: 0, maximum: MAX_OFFSET })
  const findQuery = Type.Object(
    { $limit: Type.Optional(paging), $skip: Type.Optional(paging) },
    { additionalProperties: false }
  )
  const getQuery = Type.Object({}, { additionalProperties: false })
  return { entry, findQuery, getQuery }
}

/** The `version` of `…/history/:version`: a positive integer, or a 400. */
function versionOf(id: Id): number {
  const version = parseVersion(id)
  if (version === undefined) {
    throw new BadRequest('The version must be an integer from 1')
  }
  return version
}

export interface HistoryServiceOptions {
  Model: Knex
  paginate: PaginationOptions
}

export class HistoryService {
  private readonly table: string
  private readonly dates: string[]

  constructor(
    private readonly resource: AnyResource,
    private readonly options: HistoryServiceOptions
  ) {
    this.table = historyTableOf(resource)
    this.dates = Object.entries<TSchema>(resource.visible.properties)
      .filter(([, schema]) =>
        [schema.format, ...(schema.anyOf ?? []).map((s: TSchema) => s.format)].includes('date-time')
      )
      .map(([field]) => field)
  }

  /** The versions of the record in the route that the caller may read (all of a shared resource's). */
  private versions(params: HistoryParams) {
    const recordId = params.route?.id
    if (!isUuid(recordId)) {
      throw new BadRequest('The id must be a UUID')
    }
    const builder = this.options.Model(this.table).where('recordId', recordId.toLowerCase())
    const { user, provider } = params
    if (!user) {
      if (provider) throw new NotAuthenticated('Not authenticated')
      return builder
    }
    const ownerField = historyOwnerField(this.resource)
    if (ownerField) return builder.where('ownerId', user.id)
    if (this.resource.scopeField === 'id') return builder.where('recordId', user.id)
    return builder
  }

  /** A version as the API shows it: the record's visible fields, under their API names. */
  private entryOf({ version, action, userId, at, data }: HistoryRow): HistoryEntry {
    const record: Record<string, unknown> = {}
    for (const field of Object.keys(this.resource.visible.properties)) {
      const value = data[snakeCase(field)]
      if (value === undefined) continue
      record[field] =
        this.dates.includes(field) && typeof value === 'string' ? new Date(value).toISOString() : value
    }
    return { version, action, userId: userId ?? null, at, data: record }
  }

  async find(params: HistoryParams = {}): Promise<Paginated<HistoryEntry>> {
    const { $limit, $skip = 0 } = params.query ?? {}
    const limit = getLimit($limit, this.options.paginate)
    const [{ total }] = await this.versions(params).count({ total: '*' })
    if (Number(total) === 0) {
      throw new NotFound(`No record found for id '${params.route?.id}'`)
    }
    const rows: HistoryRow[] =
      limit === 0
        ? []
        : await this.versions(params)
            .select(...ENTRY_COLUMNS)
            .orderBy('version', 'desc')
            .limit(limit)
            .offset($skip)
    return { total: Number(total), limit, skip: $skip, data: rows.map((row) => this.entryOf(row)) }
  }

  async get(id: Id, params: HistoryParams = {}): Promise<HistoryEntry> {
    const version = versionOf(id)
    // (`first()` would skip the camelCase conversion of the row's names.)
    const [row]: Array<HistoryRow | undefined> = await this.versions(params)
      .where('version', version)
      .select(...ENTRY_COLUMNS)
    if (!row) {
      throw new NotFound(`No version ${version} of a record with id '${params.route?.id}'`)
    }
    return this.entryOf(row)
  }
}

/** `<path>/:id/history` in /openapi.json: its entries, its paging, the record's id and the version. */
function historyDocs(resource: AnyResource, { entry, findQuery }: ReturnType<typeof historySchemas>) {
  const noun = resource.name.toLowerCase()
  return serviceDocs({
    description: `The versions of each ${noun}, newest first`,
    schemas: { recordSchema: entry, recordQuerySchema: findQuery },
    authenticated: 'all',
    errors: { find: [404] },
    docs: {
      pathParams: {
        id: {
          in: 'path',
          name: 'id',
          required: true,
          description: `The ${noun}'s id (also of a removed one)`,
          schema: { type: 'string', format: 'uuid' }
        }
      },
      idNames: { get: 'version' },
      idType: 'integer',
      operations: {
        find: {
          summary: `The versions of a ${noun}, newest first`,
          description: `A page \`{ total, limit, skip, data }\` of the ${noun}'s versions \`{ version, action, userId, at, data }\`, newest first: \`data\` is the whole record as that change left it (for a remove, as it was removed). Whoever may read the ${noun} may read them, also after it was removed; anyone else gets 404. Every read is audited (action \`history\`).`
        },
        get: { summary: `One version of a ${noun}` }
      }
    }
  })
}

/**
 * The history of a resource that keeps one: `<path>/:id/history` (find, get), read-only, for
 * whoever may read the record, every read audited as `history`.
 */
export function registerHistory(app: Application, resource: AnyResource) {
  const schemas = historySchemas(resource)
  const { findQuery, getQuery } = schemas
  const path = historyPath(resource)
  const service = new HistoryService(resource, {
    Model: app.get('postgresqlClient'),
    paginate: app.get('paginate')
  })
  const byPath = app as ApplicationByPath<HistoryService>
  byPath.use(path, service, { methods: ['find', 'get'], docs: historyDocs(resource, schemas) })
  const recordId = (context: HookContext) => context.params.route?.id
  byPath.service(path).hooks({
    around: {
      all: [authenticate('jwt'), audit({ action: 'history', service: resource.path, recordId })]
    },
    before: {
      find: [schemaHooks.validateQuery(compileQueryValidator(findQuery))],
      get: [schemaHooks.validateQuery(compileQueryValidator(getQuery))]
    }
  })
}
