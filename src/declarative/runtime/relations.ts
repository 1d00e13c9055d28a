import type { TObject, TSchema } from '@feathersjs/typebox'
import { snakeCase } from '../../database/naming'
import { shapeOf } from '../fields'

/** A record embedded in each result of another service, e.g. a mapping's `doctor`. */
export interface Relation {
  /** The table of the related record. */
  table: string
  /** The field of this record that holds the related record's id. */
  foreignKey: string
  /** The related record's schema: its fields, in their API form, make up the embedded object. */
  schema: TObject
}

/** The related row as a JSON object with the API's field names and ISO 8601 UTC timestamps. */
function jsonObject(alias: string, schema: TObject) {
  const pairs = Object.entries(schema.properties).map(([field, property]) => {
    const column = `"${alias}"."${snakeCase(field)}"`
    const value =
      shapeOf(property as TSchema).base.format === 'date-time'
        ? `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`
        : column
    return `'${field}', ${value}`
  })
  return `json_build_object(${pairs.join(', ')})`
}

export interface RelationColumn {
  sql: string
  bindings: string[]
}

/**
 * A scalar subquery that embeds the related record in the same statement as the page (or the row
 * written), so relations cost no extra round trip however many records there are. Built once per
 * service; `db.raw(sql, bindings)` per query.
 */
export function relationColumn(table: string, property: string, relation: Relation): RelationColumn {
  const alias = `related_${snakeCase(property)}`
  return {
    sql: `(SELECT ${jsonObject(alias, relation.schema)} FROM ?? AS "${alias}" WHERE "${alias}"."id" = ??.??) AS ??`,
    bindings: [relation.table, table, snakeCase(relation.foreignKey), property]
  }
}
