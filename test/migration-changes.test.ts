import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { Knex } from 'knex'
import knex from 'knex'
import { migrateToLatest } from '../src/database/knex'
import { driftOf } from '../src/declarative/database/drift'
import { newMigration } from '../src/declarative/database/new-migration'
import type { Operation } from '../src/declarative/database/differ'
import type { AnyResource } from '../src/declarative/declaration'
import { defaulted, integer, number, oneOf, optional, text, uuid } from '../src/declarative/fields'
import { defineResource } from '../src/declarative/resource'
import { startServer } from '../src/server'
import { resources, tables } from '../src/services'
import { doctors } from '../src/services/doctors'
import { createScratchDatabase, http, signUp } from './helpers'
import type { TestUser } from './helpers'
import { testContext } from './setup'

/**
 * Day two, end to end: a throwaway resource (a path no real resource can take, `fake-trials`, with
 * the table `zz_trials`) goes through every kind of change a declaration makes. At each step the migration is
 * written by `migration:new`'s own function (from what the migrations build on a shadow
 * database), the drift check refuses the database before it is applied and passes after, the
 * rows there were are still there, and at the end a server serves them. Then every migration's
 * `down` takes the database back, step by step, to what the declaration before it said.
 */

const TABLE = 'zz_trials'
let versions = 0

/** The trial resource as a step declares it (each its own schema names). */
const trials = (declaration: Record<string, unknown>) =>
  defineResource({
    path: 'fake-trials',
    table: TABLE,
    name: `ZzTrial${++versions}`,
    description: 'A throwaway resource that day two changes',
    owner: { field: 'userId' },
    ...declaration
  } as any) as AnyResource

interface Step {
  what: string
  /** The resource as declared after the step; none once it is removed. */
  resource?: AnyResource
  /** What each operation of the step's migration says it does, in order. */
  summaries: RegExp[]
  /** What the step does by hand before its migration is applied (rows a narrowing would refuse). */
  before?: (db: Knex) => Promise<void>
  /** What the step checks of the rows afterwards. */
  rows?: (db: Knex) => Promise<void>
}

const first = {
  code: text(20),
  score: integer({ minimum: 0, maximum: 100 }),
  status: defaulted(oneOf(['open', 'done']), 'open')
}
const added = { ...first, note: optional(text(100)), label: defaulted(text(20), 'none') }
const changed = {
  ...added,
  code: text(40),
  score: number({ minimum: 0, maximum: 1000 })
}
const required = {
  ...changed,
  note: defaulted(text(100), '-'),
  status: defaulted(oneOf(['open', 'done']), 'done')
}
const moreValues = { ...required, status: defaulted(oneOf(['open', 'done', 'late']), 'done') }
const referring = { ...required, doctorId: optional(uuid()) }
const { label: _label, ...withoutLabel } = referring
const renamed = { ...withoutLabel, title: defaulted(text(20), 'none') }
const { note: _note, ...withoutNote } = renamed

const rowsOf = (db: Knex) => db.raw(`SELECT * FROM ${TABLE} ORDER BY code`).then(({ rows }) => rows)

