import type { AddressInfo } from 'node:net'
import { FeathersError, Gone, MethodNotAllowed, NotAuthenticated, NotFound } from '@feathersjs/errors'
import type { Paginated, Params } from '@feathersjs/feathers'
import type { Middleware } from '@feathersjs/koa'
import type { Application, ApplicationByPath } from '../declarations'
import { isUuid } from '../declarative/fields'
import { parseVersion } from '../declarative/versions'
import { historyPath } from '../declarative/runtime/history-service'
import type { HistoryEntry } from '../declarative/runtime/history-service'
import { historyBundle, pageLinks, searchset } from './bundle'
import type { FhirResource, HistoryVersion } from './bundle'
import { capabilityStatement } from './capability'
import { FHIR_PREFIX, isStrict, knownParameters, negotiate, pagingOf, parametersOf, routeOf } from './request'
import type { Given, KnownParameters, Route } from './request'
import { isUnderFhir, sendFhir } from './outcome'
import { MATCHES_NOTHING } from './vocabulary'
import type { FhirContext, FhirMapping, FhirRecord, FhirType, Interaction } from './vocabulary'

type KoaContext = Parameters<Middleware>[0]

/** A record of a mapped resource, as its service answers it. */
type Row = FhirRecord

/** A service query. */
type Query = Record<string, unknown>

/** The record a version holds: all of it, its id included. */
const recordOf = (entry: HistoryEntry) => entry.data as Row

/** What the facade calls of a mapped resource's service, and of its history's. */
interface ResourceReads {
  get(id: string, params: Params): Promise<Row>
  find(params: Params): Promise<Paginated<Row>>
}
interface HistoryReads {
  get(version: string, params: Params): Promise<HistoryEntry>
  find(params: Params): Promise<Paginated<HistoryEntry>>
}

/** A FHIR type this server serves: its mapping, and the parameters each of its interactions takes. */
interface Served {
  name: string
  mapping: FhirMapping
  type: FhirType<Row>
  versioned: boolean
  search: KnownParameters
}

interface Answer {
  body: object
  etag?: string
}

const FORMAT_ONLY: KnownParameters = { names: new Set(['_format']), repeatable: new Set() }
const PAGED: KnownParameters = { names: new Set(['_format', '_count', '_offset']), repeatable: new Set() }

/** A search that can match nothing still runs, for its total and its audit record. */
const NOTHING = { id: { $in: [] } }

/**
 * The service query of a search's parameters: each value's query, AND-ed (a field named twice goes
 * into `$and`); a value that can match nothing makes the whole search match nothing.
 */
function searchQuery(type: FhirType<Row>, given: Given): Query {
  const query: Query = {}
  const and: Query[] = []
  for (const [name, value] of given) {
    const parameter = type.search[name]
    if (!parameter) continue
    const part = parameter.query(value, name)
    if (part === MATCHES_NOTHING) return NOTHING
    for (const [field, condition] of Object.entries(part)) {
      if (field in query) and.push({ [field]: condition })
      else query[field] = condition
    }
  }
  return and.length > 0 ? { ...query, $and: and } : query
}

/** `GET /fhir/…`: the registered mappings' records as FHIR R4, read through the services themselves. */
export class FhirFacade {
  private readonly served = new Map<string, Served>()
  /** The first type of each resource's mapping, by service path: what a reference to its records names. */
  private readonly referenceTypes = new Map<string, string>()
  private readonly started = new Date().toISOString()
  private publicBase?: string
  private contextOfBase?: FhirContext

  constructor(
    private readonly app: Application,
    private readonly mappings: readonly FhirMapping[]
  ) {
    for (const mapping of mappings) {
      Object.entries(mapping.types).forEach(([name, type]) => this.serve(mapping, name, type))
    }
  }

  private serve(mapping: FhirMapping, name: string, type: FhirType<Row>) {
    const { path } = mapping.resource
    const other = this.served.get(name)
    if (other) {
      throw new Error(`Two FHIR mappings make ${name}: '${other.mapping.resource.path}' and '${path}'`)
    }
    const versioned = type.interactions.includes('vread')
    this.served.set(name, { name, mapping, type, versioned, search: searchParameters(type) })
    if (!this.referenceTypes.has(path)) this.referenceTypes.set(path, name)
  }

