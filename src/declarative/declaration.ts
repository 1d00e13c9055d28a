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

/** The names of a declaration's own fields. */
export type FieldName<F extends TProperties> = keyof F & string

/** The fields whose values are text: those `search` may name (any name, of fields not yet known). */
export type TextFieldName<F extends TProperties> = string extends keyof F
  ? string
  : { [K in keyof F]: NonNullable<Static<F[K]>> extends string ? K : never }[keyof F] & string

/**
 * Who owns a record, and so who may reach it. Every declaration says it: one without an owner rule
 * does not start.
 */
export type OwnerRule<F extends TProperties = TProperties> =
  /** The caller's records: `field` is set to the caller on create, and every query is scoped to it. */
  | { readonly field: string }
  /** The record is the caller (users): every query is scoped to the caller's id. */
  | { readonly self: true }
  /**
   * Owned through a reference to one of the caller's records (a mapping through its patient): the
   * owner is kept in `field` (default `userId`), set to the caller on create, checked against the
   * referenced record by the database, and never sent.
   */
  | { readonly through: FieldName<F>; readonly field?: string }
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
  /** Embed the referenced record in every result under this name (not a field's name). */
  readonly embed?: string
}

/** An index beyond those the declaration implies (the owner's pages, each foreign key). */
export interface IndexDeclaration<N extends string = string> {
  /** The indexed fields, in order. */
  readonly fields: readonly N[]
  /** The index's name (default `<table>_<columns>_index`). */
  readonly name?: string
  /** A partial index: the rows it holds, as SQL (checked for presence, not compared as text). */
  readonly where?: string
}

/**
 * A property resolver of the declaration's own: `(value, data, context) => the value stored`. Written
 * as a method's type so that a resolver may take its field's own type (`password: string | undefined`).
 */
export type PropertyResolver = {
  resolve(value: unknown, data: unknown, context: HookContext): Promise<unknown>
}['resolve']

/**
 * Everything a declaration may say. `F` is its fields, `O` its owner rule and `N` the names a
 * record has (its fields and the server's: `id`, `createdAt`, `updatedAt`, `version`, the owner's
 * and the creator's): every option that names a field is typed against them, so a misspelt name
 * does not compile (defineResource, `TypedDeclaration`), and is refused at startup when it gets
 * past the compiler (resource.ts, `checkDeclaration`).
 */
export interface Declaration<
  F extends TProperties = TProperties,
  O extends OwnerRule<F> = OwnerRule<F>,
  N extends string = string
