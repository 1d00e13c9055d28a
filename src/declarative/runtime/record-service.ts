import { BadRequest, NotFound } from '@feathersjs/errors'
import { PreconditionFailed } from '../../errors'
import type { Id, NullableId, Paginated, Params } from '@feathersjs/feathers'
import { KnexService, errorHandler } from '@feathersjs/knex'
import type { KnexAdapterOptions, KnexAdapterParams } from '@feathersjs/knex'
import type { Knex } from 'knex'
import { withAuditRecord } from './audit-statement'
import type { AuditStamp } from './audit-records'
import { appendAuditOfRead } from './audit-batch'
import { ACTION_SETTING, ACTOR_SETTING } from '../database/history-table'
import { StatementShapes, isPlainValue } from '../../database/statement-shapes'
import { relationColumn } from './relations'
import type { Relation, RelationColumn } from './relations'
import type { Method } from '../declaration'
import { isUuid } from '../fields'

/** A table of per-owner counts kept by the database (slots whose `total`s add up to the owner's). */
export interface OwnerCounts {
  table: string
  /** The record's owner field, e.g. `userId`; the count table's owner column has the same name. */
  owner: string
}

export interface RecordServiceOptions extends KnexAdapterOptions {
  /** The declared fields: what is selected and returned, never `*` (a column nobody declared stays in the table). */
  columns?: readonly string[]
  /** Related records embedded in every result, e.g. `{ doctor: { table: 'doctors', … } }`. */
  relations?: Record<string, Relation>
  /** Where the total of a query that asks for nothing but one owner's records can be read. */
  ownerCounts?: OwnerCounts
  /**
   * Records carry a `version`, kept with their history by the database (history-table.ts): writes
   * count it up, a remove answers the removed record at its last version plus one (its `remove`
   * version), and `params.ifMatch` and `params.ifNoneMatch` make a write conditional on it.
   */
  versioned?: boolean
  /**
   * Fields an update (a full replacement) may leave out, and what it then stores: `null` for an
   * optional field, the column's default for a field that has one.
   */
  leftOut?: Readonly<Record<string, 'null' | 'default'>>
}

type Row = Record<string, unknown>

const VERSION = 'version'

/** The page's rows carry the query's total in this column (`total_of_query` in SQL). */
const TOTAL_COLUMN = 'totalOfQuery'

/** Every record's id is a UUID made by the database: anything else names no record (400). */
function recordId(id: unknown): string {
  if (!isUuid(id)) {
    throw new BadRequest('The id must be a UUID')
  }
  return id
}

/**
 * Who makes a change and with which method, for the history triggers (history-table.ts): two
 * transaction-local settings, set by the write statement itself. The triggers of the statement's
 * rows, and of the rows its foreign keys cascade to, run at its end, after every row of its final
 * SELECT was read, and the settings end with the statement's own transaction. Set by every write,
 * with a history or not: removing a user removes their patients.
 */
const CHANGE_SETTINGS = `set_config('${ACTOR_SETTING}', ?, true) IS NOT NULL AND set_config('${ACTION_SETTING}', ?, true) IS NOT NULL`

const NOTHING = new Set<string>()

/** What a kept page names in its shape besides its conditions (src/database/statement-shapes.ts). */
const PAGING = new Set(['$sort', '$limit', '$skip'])

/**
 * The fields of a query that holds nothing but equalities of plain values (an owner's scope, say)
 * and the parameters `besides`; none for any other query.
 */
function equalityFields(query: Record<string, unknown> = {}, besides = NOTHING): string[] | undefined {
  const fields: string[] = []
  for (const [key, value] of Object.entries(query)) {
    if (besides.has(key)) continue
    if (key.startsWith('$') || value === null || !isPlainValue(value)) return undefined
    fields.push(key)
  }
  return fields
}

/** Why a conditional write of a record at `version` wrote nothing. */
function preconditionFailure(version: number, { ifMatch, ifNoneMatch }: Params) {
  if (ifMatch && !ifMatch.includes(version)) {
    return `The record is at version ${version}, not ${ifMatch.join(' or ')}`
  }
  return ifNoneMatch === '*'
    ? `The record exists, at version ${version}; If-None-Match: * writes only where there is none`
    : `The record is at version ${version}, which If-None-Match rules out`
}