  /** `<publicUrl>/fhir`: `publicUrl`, else `http://localhost:<the port the server listens on>`. */
  private base(): string {
    if (this.publicBase) return this.publicBase
    const configured = this.app.get('publicUrl')
    if (configured) return (this.publicBase = `${configured.replace(/\/+$/, '')}${FHIR_PREFIX}`)
    const address = this.app.server?.address() as AddressInfo | null | undefined
    const base = `http://localhost:${address?.port ?? this.app.get('port')}${FHIR_PREFIX}`
    if (address) this.publicBase = base
    return base
  }

  /** What the mappings' functions are given: made once per base URL. */
  private context(): FhirContext {
    const base = this.base()
    if (this.contextOfBase?.base !== base) {
      const reference = (path: string, id: string) => {
        const type = this.referenceTypes.get(path)
        return type && `${type}/${id}`
      }
      this.contextOfBase = { base, reference }
    }
    return this.contextOfBase
  }

  /** The Koa middleware of every path under `/fhir`; errors are answered by `fhirErrors` (outcome.ts). */
  middleware(): Middleware {
    return async (ctx, next) => {
      if (!isUnderFhir(ctx.path)) {
        return next()
      }
      const { body, etag } = await this.answer(ctx)
      sendFhir(ctx, 200, body)
      if (etag) ctx.set('ETag', etag)
    }
  }

  private servedFor(route: Route | undefined): Served | undefined {
    if (!route || route.interaction === 'metadata') return undefined
    const served = this.served.get(route.type)
    return served?.type.interactions.includes(route.interaction as Interaction) ? served : undefined
  }

