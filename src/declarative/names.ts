import { snakeCase } from '../database/naming'
import type { Declaration, RecordProperties, Resource } from './declaration'

type ColumnNames<D extends Declaration> = { readonly [K in keyof RecordProperties<D> & string]: string }

/**
 * A declared resource's table and column names, for statements written by hand (the audit trail's,
 * the sessions'): `namesOf(audit).recordId` is `record_id`. A misspelt field does not compile.
 */
export function namesOf<D extends Declaration>(
  resource: Resource<D>
): { table: string; columns: ColumnNames<D> } {
  return {
    table: resource.table,
    columns: Object.fromEntries(resource.columns.map((field) => [field, snakeCase(field)])) as ColumnNames<D>
  }
}
