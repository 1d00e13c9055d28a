import type { Resolver } from '@feathersjs/schema'
import type {
  Static,
  TInteger,
  TNull,
  TObject,
  TOptional,
  TProperties,
  TSchema,
  TString,
  TUnion
} from '@feathersjs/typebox'
import type { HookContext } from '../declarations'

/**
 * A resource is declared once (src/services/): its fields, who owns a record, what refers to what,
 * who hears of changes and whether calls are audited. Everything a Feathers service is made of
 * follows from that: the TypeBox schemas and their validators, the resolvers (here), the service,
 * its hooks, docs and publisher (register.ts), its table (migration-writer.ts, drift.ts) and the
 * client's types (src/client/index.ts).
 */

export type Method = 'find' | 'get' | 'create' | 'update' | 'patch' | 'remove'

export const ALL_METHODS: readonly Method[] = ['find', 'get', 'create', 'update', 'patch', 'remove']

/**
 * Who owns a record, and so who may reach it. Every declaration says it: one without an owner rule
 * does not start.
 */
export type OwnerRule =
  /** The caller's records: `field` is set to the caller on create, and every query is scoped to it. */
  | { readonly field: string }
  /** The record is the caller (users): every query is scoped to the caller's id. */
  | { readonly self: true }
  /**
   * Owned through a reference to one of the caller's records (a mapping through its patient): the
   * owner is kept in `field` (default `userId`), set to the caller on create, checked against the
   * referenced record by the database, and never sent.
   */
  | { readonly through: string; readonly field?: string }
  /**
   * Nobody's: a directory every authenticated user reads. With `creator`, that field is set to the
   * caller on create and only the creator may update, patch or remove (403 for anyone else).
   */
  | { readonly none: string; readonly creator?: string }

/** Who hears of a change: the owner's connections, every authenticated connection, or nobody. */
export type PublishRule = 'owner' | 'authenticated' | 'none'

/** A resource's history: every version of every record kept, in a table of its own. */
export interface HistorySettings {
  /** The history table (default `<table>_history`). */
  readonly table?: string
}

export interface Reference {
  /** The resource the field names a record of. */
  readonly to: AnyResource
  /** The 404's message when the record does not exist or is not the caller's. */
  readonly notFound: string
  /** What removing the referenced record does to this one (the foreign key's ON DELETE). */
  readonly onDelete: 'cascade' | 'set null' | 'restrict'
  /** Embed the referenced record in every result under this name. */
  readonly embed?: string
}

type FieldName<F extends TProperties> = keyof F & string

export interface Declaration<
  Path extends string = string,
  F extends TProperties = TProperties,
  O extends OwnerRule = OwnerRule
> {
  /** The Feathers service path, also the table's name unless `table` says otherwise. */
  readonly path: Path
  /** What the resource is, for the API documentation. */
  readonly description: string
  /** The fields a client writes or reads besides `id`, the owner fields and the timestamps. */
  readonly fields: F
  readonly owner: O
  /** The service methods offered (default: all six). */
  readonly methods?: readonly Method[]
  /** Methods that need no token (users: `create`, which is registration). */
  readonly anonymous?: readonly Method[]
  /** Fields a create (and a full update) takes: default every field. */
  readonly writable?: readonly FieldName<F>[]
  /** Fields a patch may change: default the writable ones. */
  readonly patchable?: readonly FieldName<F>[]
  /** Fields that are written but never read back, in a response, an event or a query (a password). Stored as text. */
  readonly writeOnly?: readonly FieldName<F>[]
  /** Fields a query may name (default every field that is not hidden). */
  readonly queryable?: readonly string[]
  /** Text fields that take `$ilike`. */
  readonly search?: readonly FieldName<F>[]
  readonly references?: { readonly [K in FieldName<F>]?: Reference }
  /** Sets of fields no two records share (a 409). */
  readonly unique?: readonly (readonly string[])[]
  /** Whether records have `updatedAt` (default true); `createdAt` they always have. */
  readonly updatedAt?: boolean
  /** The order of a page when the client gives none (default oldest first). */
  readonly sort?: Readonly<Record<string, 1 | -1>>
  /** Who hears of a change (default: nobody). */
  readonly publish?: PublishRule
  /** Whether every outside call writes an audit record. */
  readonly audit?: boolean
  /**
   * Every version of every record kept: records carry `version` (1 on create, one more on every
   * update, patch or remove), writes take `If-Match`, and `<path>/:id/history` pages through the
   * versions (src/declarative/runtime/history-service.ts). The versions are written by the database, in the same
   * statement as the change, into `<table>_history`.
   */
  readonly history?: boolean | HistorySettings
  /** The REST alias: `/api/<path>`, and a field that `GET /api/<path>/:value` finds by instead of a get. */
  readonly api?: { readonly findBy?: FieldName<F> | 'id' }
  /** Columns of the table that the declaration does not describe, e.g. kept for the database's own use. */
  readonly internal?: readonly string[]
  /** The table of per-owner counts kept by the database, for a page's total. */
  readonly ownerCounts?: string
  /** The table's name when it is not the path. */
  readonly table?: string
  /** The schemas' `$id` stem (`Patient`): default the path without its plural `s`, capitalised. */
  readonly name?: string
  /** Extra property resolvers: on create (`data`) and on update and patch (`patch`). */
  readonly resolve?: {
    readonly data?: Record<string, (value: any, data: any, context: HookContext) => Promise<unknown>>
    readonly patch?: Record<string, (value: any, data: any, context: HookContext) => Promise<unknown>>
  }
  /** Hooks of this resource only; they run before the ones the declaration makes. */
  readonly hooks?: Record<string, unknown>
  /** More for the API documentation: a method's summary, or `false` to leave it out. */
  readonly docs?: { readonly operations?: Record<string, unknown> }
}