  private async answer(ctx: KoaContext): Promise<Answer> {
    const route = routeOf(ctx.path)
    const served = this.servedFor(route)
    if (!route || (route.interaction !== 'metadata' && !served)) {
      throw new NotFound('This server serves no FHIR interaction at this path')
    }
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      throw new MethodNotAllowed('The FHIR facade is read-only: only GET and HEAD are served')
    }
    const given = parametersOf(ctx.querystring)
    negotiate(
      ctx.get('Accept') || undefined,
      given.filter(([name]) => name === '_format').map(([, value]) => value)
    )
    const strict = isStrict(ctx.get('Prefer') || undefined)
    if (route.interaction === 'metadata') {
      knownParameters(given, FORMAT_ONLY, strict)
      return { body: capabilityStatement(this.mappings, this.base(), this.started) }
    }
    const params = await this.authenticated(ctx)
    switch (route.interaction) {
      case 'read':
        knownParameters(given, FORMAT_ONLY, strict)
        return this.read(served!, route.id, params)
      case 'vread':
        knownParameters(given, FORMAT_ONLY, strict)
        return this.vread(served!, route.id, route.version, params)
      case 'history-instance':
        return this.history(served!, route.id, knownParameters(given, PAGED, strict), params)
      case 'search-type':
        return this.search(served!, knownParameters(given, served!.search, strict), params)
    }
  }

  /**
   * The caller, by the app's own authentication service and JWT strategy (an ended session's token
   * is refused as over /api), as params for the services: what their `authenticate` hook would make.
   */
  private async authenticated(ctx: KoaContext): Promise<Params> {
    const authentication = this.app.defaultAuthentication!()
    const credentials = await authentication.parse(ctx.req, ctx.res, 'jwt')
    if (!credentials) {
      throw new NotAuthenticated('An access token is required: Authorization: Bearer <accessToken>')
    }
    const { provider: _provider, ...connection } = ctx.feathers as Params
    const { accessToken: _token, ...result } = await authentication.authenticate(
      credentials,
      connection,
      'jwt'
    )
    // The request log names the caller from the call's context.
    ;(ctx as { hook?: unknown }).hook = { params: { user: result.user } }
    return { ...(ctx.feathers as Params), ...result, authenticated: true }
  }

  /**
   * `resourceType`, `id`, `meta` and the mapping's elements. Built step by step: spreads of
   * objects of varying shapes cost V8 tens of microseconds a page (measured here).
   */
  private resourceOf(served: Served, record: Row, version?: number): FhirResource {
    const { name, type, versioned } = served
    const resource: FhirResource = { resourceType: name, id: record.id }
    // The field is a timestamp: text.
    const lastUpdated = (type.lastUpdated && record[type.lastUpdated]) as string | undefined
    if (versioned) {
      const versionId = String(version ?? record.version)
      resource.meta = lastUpdated ? { versionId, lastUpdated } : { versionId }
    } else if (lastUpdated) {
      resource.meta = { lastUpdated }
    }
    return Object.assign(resource, type.elements(record, this.context()))
  }

  private service(served: Served) {
    return (this.app as ApplicationByPath<ResourceReads>).service(served.mapping.resource.path)
  }

  private historyService(served: Served) {
    return (this.app as ApplicationByPath<HistoryReads>).service(historyPath(served.mapping.resource))
  }

  private async read(served: Served, id: string, params: Params): Promise<Answer> {
    const record: Row = await this.service(served)
      .get(id, params)
      .catch((error: unknown) => this.readFailure(served, id, params, error))
    const resource = this.resourceOf(served, record)
    return { body: resource, ...(served.versioned && { etag: `W/"${record.version}"` }) }
  }

  /**
   * Why a read found nothing: an id that is not a UUID names nothing (404, where the JSON API says
   * 400); a removed record is a 410 for whoever may still read its history, found by the history
   * service itself under the caller's scope (an internal call: the read's own audit record stands).
   */
  private async readFailure(served: Served, id: string, params: Params, error: unknown): Promise<never> {
    if (!(error instanceof FeathersError)) throw error
    if (error.code === 400 && !isUuid(id)) throw new NotFound(`No ${served.name} with this id`)
    if (error.code !== 404) throw error
    if (served.type.interactions.includes('history-instance')) {
      const page: Paginated<HistoryEntry> | undefined = await this.historyService(served)
        .find({ route: { id }, user: params.user, query: { $limit: 1 } })
        .catch(() => undefined)
      if (page?.data[0]?.action === 'remove') throw new Gone(`This ${served.name} was removed`)
    }
    throw new NotFound(`No ${served.name} with this id`)
  }

  /** A 400 of the history service for an id or a version that names nothing is a 404 here. */
  private historyFailure(served: Served, names: boolean) {
    return (error: unknown): never => {
      if (error instanceof FeathersError && error.code === 400 && !names) {
        throw new NotFound(`No ${served.name} with this id and version`)
      }
      throw error
    }
  }

  private async vread(served: Served, id: string, version: string, params: Params): Promise<Answer> {
    const entry: HistoryEntry = await this.historyService(served)
      .get(version, { ...params, route: { id } })
      .catch(this.historyFailure(served, isUuid(id) && parseVersion(version) !== undefined))
    if (entry.action === 'remove') {
      throw new Gone(`Version ${entry.version} of this ${served.name} is its removal`)
    }
    return { body: this.resourceOf(served, recordOf(entry), entry.version), etag: `W/"${entry.version}"` }
  }

  private async history(served: Served, id: string, given: Given, params: Params): Promise<Answer> {
    const paging = pagingOf(given)
    const page: Paginated<HistoryEntry> = await this.historyService(served)
      .find({ ...params, route: { id }, query: { $limit: paging.count, $skip: paging.offset } })
      .catch(this.historyFailure(served, isUuid(id)))
    const versions: HistoryVersion[] = page.data.map((entry) => ({
      version: entry.version,
      action: entry.action,
      at: entry.at,
      resource:
        entry.action === 'remove' ? undefined : this.resourceOf(served, recordOf(entry), entry.version)
    }))
    const base = this.base()
    const recordId = id.toLowerCase()
    const links = pageLinks(`${base}/${served.name}/${recordId}/_history`, given, paging, page.total)
    return { body: historyBundle(base, served.name, recordId, versions, page.total, links) }
  }

  private async search(served: Served, given: Given, params: Params): Promise<Answer> {
    const paging = pagingOf(given)
    const query = { ...searchQuery(served.type, given), $limit: paging.count, $skip: paging.offset }
    const page: Paginated<Row> = await this.service(served).find({ ...params, query })
    const base = this.base()
    const resources = page.data.map((record) => this.resourceOf(served, record))
    const links = pageLinks(`${base}/${served.name}`, given, paging, page.total)
    return { body: searchset(base, served.name, resources, page.total, links) }
  }
}

/** What a type's search takes: its own parameters, `_count`, `_offset` and `_format`. */
function searchParameters(type: FhirType<Row>): KnownParameters {
  const own = Object.entries(type.search)
  return {
    names: new Set([...PAGED.names, ...own.map(([name]) => name)]),
    repeatable: new Set(own.filter(([, parameter]) => parameter.repeatable).map(([name]) => name))
  }
}
