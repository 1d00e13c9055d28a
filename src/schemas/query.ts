import { Type, queryProperties, sortDefinition } from '@feathersjs/typebox'
import type { TObject, TSchema } from '@feathersjs/typebox'

// PostgreSQL's LIMIT and OFFSET are bigints; anything past this is a 400, never a database error.
const MAX_OFFSET = 2 ** 31 - 1
const MAX_CLAUSES = 20

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
 * with integer, bounded `$limit` and `$skip` and a bounded number of `$or` / `$and` clauses.
 */
export function querySyntaxFor<T extends TObject, X extends { [K in keyof T['properties']]?: { [key: string]: TSchema } }>(
  type: T,
  extensions: X = {} as X
) {
  const properties = queryProperties(type, extensions)
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
