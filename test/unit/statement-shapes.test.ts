import assert from 'node:assert/strict'
import type { Knex } from 'knex'
import { StatementShapes } from '../../src/database/statement-shapes'
import { testDatabase } from '../helpers'

// The statements a RecordService keeps per shape of call (src/database/statement-shapes.ts), on
// the test database: a kept statement answers what knex's own would, for every value.

describe('unit: statements kept per shape', () => {
  let db: Knex
  let shapes: StatementShapes
  let builds: unknown[][]

  const TABLE = 'fake_statement_shapes'
  /** Rows whose name and age match, as knex builds the query. */
  const byNameAndAge = (values: readonly unknown[]) => {
    builds.push([...values])
    return db(TABLE)
      .select('rowId', 'name', 'age')
      .where({ name: values[0] as string })
      .andWhere(values[1] === null ? db.raw('age IS NULL') : db.raw('age = ?', [values[1] as number]))
      .orderBy('rowId')
  }

  before(async () => {
    db = testDatabase()
    await db.schema.dropTableIfExists(TABLE)
    await db.schema.createTable(TABLE, (table) => {
      table.integer('row_id').primary()
      table.text('name')
      table.integer('age').nullable()
    })
    await db(TABLE).insert([
      { rowId: 1, name: 'ada', age: 36 },
      { rowId: 2, name: 'ada', age: null },
      { rowId: 3, name: 'bob', age: 36 }
    ])
  })

  after(() => db.schema.dropTableIfExists(TABLE))

  beforeEach(() => {
    shapes = new StatementShapes()
    builds = []
  })

  it('builds a shape once, and answers each call with its own values in the API’s names', async () => {
    assert.deepEqual(await shapes.rows(db, 'by name and age', ['ada', 36], byNameAndAge), [
      { rowId: 1, name: 'ada', age: 36 }
    ])
    assert.deepEqual(await shapes.rows(db, 'by name and age', ['bob', 36], byNameAndAge), [
      { rowId: 3, name: 'bob', age: 36 }
    ])
    assert.deepEqual(await shapes.rows(db, 'by name and age', ['eve', 36], byNameAndAge), [])
    assert.equal(builds.length, 1)
    assert.equal(builds[0][0], '\u0000value 0\u0000')
  })

  it('a null is a shape of its own (knex writes IS NULL where it would bind a value)', async () => {
    await shapes.rows(db, 'by name and age', ['ada', 36], byNameAndAge)
    assert.deepEqual(await shapes.rows(db, 'by name and age', ['ada', null], byNameAndAge), [
      { rowId: 2, name: 'ada', age: null }
    ])
    assert.equal(builds.length, 2)
    assert.equal(builds[1][1], null)
  })

  it('a number is bound as a number, and a boolean is part of the shape', async () => {
    const olderThan = (given: readonly unknown[]) => {
      builds.push([...given])
      return db(TABLE)
        .select('rowId')
        .where('age', '>', given[0] as number)
        .andWhere(db.raw(given[1] ? 'true' : 'false'))
    }
    assert.deepEqual(await shapes.rows(db, 'older', [30, true], olderThan), [{ rowId: 1 }, { rowId: 3 }])
    assert.deepEqual(await shapes.rows(db, 'older', [40, true], olderThan), [])
    assert.deepEqual(await shapes.rows(db, 'older', [30, false], olderThan), [])
    assert.deepEqual(
      builds.map(([age, flag]) => [typeof age, flag]),
      [
        ['number', true],
        ['number', false]
      ]
    )
  })

  it('a number written into the SQL text instead of bound is never kept either', async () => {
    const olderThan = (given: readonly unknown[]) => {
      builds.push([...given])
      return db(TABLE)
        .select('rowId')
        .whereRaw(`age > ${Number(given[0])}`)
        .orderBy('rowId')
    }
    assert.deepEqual(await shapes.rows(db, 'written age', [30], olderThan), [{ rowId: 1 }, { rowId: 3 }])
    assert.deepEqual(await shapes.rows(db, 'written age', [40], olderThan), [])
    assert.deepEqual(
      builds.map(([age]) => age),
      [Number.MIN_SAFE_INTEGER, 30, 40]
    )
  })

  it('values that are not plain are built by knex every time, with the values themselves', async () => {
    const values = ['ada', new Date(0)]
    const build = (given: readonly unknown[]) => {
      builds.push([...given])
      return db(TABLE)
        .select('rowId')
        .where({ name: given[0] as string })
        .andWhere('age', '<>', 0)
    }
    await shapes.rows(db, 'with a date', values, build)
    await shapes.rows(db, 'with a date', values, build)
    assert.deepEqual(builds, [values, values])
  })

  it('a value written into the SQL text instead of bound is never kept', async () => {
    const literal = (given: readonly unknown[]) => {
      builds.push([...given])
      return db(TABLE)
        .select('rowId')
        .whereRaw(`name = '${String(given[0])}'`)
    }
    assert.deepEqual(await shapes.rows(db, 'literal', ['ada'], literal), [{ rowId: 1 }, { rowId: 2 }])
    assert.deepEqual(await shapes.rows(db, 'literal', ['bob'], literal), [{ rowId: 3 }])
    assert.deepEqual(
      builds.map(([value]) => value),
      ['\u0000value 0\u0000', 'ada', 'bob']
    )
  })
})
