import type { TProperties } from '@feathersjs/typebox'
import { snakeCase } from '../database/naming'
import type { AnyResource, FieldName, IndexDeclaration } from './declaration'

/**
 * A table the server keeps for itself and serves through no resource (the sessions and their
 * refresh tokens, the deployment's identity): declared in the same vocabulary, so that the same
 * migration writer makes it and the same drift check holds it to its declaration, and its
 * statements take its names from here.
 */
export interface TableDeclaration<F extends TProperties = TProperties> {
  readonly table: string
  readonly description: string
  /** The columns, as fields (src/declarative/fields.ts): `lastUsedAt` is the column `last_used_at`. */
  readonly fields: F
  /** The primary key's fields (default: an `id`, a UUID made by the database). */
  readonly primaryKey?: readonly FieldName<F>[]
  /** Whether rows have `createdAt`, the moment of their insert (default true). */
  readonly createdAt?: boolean
  readonly references?: {
    readonly [K in FieldName<F>]?: {
      readonly to: AnyResource | InternalTable
      readonly onDelete: 'cascade' | 'set null' | 'restrict'
    }
  }
  readonly unique?: readonly (readonly FieldName<F>[])[]
  readonly indexes?: readonly IndexDeclaration<FieldName<F> | 'id' | 'createdAt'>[]
  /** CHECK constraints beyond the fields' own, by name (`<table>_<name>`): SQL over the columns. */
  readonly checks?: Readonly<Record<string, string>>
}

type ColumnNames<D extends TableDeclaration> = {
  readonly [K in FieldName<D['fields']> | 'id' | 'createdAt']: string
}

export interface InternalTable<D extends TableDeclaration = TableDeclaration> {
  readonly declaration: D
  readonly table: string
  /** Each field's column, for statements written by hand: `sessions.columns.lastUsedAt` is `last_used_at`. */
  readonly columns: ColumnNames<D>
}

export function defineTable<const D extends TableDeclaration>(declaration: D): InternalTable<D> {
  const names = [...Object.keys(declaration.fields), 'id', 'createdAt']
  const listed = [
    ...(declaration.primaryKey ?? []),
    ...Object.keys(declaration.references ?? {}),
    ...(declaration.unique ?? []).flat(),
    ...(declaration.indexes ?? []).flatMap((index) => index.fields)
  ]
  const unknown = listed.filter((name) => !names.includes(name))
  if (unknown.length > 0) {
    throw new Error(
      `The declaration of the table '${declaration.table}' names no such field: ${unknown.join(', ')}`
    )
  }
  return {
    declaration,
    table: declaration.table,
    columns: Object.fromEntries(names.map((name) => [name, snakeCase(name)])) as ColumnNames<D>
  }
}

export const isInternalTable = (target: AnyResource | InternalTable): target is InternalTable =>
  !('path' in target)