const steps = (alice: () => TestUser, doctor: () => string): Step[] => [
  {
    what: 'a new resource',
    resource: trials({ fields: first }),
    summaries: [/^create the table zz_trials \(id, code, score, status, user_id, created_at, updated_at\)$/],
    rows: async (db) => {
      // Rows the next steps must keep, of a real user.
      await db.raw(`INSERT INTO ${TABLE} (code, score, user_id) VALUES ('A-1', 7, ?), ('B-2', 99, ?)`, [
        alice().id,
        alice().id
      ])
      await db.raw(`INSERT INTO ${TABLE} (code, score, status, user_id) VALUES ('C-3', 0, 'done', ?)`, [
        alice().id
      ])
    }
  },
  {
    what: 'added fields, one optional and one with a default',
    resource: trials({ fields: added }),
    summaries: [
      /^zz_trials\.note: add the column \(varchar\(100\), may be null\)$/,
      /^zz_trials\.label: add the column \(varchar\(20\), not null, default 'none'\)$/
    ],
    rows: async (db) => {
      const rows = await rowsOf(db)
      assert.deepEqual(
        rows.map(({ code, note, label }: any) => [code, note, label]),
        [
          ['A-1', null, 'none'],
          ['B-2', null, 'none'],
          ['C-3', null, 'none']
        ]
      )
      await db.raw(`UPDATE ${TABLE} SET note = 'kept' WHERE code = 'A-1'`)
    }
  },
  {
    what: 'a longer text, another type of number and a wider range',
    resource: trials({ fields: changed }),
    summaries: [
      /^zz_trials\.score: drop the check of its range \(between 0 and 100\)$/,
      /^zz_trials\.code: change the type from varchar\(20\) to varchar\(40\)$/,
      /^zz_trials\.score: change the type from smallint to double precision$/,
      /^zz_trials\.score: check its range \(between 0 and 1000\)$/
    ],
    rows: async (db) => {
      await db.raw(`UPDATE ${TABLE} SET score = 512.5, code = ? WHERE code = 'B-2'`, ['B-2'.padEnd(30, '.')])
    }
  },
  {
    what: 'an optional field made required with a default, and another default',
    resource: trials({ fields: required }),
    summaries: [
      /^zz_trials\.status: default 'done'$/,
      /^zz_trials\.note: may not be null \(rows holding NULL take the default, '-'\)$/,
      /^zz_trials\.note: default '-'$/
    ],
    rows: async (db) => {
      const rows = await rowsOf(db)
      assert.deepEqual(
        rows.map(({ note, score }: any) => [note, score]),
        [
          ['kept', 7],
          ['-', 512.5],
          ['-', 0]
        ]
      )
    }
  },
  {
    what: 'an enum value added',
    resource: trials({ fields: moreValues }),
    summaries: [
      /^zz_trials\.status: drop the check of its values \('open', 'done'\)$/,
      /^zz_trials\.status: check its values \('open', 'done', 'late'\)$/
    ],
    rows: async (db) => {
      await db.raw(`UPDATE ${TABLE} SET status = 'late' WHERE code = 'A-1'`)
    }
  },
  {
    what: 'the enum value removed again (its rows changed first), a unique key added',
    resource: trials({ fields: required, unique: [['userId', 'code']] }),
    // The migration would refuse a row that holds the value removed: such rows change first.
    before: async (db) => {
      await db.raw(`UPDATE ${TABLE} SET status = 'open' WHERE status = 'late'`)
    },
    summaries: [
      /^zz_trials\.status: drop the check of its values \('open', 'done', 'late'\)$/,
      /^zz_trials\.status: check its values \('open', 'done'\)$/,
      /^zz_trials: add the unique key zz_trials_user_id_code_unique \(user_id, code\)$/
    ]
  },
  {
    what: 'a reference to a doctor, removed with it (SET NULL)',
    resource: trials({
      fields: referring,
      unique: [['userId', 'code']],
      references: { doctorId: { to: doctors, notFound: 'Doctor not found', onDelete: 'set null' } }
    }),
    summaries: [
      /^zz_trials\.doctor_id: add the column \(uuid, may be null\)$/,
      /^zz_trials: add the index zz_trials_doctor_id_index \(doctor_id\)$/,
      /^zz_trials: add the foreign key zz_trials_doctor_id_foreign \(doctor_id\) → doctors\(id\) ON DELETE SET NULL$/
    ],
    rows: async (db) => {
      await db.raw(`UPDATE ${TABLE} SET doctor_id = ? WHERE code = 'A-1'`, [doctor()])
    }
  },
  {
    what: "the reference's ON DELETE changed, the history switched on, counts kept",
    resource: trials({
      fields: referring,
      unique: [['userId', 'code']],
      references: { doctorId: { to: doctors, notFound: 'Doctor not found', onDelete: 'cascade' } },
      history: true,
      ownerCounts: 'zz_trial_counts'
    }),
    summaries: [
      /^create the function zz_trials_version\(\)$/,
      /^create the function zz_trials_history_write\(\)$/,
      /^create the function zz_trials_history_append_only\(\)$/,
      /^create the function zz_trial_counts_add\(\)$/,
      /^create the function zz_trial_counts_subtract\(\)$/,
      /^create the function zz_trial_counts_move\(\)$/,
      /^zz_trials: drop the foreign key zz_trials_doctor_id_foreign .* ON DELETE SET NULL, to make it again$/,
      /^create the table zz_trials_history \(record_id, version, action, user_id, owner_id, at, data\)$/,
      /^create the table zz_trial_counts \(user_id, slot, total\)$/,
      /^zz_trials\.version: add the column \(integer, not null, default 1, between 1 and 2147483647\)$/,
      /^zz_trials: add the foreign key zz_trials_doctor_id_foreign .* ON DELETE CASCADE$/,
      /^zz_trials_history: create the trigger zz_trials_history_append_only$/,
      /^zz_trials_history: create the trigger zz_trials_history_no_truncate$/,
      /^zz_trials: create the trigger zz_trials_first_version$/,
      /^zz_trials: create the trigger zz_trials_next_version$/,
      /^zz_trials: create the trigger zz_trials_versioned$/,
      /^zz_trials: create the trigger zz_trials_counted_add$/,
      /^zz_trials: create the trigger zz_trials_counted_subtract$/,
      /^zz_trials: create the trigger zz_trials_counted_move$/,
      /^fill zz_trials_history from the rows of zz_trials$/,
      /^fill zz_trial_counts from the rows of zz_trials$/
    ],
    rows: async (db) => {
      const { rows: versions } = await db.raw(
        `SELECT h.version, h.action, h.data->>'code' AS code FROM zz_trials_history h ORDER BY code`
      )
      assert.deepEqual(
        versions.map(({ version, action }: any) => [version, action]),
        [
          [1, 'create'],
          [1, 'create'],
          [1, 'create']
        ]
      )
      const { rows: counts } = await db.raw(
        'SELECT sum(total)::int AS total FROM zz_trial_counts WHERE user_id = ?',
        [alice().id]
      )
      assert.equal(counts[0].total, 3)
    }
  },
  {
    what: 'a field renamed, as the declaration says',
    resource: trials({
      fields: renamed,
      renamed: { title: 'label' },
      unique: [['userId', 'code']],
      references: { doctorId: { to: doctors, notFound: 'Doctor not found', onDelete: 'cascade' } },
      history: true,
      ownerCounts: 'zz_trial_counts'
    }),
    summaries: [/^zz_trials\.label: rename the column to title \(the declaration's `renamed`\)$/],
    rows: async (db) => {
      assert.deepEqual(
        (await rowsOf(db)).map(({ title }: any) => title),
        ['none', 'none', 'none']
      )
    }
  },
  {
    what: 'a field removed, the history switched off, no counts, no unique key',
    resource: trials({
      fields: withoutNote,
      references: { doctorId: { to: doctors, notFound: 'Doctor not found', onDelete: 'cascade' } }
    }),
    summaries: [
      // The database's triggers, in the order of their names.
      /^zz_trials: drop the trigger zz_trials_counted_add$/,
      /^zz_trials: drop the trigger zz_trials_counted_move$/,
      /^zz_trials: drop the trigger zz_trials_counted_subtract$/,
      /^zz_trials: drop the trigger zz_trials_first_version$/,
      /^zz_trials: drop the trigger zz_trials_next_version$/,
      /^zz_trials: drop the trigger zz_trials_versioned$/,
      /^zz_trials_history: drop the trigger zz_trials_history_append_only$/,
      /^zz_trials_history: drop the trigger zz_trials_history_no_truncate$/,
      /^zz_trials: drop the unique key zz_trials_user_id_code_unique \(user_id, code\)$/,
      /^zz_trials\.note: drop the column \(varchar\(100\), not null, default '-'\)$/,
      /^zz_trials\.version: drop the column \(integer, not null, default 1, between 1 and 2147483647\)$/,
      /^drop the table zz_trial_counts$/,
      /^drop the table zz_trials_history$/,
      /^drop the function zz_trial_counts_add\(\)$/,
      /^drop the function zz_trial_counts_move\(\)$/,
      /^drop the function zz_trial_counts_subtract\(\)$/,
      /^drop the function zz_trials_history_append_only\(\)$/,
      /^drop the function zz_trials_history_write\(\)$/,
      /^drop the function zz_trials_version\(\)$/
    ],
    rows: async (db) => {
      assert.deepEqual(
        (await rowsOf(db)).map(({ code, score, status, doctor_id: doctorId }: any) => [
          code,
          score,
          status,
          doctorId
        ]),
        [
          ['A-1', 7, 'open', doctor()],
          ['B-2'.padEnd(30, '.'), 512.5, 'open', null],
          ['C-3', 0, 'done', null]
        ]
      )
    }
  }
]

describe('day two of a declared resource: every kind of change, as migration:new writes it', function () {
  this.timeout(10 * 60_000)
  let directory: string
  let database: { url: string; drop: () => Promise<unknown> }
  let db: Knex
  let alice: TestUser
  let doctor: string
  const written: Array<{ step: Step; operations: Operation[] }> = []

  before(async () => {
    directory = await fs.mkdtemp(path.join(os.tmpdir(), 'zz-trials-migrations-'))
    database = await createScratchDatabase()
    const { settings } = testContext()
    // A user and a doctor of the API's own making, on the scratch database.
    const server = await startServer({ ...settings, database: { ...settings.database, url: database.url } })
    try {
      alice = await signUp('Alice', server.url)
      const created = await http('POST', '/api/doctors', {
        token: alice.token,
        body: { name: 'Dr. Who', age: 50, specialty: 'Time' },
        baseUrl: server.url
      })
      assert.equal(created.status, 201, JSON.stringify(created.body))
      doctor = created.body.id
    } finally {
      await server.stop()
    }
    // Knex as it comes, not the server's client: that one prepares each statement once per
    // connection, and a prepared `SELECT *` refuses a table whose columns have changed since.
    db = knex({ client: 'pg', connection: database.url, pool: { min: 0, max: 2 } })
  })

  after(async () => {
    await db?.destroy()
    await database?.drop()
    await fs.rm(directory, { recursive: true, force: true })
  })

  it('writes, at each step, the migration the change needs: refused before it is applied, kept after, rows and all', async () => {
    const { settings } = testContext()
    for (const step of steps(
      () => alice,
      () => doctor
    )) {
      const declared = step.resource ? [...resources, step.resource] : resources
      const log: string[] = []
      const { file, operations } = await newMigration({
        settings: settings.database,
        path: 'fake-trials',
        resources: declared,
        tables,
        directory,
        log: (line) => log.push(line)
      })
      assert.ok(file, `${step.what}: no migration written\n${log.join('\n')}`)
      assert.deepEqual(
        operations
          .map(({ summary }) => summary)
          .filter((summary, index) => !step.summaries[index]?.test(summary)),
        [],
        `${step.what}: ${operations.map(({ summary }) => summary).join('\n')}`
      )
      assert.equal(operations.length, step.summaries.length, `${step.what}: ${log.join('\n')}`)
      assert.match(log.at(-1)!, new RegExp(`^Wrote .*${path.basename(file)}: review it`))
      if (step.resource) {
        assert.ok(
          (await driftOf(db, declared, tables)).length > 0,
          `${step.what}: the old table passed the drift check`
        )
      }
      await step.before?.(db)
      await migrateToLatest(db, [directory])
      if (step.resource) {
        assert.deepEqual(await driftOf(db, declared, tables), [], step.what)
      }
      await step.rows?.(db)
      written.push({ step, operations })
    }
  })

  it('serves the rows there were through the API, as the last declaration says', async () => {
    const { settings } = testContext()
    const last = written.at(-1)!.step.resource!
    const server = await startServer(
      { ...settings, database: { ...settings.database, url: database.url } },
      { resources: [...resources, last], migrations: [directory] }
    )
    try {
      const page = await http('GET', `/fake-trials?$sort[code]=1`, {
        token: alice.token,
        baseUrl: server.url
      })
      assert.equal(page.status, 200, JSON.stringify(page.body))
      assert.deepEqual(
        page.body.data.map(({ code, score, status, title, doctorId }: any) => [
          code,
          score,
          status,
          title,
          doctorId
        ]),
        [
          ['A-1', 7, 'open', 'none', doctor],
          ['B-2'.padEnd(30, '.'), 512.5, 'open', 'none', null],
          ['C-3', 0, 'done', 'none', null]
        ]
      )
      const create = await http('POST', '/fake-trials', {
        token: alice.token,
        body: { code: 'D-4', score: 1000 },
        baseUrl: server.url
      })
      assert.equal(create.status, 201, JSON.stringify(create.body))
      assert.deepEqual([create.body.status, create.body.title, create.body.doctorId], ['done', 'none', null])
      const outOfRange = await http('POST', '/fake-trials', {
        token: alice.token,
        body: { code: 'E-5', score: 1001 },
        baseUrl: server.url
      })
      assert.equal(outOfRange.status, 400)
      await db.raw(`DELETE FROM ${TABLE} WHERE code = 'D-4'`)
    } finally {
      await server.stop()
    }
  })

  // A removed resource is no longer declared: `migration:new -- <table>` names what it leaves behind.
  it('removes the resource: its table is dropped with a warning, by the migration of its table', async () => {
    const { settings } = testContext()
    const log: string[] = []
    const { operations } = await newMigration({
      settings: settings.database,
      path: TABLE,
      resources,
      tables,
      directory,
      log: (line) => log.push(line)
    })
    assert.deepEqual(
      operations.map(({ summary, warning }) => [summary, warning]),
      [
        [
          'drop the table zz_trials',
          'drops zz_trials and all its rows (the down migration makes it again, empty)'
        ]
      ]
    )
    assert.ok(
      log.some((line) => line.includes('WARNING: drops zz_trials and all its rows')),
      log.join('\n')
    )
    await migrateToLatest(db, [directory])
    const { rows } = await db.raw(`SELECT to_regclass('${TABLE}') AS found`)
    assert.equal(rows[0].found, null)
  })

  it("goes back step by step: each migration's down leaves what the declaration before it said", async () => {
    // First the removal's: the table comes back (empty: its rows went with it) as it was.
    await downOnce(db, directory)
    const declared = written.map(({ step }) => step.resource!)
    assert.deepEqual(
      await driftOf(db, [...resources, declared.at(-1)!], tables),
      [],
      'back before the removal'
    )
    for (let index = declared.length - 1; index >= 1; index--) {
      await downOnce(db, directory)
      assert.deepEqual(
        await driftOf(db, [...resources, declared[index - 1]], tables),
        [],
        `back before: ${written[index].step.what}`
      )
    }
    await downOnce(db, directory)
    const { rows } = await db.raw(`SELECT to_regclass('${TABLE}') AS found`)
    assert.equal(rows[0].found, null)
  })
})

/** Runs the `down` of the newest migration of `directory` that is applied. */
async function downOnce(db: Knex, directory: string) {
  const files = (await fs.readdir(directory)).filter((file) => file.endsWith('.ts')).sort()
  const { rows } = await db.raw('SELECT name FROM knex_migrations ORDER BY id DESC')
  const applied = new Set(rows.map(({ name }: { name: string }) => name))
  const newest = files.reverse().find((file) => applied.has(path.basename(file, '.ts')))
  assert.ok(newest, 'no applied migration left to take back')
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const migration = require(path.join(directory, newest))
  await db.transaction(async (trx) => {
    await migration.down(trx)
    await trx('knex_migrations')
      .where({ name: path.basename(newest, '.ts') })
      .delete()
  })
}