/** The adapter's error conversion, typed as what it is: it always throws. */
function databaseError(error: Error): never {
  errorHandler(error)
  throw error
}

/** `params` whose query holds `fields` equal to `values` instead. */
const withQuery = <P extends Params>(
  params: P,
  fields: readonly string[],
  values: readonly unknown[]
): P => ({
  ...params,
  query: { ...params.query, ...Object.fromEntries(fields.map((field, index) => [field, values[index]])) }
})

/**
 * The Knex adapter with single-statement writes: INSERT / UPDATE / DELETE … RETURNING instead of
 * the stock write-then-select (one round trip, and the scope check is part of the statement), a
 * full `update` that never nulls server-owned columns, pages in a stable order whose total is
 * counted in the page's own statement, and related records embedded in the same statement. A get,
 * a create of one record and a first page of plain equalities are built by knex once per shape of call
 * (src/database/statement-shapes.ts).
 */
export class RecordService<
  Result extends Row,
  Data extends Row,
  ServiceParams extends Params = KnexAdapterParams,
  PatchData extends Row = Partial<Data>
> extends KnexService<Result, Data, ServiceParams, PatchData> {
  private readonly relations: RelationColumn[]
  private readonly ownerCounts?: OwnerCounts
  private readonly columns: string[]
  private readonly qualifiedColumns: string[]
  private readonly versioned: boolean
  private readonly leftOut: Array<[string, 'null' | 'default']>
  private readonly shapes = new StatementShapes()

  constructor(options: RecordServiceOptions) {
    super(options)
    this.ownerCounts = options.ownerCounts
    this.versioned = options.versioned ?? false
    this.leftOut = Object.entries(options.leftOut ?? {})
    this.columns = [...(options.columns ?? ['*'])]
    this.qualifiedColumns = this.columns.map((column) => `${options.name}.${column}`)
    this.relations = Object.entries(options.relations ?? {}).map(([property, relation]) =>
      relationColumn(options.name, property, relation)
    )
  }

  private relationColumns(params?: ServiceParams): Knex.Raw[] {
    const { Model } = this.getOptions((params ?? {}) as ServiceParams)
    return this.relations.map(({ sql, bindings }) => Model.raw(sql, bindings))
  }

  /** A record's own fields with `$select`: the chosen ones and the id, and the version (its ETag). */
  private selected($select: string[]) {
    return [...new Set([...$select, this.id, ...(this.versioned ? [VERSION] : [])])]
  }

  private returningColumns(params?: ServiceParams): Array<string | Knex.Raw> {
    const $select: string[] | undefined = params?.query?.$select
    const columns = $select ? this.selected($select) : this.columns
    return [...columns, ...this.relationColumns(params)]
  }

  /** The adapter's query of the declared columns with the relations: what a `get` needs. */
  private recordQuery(params: ServiceParams) {
    const builder = super.createQuery(params)
    if (!params.query?.$select) {
      builder.clearSelect().select(this.qualifiedColumns)
    }
    const relations = this.relationColumns(params)
    return relations.length ? builder.select(...relations) : builder
  }

  /**
   * The query of a page: in a stable order, so that pages never overlap. The adapter's own `_find`
   * (unpaged, and under a multi patch or remove) builds its query here too, which it does not
   * document (test/unit/library-internals.test.ts checks it).
   */
  createQuery(params: ServiceParams = {} as ServiceParams) {
    const builder = this.recordQuery(params)
    const $sort: Record<string, number> = params.query?.$sort ?? {}
    if (Object.keys($sort).length === 0) {
      builder.orderBy('createdAt', 'asc')
    }
    if (!(this.id in $sort)) {
      builder.orderBy(this.id, 'asc')
    }
    return builder
  }

  private connection(params?: ServiceParams): Knex | Knex.Transaction {
    const { Model } = this.getOptions((params ?? {}) as ServiceParams)
    return (params as KnexAdapterParams | undefined)?.transaction?.trx ?? Model
  }

  /**
   * Every write is one statement: the change, its audit record where the call is audited, and the
   * settings that tell the history triggers who made it (CHANGE_SETTINGS).
   */
  private written(statement: Knex.QueryBuilder, params: ServiceParams | undefined, action: Method) {
    const stamp: AuditStamp | undefined = params?.audit
    if (stamp) stamp.written = true
    const actor = params?.user?.id ?? ''
    return this.writeStatement(this.connection(params), statement, stamp, actor, action).catch(databaseError)
  }

  private writeStatement(
    db: Knex | Knex.Transaction,
    statement: Knex.QueryBuilder,
    stamp: Omit<AuditStamp, 'written'> | undefined,
    actor: unknown,
    action: Method
  ): Knex.QueryBuilder {
    const change: Knex.QueryBuilder = stamp
      ? withAuditRecord(db, statement, stamp)
      : db.with('touched', statement).select('*').from('touched')
    return change.whereRaw(CHANGE_SETTINGS, [actor as string, action])
  }

  /** The caller's scope (the hooks' query, minus paging) applied to a write statement. */
  private scopedTo(id: Id, params?: ServiceParams) {
    const { query } = this.filterQuery((params ?? {}) as ServiceParams)
    return this.knexify(this.db(params).where(this.id, recordId(id)), query)
  }

  /**
   * The scope, and with `params.ifMatch` the versions the record may be at, with
   * `params.ifNoneMatch` those it may not: one condition of the write.
   */
  private writableAt(id: Id, params?: ServiceParams) {
    const builder = this.scopedTo(id, params)
    const { ifMatch, ifNoneMatch } = (this.versioned && params) || {}
    if (ifMatch) {
      builder.whereIn(VERSION, [...ifMatch])
    }
    if (ifNoneMatch === '*') {
      builder.whereRaw('false')
    } else if (ifNoneMatch) {
      builder.whereNotIn(VERSION, [...ifNoneMatch])
    }
    return builder
  }

  /**
   * A write of one record that wrote nothing: a 404, unless it named versions and the caller's
   * scope holds the record, which is then at another version (a 412). Decided after the fact: the
   * write itself left no moment between its check and its change.
   */
  private async notWritten(id: Id, params?: ServiceParams): Promise<never> {
    if (this.versioned && (params?.ifMatch || params?.ifNoneMatch)) {
      const current: { version: number } | undefined = await this.scopedTo(id, params)
        .first(VERSION)
        .catch(databaseError)
      if (current) {
        throw new PreconditionFailed(preconditionFailure(current[VERSION], params))
      }
    }
    throw new NotFound(`No record found for id '${id}'`)
  }

  async _find(params?: ServiceParams & { paginate?: false }): Promise<Result[]>
  async _find(params?: ServiceParams): Promise<Paginated<Result>>
  async _find(params: ServiceParams = {} as ServiceParams): Promise<Paginated<Result> | Result[]> {
    const { filters, paginate } = this.filterQuery(params)
    if (!(paginate && paginate.default) || (params as KnexAdapterParams).paginate === false) {
      return super._find({ ...params, paginate: false })
    }
    const skip = filters.$skip ?? 0
    const page =
      filters.$limit === 0
        ? { data: [], total: undefined }
        : await this.pageWithTotal(params, filters.$limit, skip)
    const total = page.total ?? (await this.countMatching(params))
    await this.recordRead(params, null)
    return { total, limit: filters.$limit, skip, data: page.data }
  }

  /** The owner's kept count, when all the query asks for (paging aside) is one owner's records. */
  private keptCountQuery(params: ServiceParams) {
    if (!this.ownerCounts) {
      return undefined
    }
    const { table, owner: ownerField } = this.ownerCounts
    const { query } = this.filterQuery(params)
    const owner: unknown = query[ownerField]
    if (Object.keys(query).length !== 1 || typeof owner !== 'string') {
      return undefined
    }
    const db = this.connection(params)
    return db(table)
      .where(ownerField, owner)
      .select(db.raw('coalesce(sum(??), 0)::bigint AS ??', ['total', 'total']))
  }

  /** The query's total: the kept count if there is one, else a count along the page's index (index-only). */
  private countQuery(params: ServiceParams) {
    return (
      this.keptCountQuery(params) ??
      super.createQuery(params).clearSelect().clearOrder().count({ total: '*' })
    )
  }

  /**
   * The page and its total in one statement: the count is a scalar subquery, which PostgreSQL
   * runs once for the statement (one round trip instead of two).
   */
  private async pageWithTotal(params: ServiceParams, limit: number, skip: number) {
    const build = (given: ServiceParams) => {
      const builder = this.createQuery(given).select(this.countQuery(given).as(TOTAL_COLUMN)).limit(limit)
      return skip ? builder.offset(skip) : builder
    }
    const query = params.query ?? {}
    // Later pages are built each time: an offset of every size would fill the kept shapes.
    const fields = skip === 0 ? equalityFields(query, PAGING) : undefined
    const rows: Row[] = await (
      fields
        ? this.shapes.rows(
            this.connection(params),
            `page ${fields.join(',')} ${JSON.stringify(query.$sort)} ${limit}`,
            fields.map((field) => query[field]),
            (values) => build(withQuery(params, fields, values))
          )
        : build(params)
    ).catch(databaseError)
    // An empty first page means there is nothing; past the end, the total must be counted alone.
    const total = rows.length > 0 ? Number(rows[0][TOTAL_COLUMN]) : skip === 0 ? 0 : undefined
    const data = rows.map(({ [TOTAL_COLUMN]: _total, ...record }) => record as Result)
    return { data, total }
  }

  /** The total alone, when no page row carries it. */
  private async countMatching(params: ServiceParams) {
    const [{ total }] = await this.countQuery(params).catch(databaseError)
    return Number(total)
  }

  async _get(id: Id, params: ServiceParams = {} as ServiceParams): Promise<Result> {
    const key = recordId(id)
    const query = params.query ?? {}
    const fields = equalityFields(query)
    const rows: Result[] = await (
      fields
        ? this.shapes.rows<Result>(
            this.connection(params),
            `get ${fields.join(',')}`,
            [...fields.map((field) => query[field]), key],
            (values) => this.getQuery(withQuery(params, fields, values), values[fields.length])
          )
        : this.getQuery(params, key)
    ).catch(databaseError)
    const record = this.onlyRow(rows, id)
    await this.recordRead(params, String(record[this.id]))
    return record
  }

  private getQuery(params: ServiceParams, id: unknown) {
    const { name } = this.getOptions(params)
    const builder = this.recordQuery(params).andWhere(`${name}.${this.id}`, id as string)
    const $select: string[] | undefined = params.query?.$select
    if (this.versioned && $select && !$select.includes(VERSION)) {
      builder.select(`${name}.${VERSION}`)
    }
    return builder
  }

  /**
   * A read changes nothing to be atomic with: its audit record joins those of concurrent reads in
   * one INSERT (group commit), awaited before the answer. Writes keep theirs in their own statement.
   */
  private async recordRead(params: ServiceParams, recordId: string | null) {
    const stamp: AuditStamp | undefined = params.audit
    if (!stamp) {
      return
    }
    const { userId, action, service, ip } = stamp
    await appendAuditOfRead(this.getOptions(params).Model, { userId, action, service, ip, recordId })
    stamp.written = true
  }

  async _create(data: Data, params?: ServiceParams): Promise<Result>
  async _create(data: Data[], params?: ServiceParams): Promise<Result[]>
  async _create(data: Data | Data[], params?: ServiceParams): Promise<Result | Result[]>
  async _create(data: Data | Data[], params?: ServiceParams): Promise<Result | Result[]> {
    if (!Array.isArray(data) && !params?.query?.$select) {
      return this.createOne(data, params)
    }
    const insert = this.db(params)
      .insert(data)
      .returning(this.returningColumns(params) as string[])
    const rows: Result[] = await this.written(insert, params, 'create')
    return Array.isArray(data) ? rows : rows[0]
  }

  /**
   * A create of one record: the statement `written` makes, kept per shape (its fields, audited or
   * not) by src/database/statement-shapes.ts.
   */
  private async createOne(data: Data, params?: ServiceParams): Promise<Result> {
    const fields = Object.keys(data).sort()
    const stamp: AuditStamp | undefined = params?.audit
    const audited = stamp ? [stamp.userId, stamp.action, stamp.service, stamp.ip] : []
    if (stamp) stamp.written = true
    const db = this.connection(params)
    const build = (values: readonly unknown[]) => {
      const [actor, userId, action, service, ip] = values.slice(fields.length) as Array<string | null>
      const row = Object.fromEntries(fields.map((field, index) => [field, values[index]]))
      const insert = this.db(params)
        .insert(row)
        .returning(this.returningColumns(params) as string[])
      const audit = stamp ? { userId, action: action!, service: service!, ip } : undefined
      return this.writeStatement(db, insert, audit, actor, 'create')
    }
    const values = [...fields.map((field) => data[field]), params?.user?.id ?? '', ...audited]
    const shape = `create ${fields.join(',')}${stamp ? ' audited' : ''}`
    const rows = await this.shapes.rows<Result>(db, shape, values, build).catch(databaseError)
    return rows[0]
  }

  async _patch(id: null, data: PatchData | Partial<Result>, params?: ServiceParams): Promise<Result[]>
  async _patch(id: Id, data: PatchData | Partial<Result>, params?: ServiceParams): Promise<Result>
  async _patch(
    id: NullableId,
    data: PatchData | Partial<Result>,
    params?: ServiceParams
  ): Promise<Result | Result[]>
  async _patch(
    id: NullableId,
    data: PatchData | Partial<Result>,
    params?: ServiceParams
  ): Promise<Result | Result[]> {
    if (id === null) {
      return super._patch(id, data, params)
    }
    return this.change(id, data as Row, params, 'patch')
  }

  /**
   * A full replacement: the update schema requires every writable field but the optional ones and
   * those with a default, which a replacement that leaves them out empties or resets; the rest is
   * the server's.
   */
  async _update(id: Id, data: Data, params?: ServiceParams): Promise<Result> {
    const replacement: Row = { ...data }
    for (const [field, value] of this.leftOut) {
      if (replacement[field] === undefined) {
        replacement[field] = value === 'null' ? null : this.connection(params).raw('DEFAULT')
      }
    }
    return this.change(id, replacement, params, 'update')
  }

  /** An update or a patch of one record, which counts its version up. */
  private async change(id: Id, data: Row, params: ServiceParams | undefined, action: 'update' | 'patch') {
    const { [this.id]: _ignored, ...changes } = data
    if (this.versioned) {
      changes[VERSION] = this.connection(params).raw('?? + 1', [VERSION])
    }
    const write = this.writableAt(id, params)
      .update(changes)
      .returning(this.returningColumns(params) as string[])
    const rows: Result[] = await this.written(write, params, action)
    return rows.length === 1 ? rows[0] : this.notWritten(id, params)
  }

  async _remove(id: null, params?: ServiceParams): Promise<Result[]>
  async _remove(id: Id, params?: ServiceParams): Promise<Result>
  async _remove(id: NullableId, params?: ServiceParams): Promise<Result | Result[]>
  async _remove(id: NullableId, params?: ServiceParams): Promise<Result | Result[]> {
    if (id === null) {
      return super._remove(id, params)
    }
    // The removed record as its `remove` version holds it: at its last version plus one.
    const db = this.connection(params)
    const columns = this.returningColumns(params).map((column) =>
      this.versioned && column === VERSION ? db.raw('?? + 1 AS ??', [VERSION, VERSION]) : column
    )
    const write = this.writableAt(id, params)
      .delete()
      .returning(columns as string[])
    const rows: Result[] = await this.written(write, params, 'remove')
    return rows.length === 1 ? rows[0] : this.notWritten(id, params)
  }

  private onlyRow(rows: Result[], id: Id): Result {
    if (rows.length !== 1) {
      throw new NotFound(`No record found for id '${id}'`)
    }
    return rows[0]
  }
}