// The owner rule's fields, as types.
type OwnerFieldOf<O> = O extends { through: string }
  ? O extends { field: infer F extends string }
    ? F
    : 'userId'
  : O extends { field: infer F extends string }
    ? F
    : never
type CreatorFieldOf<O> = O extends { creator: infer C extends string } ? C : never
type UpdatedAtOf<D> = D extends { updatedAt: false } ? Record<never, never> : { updatedAt: TString }
type VersionOf<D> = D extends { history: true | HistorySettings }
  ? { version: TInteger }
  : Record<never, never>

type WriteOnlyOf<D> = D extends { writeOnly: readonly (infer W)[] } ? W : never
/** A record carries every field (null when an optional one is empty) but the write-only ones. */
type Carried<T> = T extends TOptional<infer U> ? U : T
type RecordFields<F extends TProperties, W> = {
  [K in keyof F]: K extends W ? TOptional<Carried<F[K]>> : Carried<F[K]>
}

/** The record's properties: what a row holds, before anything is hidden. */
export type RecordProperties<D extends Declaration> = { id: TString } & {
  [K in OwnerFieldOf<D['owner']>]: TString
} & {
  [K in CreatorFieldOf<D['owner']>]: TUnion<[TString, TNull]>
} & RecordFields<Omit<D['fields'], OwnerFieldOf<D['owner']>>, WriteOnlyOf<D>> &
  VersionOf<D> & { createdAt: TString } & UpdatedAtOf<D>

export type RecordOf<D extends Declaration> = Static<TObject<RecordProperties<D>>>
export type DataOf<D extends Declaration> = Static<TObject<D['fields']>>
export type PatchOf<D extends Declaration> = Partial<DataOf<D>>
export type QueryOf<D extends Declaration> = Partial<RecordOf<D>> & Record<string, any>

export interface Resource<D extends Declaration = Declaration> {
  readonly declaration: D
  readonly path: D['path']
  readonly table: string
  /** The schemas' `$id` stem, e.g. `Patient`. */
  readonly name: string
  readonly methods: readonly Method[]
  /** The methods that need a token: all but the declaration's `anonymous` ones. */
  readonly authenticated: readonly Method[]
  /** The fields a create (and a full update) takes, and those a patch may change. */
  readonly writable: readonly string[]
  readonly patchable: readonly string[]
  /** The field every query is scoped to, if any (`userId`; `id` for users). */
  readonly scopeField?: string
  /** The field that holds the owning user's id, if any: who hears of a change under `publish: 'owner'`. */
  readonly ownerField?: string
  /** Fields that stay on the server: the owner kept through a reference, write-only fields. */
  readonly hidden: readonly string[]
  /** Where the versions of its records are kept, when the declaration asks for a history. */
  readonly history?: { readonly table: string }
  /** Every field a row has (the columns selected and returned). */
  readonly columns: readonly string[]
  /** The fields a response carries, embedded references aside. */
  readonly visible: TObject
  readonly schemas: {
    /** The row, hidden fields included (never sent as such). */
    record: TObject
    /** What responses and events carry (with embedded references). */
    response: TObject
    data: TObject
    patch: TObject
    query: TSchema
  }
  readonly validators: {
    data: (data: unknown) => Promise<unknown>
    patch: (data: unknown) => Promise<unknown>
    query: (query: unknown) => Promise<unknown>
  }
  readonly resolvers: {
    data: Resolver<any, HookContext>
    patch: Resolver<any, HookContext>
    query?: Resolver<any, HookContext>
    external: Resolver<any, HookContext>
  }
}

export type AnyResource = Resource<any>

/** The record type of a declared resource: `RecordOfResource<typeof patients>`. */
export type RecordOfResource<R> = R extends Resource<infer D> ? RecordOf<D> : never
