import assert from 'node:assert/strict'
import { Type } from '@feathersjs/typebox'
import type { Knex } from 'knex'
import { createKnex } from '../../src/database/knex'
import { ilike, text, timestamp, uuid } from '../../src/declarative/fields'
import { MAX_LIST_ITEMS, MAX_OFFSET, querySyntaxFor } from '../../src/declarative/query'
import { RecordService } from '../../src/declarative/runtime/record-service'
import { compileQueryValidator } from '../../src/declarative/validators'

// Query translation: what the query syntax of a resource accepts (and how it coerces a query
// string's text), and the SQL the record service builds of an accepted query.

const record = Type.Object({
  id: uuid(),
  name: text(200),
  age: Type.Integer({ minimum: 0, maximum: 150 }),
  createdAt: timestamp()
})
const validate = compileQueryValidator(querySyntaxFor(record, { name: ilike() }))

const many = <T>(count: number, item: (index: number) => T) =>
  Array.from({ length: count }, (_, index) => item(index))
const ID = '0b7e1a4e-9a39-4a8e-8f57-2f1d0b6f1c11'

describe('unit: the query syntax of a resource', () => {
  const accepted: Array<[string, Record<string, unknown>, Record<string, unknown>]> = [
    ['nothing', {}, {}],
    ['equality on each field', { id: ID, name: 'x', age: 3 }, { id: ID, name: 'x', age: 3 }],
    [
      "a query string's numbers, as numbers",
      { age: '42', $limit: '5', $skip: '10' },
      { age: 42, $limit: 5, $skip: 10 }
    ],
    [
      'the comparison operators',
      { age: { $gt: '1', $gte: 2, $lt: 3, $lte: 4, $ne: 5 } },
      { age: { $gt: 1, $gte: 2, $lt: 3, $lte: 4, $ne: 5 } }
    ],
    [
      'lists of 100 items',
      { age: { $in: many(100, (i) => i), $nin: ['1'] } },
      { age: { $in: many(100, (i) => i), $nin: [1] } }
    ],
    ['$ilike where it is allowed', { name: { $ilike: '%a%' } }, { name: { $ilike: '%a%' } }],
    ['$sort up and down', { $sort: { name: '1', age: -1 } }, { $sort: { name: 1, age: -1 } }],
    ['$select of fields', { $select: ['name', 'age'] }, { $select: ['name', 'age'] }],
    ['20 $or clauses', { $or: many(20, () => ({ age: 1 })) }, { $or: many(20, () => ({ age: 1 })) }],
    [
      '$or inside $and',
      { $and: [{ $or: [{ age: 1 }, { name: 'x' }] }, { age: 2 }] },
      { $and: [{ $or: [{ age: 1 }, { name: 'x' }] }, { age: 2 }] }
    ],
    [
      'the largest $limit and $skip',
      { $limit: MAX_OFFSET, $skip: MAX_OFFSET },
      { $limit: MAX_OFFSET, $skip: MAX_OFFSET }
    ],
    ['$limit 0', { $limit: 0 }, { $limit: 0 }],
    [
      '1,000 values in all',
      { $or: many(10, () => ({ age: { $in: many(100, (i) => i) } })) },
      { $or: many(10, () => ({ age: { $in: many(100, (i) => i) } })) }
    ]
  ]
  for (const [name, query, expected] of accepted) {
    it(`accepts ${name}`, async () => {
      assert.deepEqual(await validate(structuredClone(query)), expected)
    })
  }

  /** Each refusal as `<instancePath> <keyword>` per problem found, or the message of a BadRequest. */
  const refused: Array<[string, unknown, string[] | string]> = [
    ['an unknown field', { nope: 1 }, [' additionalProperties']],
    ['an unknown operator', { age: { $foo: 1 } }, ['/age type', '/age additionalProperties', '/age anyOf']],
    [
      '$ilike on a field without it',
      { age: { $ilike: '1' } },
      ['/age type', '/age additionalProperties', '/age anyOf']
    ],
    ['$regex', { name: { $regex: '.*' } }, ['/name type', '/name additionalProperties', '/name anyOf']],
    ['a value of the wrong type', { age: 'abc' }, ['/age type', '/age type', '/age anyOf']],
    ['a negative $limit', { $limit: -1 }, ['/$limit minimum']],
    ['a $limit past PostgreSQL', { $limit: MAX_OFFSET + 1 }, ['/$limit maximum']],
    ['a fractional $skip', { $skip: '1.5' }, ['/$skip type']],
    ['$sort by 2', { $sort: { name: 2 } }, ['/$sort/name maximum']],
    ['$sort by an unknown field', { $sort: { nope: 1 } }, ['/$sort additionalProperties']],
    ['$sort that is no object', { $sort: 'name' }, ['/$sort type']],
    ['$select of an unknown field', { $select: ['password'] }, ['/$select/0 enum']],
    ['$select of a field twice', { $select: ['name', 'name'] }, ['/$select uniqueItems']],
    [
      `a list of ${MAX_LIST_ITEMS + 1} items`,
      { age: { $in: many(MAX_LIST_ITEMS + 1, () => 1) } },
      ['/age type', '/age/$in maxItems', '/age anyOf']
    ],
    ['21 $or clauses', { $or: many(21, () => ({ age: 1 })) }, ['/$or maxItems']],
    ['$or that is no list', { $or: 'x' }, ['/$or type']],
    ['null', { age: null }, [' type']],
    ['null as $limit', { $limit: null }, [' type']],
    ['a boolean', { age: true }, [' type']],
    ['a boolean in a list', { age: { $in: [false] } }, [' type']],
    ['a number past what a double holds', { age: '1e309' }, [' storable']],
    ['half a surrogate pair', { name: 'a\ud800' }, [' storable']],
    [
      '1,001 values in all',
      { $or: many(11, (i) => ({ age: { $in: many(i === 10 ? 1 : 100, (j) => j) } })) },
      'A query may hold at most 1000 values'
    ],
    [
      'values multiplied by nested clauses',
      { $and: many(20, () => ({ $or: many(20, () => ({ age: { $in: many(100, (i) => i) } })) })) },
      'A query may hold at most 1000 values'
    ]
  ]
  for (const [name, query, expected] of refused) {
    it(`refuses ${name}`, async () => {
      const error: any = await validate(query).then(
        () => assert.fail('accepted'),
        (failure) => failure
      )
      if (typeof expected === 'string') {
        assert.deepEqual([error.name, error.message], ['BadRequest', expected])
      } else {
        assert.equal(error.message, 'validation failed')
        assert.deepEqual(
          error.errors.map(({ instancePath, keyword }: any) => `${instancePath} ${keyword}`),
          expected
        )
      }
    })
  }
})

