// Feathers' own adapter test suite (@feathersjs/adapter-tests, the version of our @feathersjs
// packages) run against the record service (src/declarative/runtime/record-service.ts), on a
// table of its own: its query syntax ($sort, $select, $in, $or, $and, operators), paging and
// errors are the ones every Feathers database adapter has. The tests that differ by design run
// too, and must fail the way the reason below says: should the service come to agree with Feathers
// there, the row is removed. Multi-record writes (`multi`) pass: the service makes them as Feathers
// does, though no declared service enables them (their schemas take one record).
import assert from 'node:assert/strict'
import { feathers } from '@feathersjs/feathers'
import { errors } from '@feathersjs/errors'
import type { AdapterTestName } from '@feathersjs/adapter-tests'
// The suite's three parts, called one by one (their files in lib/ are not the package's documented
// entry): its own entry point marks each test left out as pending and prints their list, while
// here every test runs, the ones that differ by design included. Should the files move, this
// import fails at once.
import basicTests from '@feathersjs/adapter-tests/lib/basic'
import methodTests from '@feathersjs/adapter-tests/lib/methods'
import syntaxTests from '@feathersjs/adapter-tests/lib/syntax'
import { RecordService } from '../src/declarative/runtime/record-service'
import { testDatabase } from './helpers'

const SERVICE = 'fake-people'
const TABLE = 'fake_people'

/** How a test of the suite fails against the record service, and why that is right here. */
interface Difference {
  reason: string
  /** The suite's assertion that fails, as `assert.rejects` matches it. */
  fails: Record<string, unknown>
}

// Record ids are UUIDs made by the database: an id that is not one names no record, a 400 before
// any statement (not the 404 of a record that is not there), on every transport.
const NOT_A_UUID: Difference = {
  reason: 'ids are UUIDs: anything else is a 400 (BadRequest), not a 404',
  fails: { name: 'AssertionError', actual: 'BadRequest', expected: 'NotFound' }
}

const DIFFERENT_BY_DESIGN: Partial<Record<AdapterTestName, Difference>> = {
  '.get + NotFound': NOT_A_UUID,
  '.get + NotFound (integer)': NOT_A_UUID,
  '.remove + NotFound': NOT_A_UUID,
  '.remove + NotFound (integer)': NOT_A_UUID,
  '.update + NotFound': NOT_A_UUID,
  '.update + NotFound (integer)': NOT_A_UUID,
  '.patch + NotFound': NOT_A_UUID,
  '.patch + NotFound (integer)': NOT_A_UUID,
  '.update': {
    reason:
      'update writes the fields it is given and never empties the others: the update schema ' +
      'requires every writable field, and the rest (owner, creator, timestamps, version) is the ' +
      "server's, which a replacement must not null",
    fails: { name: 'AssertionError', message: 'data.age is falsy' }
  }
}

// The tests the suite names, each run once: those that differ must differ as said.
const run: AdapterTestName[] = []

function test(name: AdapterTestName, runner: () => unknown) {
  run.push(name)
  const difference = DIFFERENT_BY_DESIGN[name]
  if (!difference) {
    it(name, async () => runner())
    return
  }
  it(`${name}: differs by design, ${difference.reason}`, async () => {
    await assert.rejects(async () => runner(), difference.fails)
  })
}

describe("Feathers' adapter tests on the record service", () => {
  const app = feathers()

  before(async () => {
    const db = testDatabase()
    await db.schema.dropTableIfExists(TABLE)
    await db.schema.createTable(TABLE, (table) => {
      table.uuid('id').primary().defaultTo(db.raw('gen_random_uuid()'))
      table.string('name').notNullable()
      table.integer('age')
      table.bigInteger('time')
      table.boolean('created')
      // The record service pages oldest first, then by id.
      table.timestamp('createdAt', { useTz: true }).notNullable().defaultTo(db.fn.now())
    })
    app.use(
      SERVICE,
      new RecordService({
        Model: db,
        name: TABLE,
        columns: ['id', 'name', 'age', 'time', 'created', 'createdAt'],
        events: ['testing']
      })
    )
  })

  after(async () => {
    await testDatabase().schema.dropTableIfExists(TABLE)
  })

  basicTests(test, app, errors, SERVICE, 'id')
  methodTests(test, app, errors, SERVICE, 'id')
  syntaxTests(test, app, errors, SERVICE, 'id')

  it('every difference listed is a test of the suite', () => {
    assert.deepEqual(
      Object.keys(DIFFERENT_BY_DESIGN).filter((name) => !run.includes(name as AdapterTestName)),
      []
    )
  })
})