> {
  /** The Feathers service path, also the table's name unless `table` says otherwise. */
  readonly path: string
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
  readonly queryable?: readonly N[]
  /** Text fields that take `$ilike`. */
  readonly search?: readonly TextFieldName<F>[]
  readonly references?: { readonly [K in FieldName<F>]?: Reference }
  /** Sets of fields no two records share (a 409). */
  readonly unique?: readonly (readonly N[])[]
  /** Whether records have `updatedAt` (default true); `createdAt` they always have. */
  readonly updatedAt?: boolean
  /** The order of a page when the client gives none (default oldest first). */
  readonly sort?: { readonly [K in N]?: 1 | -1 }
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
  /**
   * The REST alias: `/api/<path>` and `/api/<path>/:id`. With `findBy`, `GET /api/<path>/:value`
   * finds the records whose field has that value; on a resource that offers `get`, that takes the
   * get's route, which the declaration must say with `replacesGet: true` (the get stays at
   * `/<path>/:id` and on every socket).
   */
  readonly api?: { readonly findBy?: N; readonly replacesGet?: true }
  /** Columns of the table that the declaration does not describe, e.g. kept for the database's own use. */
  readonly internal?: readonly string[]
  /**
   * Each owner's number of records, kept by the database in this table (slots per connection,
   * written by statement triggers), so that a page's total is read instead of counted.
   */
  readonly ownerCounts?: O extends { field: string } | { through: string } ? string : never
  /** The table's name when it is not the path. */
  readonly table?: string
  /** The schemas' `$id` stem (`Patient`): default the path without its plural `s`, capitalised. */
  readonly name?: string
  /** Extra property resolvers: on create (`data`) and on update and patch (`patch`). */
  readonly resolve?: {
    readonly data?: { readonly [K in N]?: PropertyResolver }
    readonly patch?: { readonly [K in N]?: PropertyResolver }
  }
  /** Hooks of this resource only; they run before the ones the declaration makes. */
  readonly hooks?: Record<string, unknown>
  /** More for the API documentation: a method's summary, or `false` to leave it out. */
  readonly docs?: { readonly operations?: Record<string, unknown> }
  /** Indexes beyond the ones the declaration implies. */
  readonly indexes?: readonly IndexDeclaration<N>[]
  /** CHECK constraints beyond the fields' own, by name (`<table>_<name>`): SQL over the columns. */
  readonly checks?: Readonly<Record<string, string>>
  /** Rows are never updated or deleted, whoever connects (a trigger refuses it). */
  readonly appendOnly?: boolean
  /** Ids made by the database: random (default), or in time order (UUID version 7, for a table that only grows). */
  readonly ids?: 'random' | 'time-ordered'
  /**
   * Fields renamed, by their former names: `migration:new` renames the column instead of dropping
   * the old one and adding the new. Once that migration is applied the entry may go.
   */
  readonly renamed?: { readonly [K in FieldName<F>]?: string }
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
/**
 * A query of `D`'s records: a field equal to a value, or Feathers' operators on it (`{ $gte: 18 }`),
 * and `$limit`, `$sort`, `$or`, … beside. The query schema says which are allowed (resource.ts).
 */
export type QueryOf<D extends Declaration> = {
  [K in keyof RecordOf<D>]?: RecordOf<D>[K] | { readonly [operator: `$${string}`]: unknown }
} & Record<string, unknown>

/** The names a record of `D` has: its fields and the server's. */
export type NamesOf<D extends Declaration> =
  | FieldName<D['fields']>
  | 'id'
  | 'createdAt'
  | (D extends { updatedAt: false } ? never : 'updatedAt')
  | (D extends { history: true | HistorySettings } ? 'version' : never)
  | OwnerFieldOf<D['owner']>
  | CreatorFieldOf<D['owner']>

/** Names that stay on the server: no query may name them. */
type HiddenOf<D extends Declaration> =
  WriteOnlyOf<D> | (D['owner'] extends { through: string } ? OwnerFieldOf<D['owner']> : never)

/** What a misspelt key is typed as: an error that names it (an object, so it never merges into `never`). */
type NotAName<K> = { readonly [M in `'${K & string}' is not a field of this declaration`]: never }

/** An object keyed by names: each key that is not one of `Allowed` is typed as the error it is. */
type KeyedBy<T, Allowed, V> = { readonly [K in keyof T]: K extends Allowed ? V : NotAName<K> }

/** A reference whose embedded record would take the name of one of the record's own. */
type ReferenceIn<R, N> = R extends { embed: infer E extends string }
  ? E extends N
    ? Reference & { readonly embed: `'${E}' is a name of the record itself: embed under another` }
    : Reference
  : Reference

type ReferencesOf<D extends Declaration> = {
  readonly [K in keyof D['references']]: K extends FieldName<D['fields']>
    ? ReferenceIn<D['references'][K], NamesOf<D>>
    : NotAName<K>
}

type OffersGet<D> = D extends { methods: readonly (infer M)[] } ? ('get' extends M ? true : false) : true

/** `api.findBy` on a resource that offers `get` takes the get's route: `replacesGet: true` says so. */
type ApiOf<D extends Declaration> = D extends { api: { findBy: string } }
  ? OffersGet<D> extends true
    ? { readonly findBy: NamesOf<D>; readonly replacesGet: true }
    : { readonly findBy: NamesOf<D> }
  : { readonly findBy?: NamesOf<D> }

/**
 * `D` with every option that names a field typed against its own fields (and, where a record's
 * names will do, the server's): what `defineResource` takes, so that a misspelt name is a compile
 * error at the name.
 */
export type TypedDeclaration<D extends Declaration> = Declaration<
  D['fields'],
  OwnerRule<D['fields']>,
  NamesOf<D>
> & {
  readonly owner: OwnerRule<D['fields']>
  readonly queryable?: readonly Exclude<NamesOf<D>, HiddenOf<D>>[]
  readonly sort?: KeyedBy<D['sort'], Exclude<NamesOf<D>, HiddenOf<D>>, 1 | -1>
  readonly references?: ReferencesOf<D>
  readonly resolve?: {
    readonly data?: KeyedBy<NonNullable<D['resolve']>['data'], NamesOf<D>, PropertyResolver>
    readonly patch?: KeyedBy<NonNullable<D['resolve']>['patch'], NamesOf<D>, PropertyResolver>
  }
  readonly api?: ApiOf<D>
  readonly ownerCounts?: D['owner'] extends { field: string } | { through: string }
    ? string
    : { readonly 'records nobody owns have no owner to count by': never }
}

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
    data: Resolver<AnyRecord, HookContext>
    patch: Resolver<AnyRecord, HookContext>
    query?: Resolver<AnyRecord, HookContext>
    external: Resolver<AnyRecord, HookContext>
  }
}

export type AnyResource = Resource<Declaration>

/** What a resource's resolvers take and give: a record, the data of a write, or a query. */
export type AnyRecord = Record<string, unknown>

/** The record type of a declared resource: `RecordOfResource<typeof patients>`. */
export type RecordOfResource<R> = R extends Resource<infer D> ? RecordOf<D> : never
