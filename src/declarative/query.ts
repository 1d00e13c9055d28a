import { Type, sortDefinition } from '@feathersjs/typebox'
import type { TObject, TSchema, queryProperties } from '@feathersjs/typebox'

// PostgreSQL's LIMIT and OFFSET are bigints; anything past this is a 400, never a database error.
export const MAX_OFFSET = 2 ** 31 - 1
const MAX_CLAUSES = 20
/** Items of one `$in` or `$nin`; src/declarative/validators.ts also bounds the values of a whole query. */
export const MAX_LIST_ITEMS = 100

/** One property's query: a value, or operators on it; lists are bounded. */
function queryProperty(definition: TSchema, extension: Record<string, TSchema> = {}) {
  const list = Type.Array(definition, { maxItems: MAX_LIST_ITEMS })
  const operators = Type.Object(
    {
      $gt: definition,
      $gte: definition,
      $lt: definition,
      $lte: definition,
      $ne: definition,
      $in: list,
      $nin: list,
      ...extension
    },
    { additionalProperties: false }
  )
  return Type.Optional(Type.Union([definition, Type.Partial(operators)]))
}

/** `queryProperties` of @feathersjs/typebox (and its static type), with bounded `$in` and `$nin`. */
function boundedQueryProperties<
  T extends TObject,
  X extends { [K in keyof T['properties']]?: { [key: string]: TSchema } }
>(type: T, extensions: X) {
  const properties = Object.fromEntries(
    Object.entries(type.properties).map(([key, definition]) => [
      key,
      queryProperty(definition, extensions[key as keyof X])
    ])
  )
  return Type.Optional(Type.Object(properties, { additionalProperties: false })) as unknown as ReturnType<
    typeof queryProperties<T, X>
  >
}

function selectableKeys<T extends TObject>(type: T) {
  const keys = Object.keys(type.properties) as Array<keyof T['properties'] & string>
  return Type.Unsafe<Array<keyof T['properties']>>({
    type: 'array',
    maxItems: keys.length,
    uniqueItems: true,
    items: { type: 'string', enum: keys }
  })
}

/**
 * The Feathers query syntax for `type`'s properties, like `querySyntax` from @feathersjs/typebox,
 * with integer, bounded `$limit` and `$skip`, a bounded number of `$or` / `$and` clauses and
 * bounded `$in` / `$nin` lists.
 */
export function querySyntaxFor<
  T extends TObject,
  X extends { [K in keyof T['properties']]?: { [key: string]: TSchema } }
>(type: T, extensions: X = {} as X) {
  const properties = boundedQueryProperties(type, extensions)
  const $or = Type.Array(properties, { maxItems: MAX_CLAUSES })
  const $and = Type.Array(Type.Union([properties, Type.Object({ $or }, { additionalProperties: false })]), {
    maxItems: MAX_CLAUSES
  })
  return Type.Intersect(
    [
      Type.Partial(
        Type.Object(
          {
            $limit: Type.Integer({ minimum: 0, maximum: MAX_OFFSET }),
            $skip: Type.Integer({ minimum: 0, maximum: MAX_OFFSET }),
            $sort: sortDefinition(type),
            $select: selectableKeys(type),
            $and,
            $or
          },
          { additionalProperties: false }
        )
      ),
      properties
    ],
    { additionalProperties: false }
  )
}