describe('unit: the SQL of a page', () => {
  let db: Knex
  let plain: RecordService<any, any>
  let related: RecordService<any, any>

  before(() => {
    // The app's Knex (its naming convention and client), never connected: only SQL is built.
    db = createKnex('postgres://nobody@127.0.0.1:1/nothing', {
      pool: { min: 0, max: 1 },
      timeouts: { connectMs: 1, acquireMs: 1, statementMs: 1, healthMs: 1 }
    })
    const options = {
      Model: db,
      name: 'patients',
      columns: ['id', 'name', 'userId', 'createdAt'],
      operators: ['$ilike']
    }
    plain = new RecordService(options)
    related = new RecordService({
      ...options,
      name: 'mappings',
      columns: ['id', 'doctorId'],
      relations: {
        doctor: {
          table: 'doctors',
          foreignKey: 'doctorId',
          schema: Type.Object({ id: uuid(), createdAt: timestamp() })
        }
      }
    })
  })

  after(() => db.destroy())

  const COLUMNS = '"patients"."id", "patients"."name", "patients"."user_id", "patients"."created_at"'
  const rows: Array<[string, Record<string, unknown>, string, unknown[]]> = [
    [
      'no query: oldest first, then by id, so pages never overlap',
      {},
      `select ${COLUMNS} from "patients" order by "created_at" asc, "id" asc`,
      []
    ],
    [
      'a sort: by it, then by id',
      { $sort: { name: -1 } },
      `select ${COLUMNS} from "patients" order by "name" desc, "id" asc`,
      []
    ],
    [
      'a sort by id: by nothing else',
      { $sort: { id: -1 } },
      `select ${COLUMNS} from "patients" order by "id" desc`,
      []
    ],
    [
      '$select: those fields and the id',
      { $select: ['name'] },
      'select "patients"."name", "patients"."id" from "patients" order by "created_at" asc, "id" asc',
      []
    ],
    [
      'equality, in snake_case',
      { userId: 'u', name: 'x' },
      `select ${COLUMNS} from "patients" where "user_id" = ? and "name" = ? order by "created_at" asc, "id" asc`,
      ['u', 'x']
    ],
    [
      'operators',
      { name: { $ilike: 'a%' }, age: { $in: [1, 2], $gte: 3, $ne: 9 } },
      `select ${COLUMNS} from "patients" where "name" ilike ? and "age" in (?, ?) and "age" >= ? and not "age" = ? order by "created_at" asc, "id" asc`,
      ['a%', 1, 2, 3, 9]
    ],
    [
      '$nin',
      { age: { $nin: [1] } },
      `select ${COLUMNS} from "patients" where "age" not in (?) order by "created_at" asc, "id" asc`,
      [1]
    ],
    [
      '$or beside a field',
      { userId: 'u', $or: [{ name: 'x' }, { age: 1 }] },
      `select ${COLUMNS} from "patients" where "user_id" = ? and (("name" = ?) or ("age" = ?)) order by "created_at" asc, "id" asc`,
      ['u', 'x', 1]
    ],
    [
      '$and of $or',
      { $and: [{ $or: [{ name: 'x' }, { name: 'y' }] }, { age: { $lt: 5 } }] },
      `select ${COLUMNS} from "patients" where (((("name" = ?) or ("name" = ?))) and ("age" < ?)) order by "created_at" asc, "id" asc`,
      ['x', 'y', 5]
    ],
    [
      'paging: not part of the query itself (the page adds it)',
      { $limit: 5, $skip: 10 },
      `select ${COLUMNS} from "patients" order by "created_at" asc, "id" asc`,
      []
    ]
  ]
  for (const [name, query, sql, bindings] of rows) {
    it(name, () => {
      const built = plain.createQuery({ query } as any).toSQL()
      assert.deepEqual([built.sql, built.bindings], [sql, bindings])
    })
  }

  it('embeds a related record in the same statement, in its API form', () => {
    const built = related.createQuery({ query: { $select: ['doctorId'] } } as any).toSQL()
    assert.equal(
      built.sql,
      'select "mappings"."doctor_id", "mappings"."id", ' +
        `(SELECT json_build_object('id', "related_doctor"."id", 'createdAt', to_char("related_doctor"."created_at" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')) ` +
        'FROM "doctors" AS "related_doctor" WHERE "related_doctor"."id" = "mappings"."doctor_id") AS "doctor" ' +
        'from "mappings" order by "created_at" asc, "id" asc'
    )
  })
})
