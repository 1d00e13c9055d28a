import assert from 'node:assert/strict'
import { Type } from '@feathersjs/typebox'
import { declaredState } from '../src/declarative/database/columns'
import { diffSchemas, Phase } from '../src/declarative/database/differ'
import type { Operation } from '../src/declarative/database/differ'
import { migrationSource } from '../src/declarative/database/migration-writer'
import { plainDefault } from '../src/declarative/database/schema-state'
import type { ColumnState, SchemaState, TableState } from '../src/declarative/database/schema-state'
import { defaulted, integer, oneOf, optional, text, uuid } from '../src/declarative/fields'
import { defineResource } from '../src/declarative/resource'
import { resources, tables } from '../src/services'
import { doctors } from '../src/services/doctors'

/**
 * The differ and the migration writer are pure functions: two schema states in, operations out;
 * operations in, a migration's source out. Tested as such, on states written out here and on
 * states the declarations make.
 */

const table = (name: string, columns: ColumnState[], changes: Partial<TableState> = {}): TableState => ({
  name,
  columns: [{ name: 'id', type: 'uuid', nullable: false, default: 'gen_random_uuid()' }, ...columns],
  primaryKey: { name: `${name}_pkey`, columns: ['id'] },
  uniques: [],
  foreignKeys: [],
  indexes: [],
  checks: [],
  triggers: [],
  ...changes
})

const schema = (...tables: TableState[]): SchemaState => ({ tables, functions: [] })

const notes = (columns: ColumnState[], changes: Partial<TableState> = {}) =>
  schema(table('notes', columns, changes))

const text40: ColumnState = { name: 'title', field: 'title', type: 'varchar', length: 40, nullable: false }

const brief = (operations: Operation[]) =>
  operations.map(({ summary, up, down, warning }) => ({ summary, up, down, warning }))

describe('the differ', () => {
  it('finds nothing between a state and itself', () => {
    const state = declaredState(resources, tables)
    assert.deepEqual(diffSchemas(state, state), [])
  })

  it('makes a new table whole: columns, key, checks, keys and foreign keys in one statement, then its indexes', () => {
    const declared = notes(
      [
        { name: 'title', type: 'varchar', length: 40, nullable: false },
        { name: 'status', type: 'text', nullable: false, default: "'open'", values: ['open', 'done'] },
        { name: 'stars', type: 'smallint', nullable: true, range: { minimum: 0, maximum: 5 } },
        { name: 'user_id', type: 'uuid', nullable: false }
      ],
      {
        uniques: [{ name: 'notes_title_unique', columns: ['title'] }],
        foreignKeys: [
          {
            name: 'notes_user_id_foreign',
            columns: ['user_id'],
            table: 'users',
            references: ['id'],
            onDelete: 'CASCADE'
          }
        ],
        indexes: [{ name: 'notes_user_id_index', columns: ['user_id'] }]
      }
    )
    assert.deepEqual(brief(diffSchemas(schema(), declared)), [
      {
        summary: 'create the table notes (id, title, status, stars, user_id)',
        up: [
          `CREATE TABLE notes (
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  title varchar(40) NOT NULL,
  status text NOT NULL DEFAULT 'open',
  stars smallint,
  user_id uuid NOT NULL,
  CONSTRAINT notes_pkey PRIMARY KEY (id),
  CONSTRAINT notes_status_values CHECK (status IN ('open', 'done')),
  CONSTRAINT notes_stars_range CHECK (stars >= 0 AND stars <= 5),
  CONSTRAINT notes_title_unique UNIQUE (title),
  CONSTRAINT notes_user_id_foreign FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
)`,
          'CREATE INDEX IF NOT EXISTS notes_user_id_index ON notes (user_id)'
        ],
        down: ['DROP TABLE notes'],
        warning: undefined
      }
    ])
  })

  it('adds an optional column as nullable, with no warning; a required one without a default warns', () => {
    const optionalTitle = { ...text40, nullable: true }
    assert.deepEqual(brief(diffSchemas(notes([]), notes([optionalTitle]))), [
      {
        summary: 'notes.title: add the column (varchar(40), may be null)',
        up: ['ALTER TABLE notes ADD COLUMN title varchar(40)'],
        down: ['ALTER TABLE notes DROP COLUMN title'],
        warning: undefined
      }
    ])
    const [required] = diffSchemas(notes([]), notes([text40]))
    assert.match(
      required.warning!,
      /^fails if notes has rows: a column that may not be null needs a value in each/
    )
    const [withDefault] = diffSchemas(notes([]), notes([{ ...text40, default: "'untitled'" }]))
    assert.deepEqual(withDefault.up, [
      `ALTER TABLE notes ADD COLUMN title varchar(40) NOT NULL DEFAULT 'untitled'`
    ])
    assert.equal(withDefault.warning, undefined)
  })

  it("adds a column's checks with it", () => {
    const status: ColumnState = { name: 'status', type: 'text', nullable: true, values: ['a', "b'c"] }
    const [operation] = diffSchemas(notes([]), notes([status]))
    assert.deepEqual(operation.up, [
      `ALTER TABLE notes ADD COLUMN status text CONSTRAINT notes_status_values CHECK (status IN ('a', 'b''c'))`
    ])
  })

  it('drops a column with a warning; its down adds it back, empty', () => {
    assert.deepEqual(brief(diffSchemas(notes([text40]), notes([]))), [
      {
        summary: 'notes.title: drop the column (varchar(40), not null)',
        up: ['ALTER TABLE notes DROP COLUMN title'],
        down: ['ALTER TABLE notes ADD COLUMN title varchar(40)'],
        warning:
          'drops notes.title and every value in it (the down migration adds the column back, without them)'
      }
    ])
  })

  it('widens a length without a warning, and warns when it narrows', () => {
    const [wider] = diffSchemas(notes([text40]), notes([{ ...text40, length: 80 }]))
    assert.deepEqual(brief([wider]), [
      {
        summary: 'notes.title: change the type from varchar(40) to varchar(80)',
        up: ['ALTER TABLE notes ALTER COLUMN title TYPE varchar(80)'],
        down: ['ALTER TABLE notes ALTER COLUMN title TYPE varchar(40)'],
        warning: undefined
      }
    ])
    assert.equal(wider.difference, 'notes.title: the column holds 40 characters, the declaration says 80')
    const [narrower] = diffSchemas(notes([text40]), notes([{ ...text40, length: 20 }]))
    assert.equal(narrower.warning, 'fails if a value of notes.title does not fit varchar(20)')
    const [toText] = diffSchemas(notes([text40]), notes([{ ...text40, type: 'text', length: undefined }]))
    assert.equal(toText.warning, undefined)
  })

  it('converts between families of types with USING, and warns', () => {
    const stars: ColumnState = { name: 'stars', type: 'text', nullable: false }
    const [operation] = diffSchemas(notes([stars]), notes([{ ...stars, type: 'integer' }]))
    assert.deepEqual(operation.up, ['ALTER TABLE notes ALTER COLUMN stars TYPE integer USING stars::integer'])
    assert.deepEqual(operation.down, ['ALTER TABLE notes ALTER COLUMN stars TYPE text USING stars::text'])
    assert.equal(operation.difference, 'notes.stars: the column is text, the declaration says integer')
    assert.ok(operation.warning)
    const [wider] = diffSchemas(
      notes([{ ...stars, type: 'smallint' }]),
      notes([{ ...stars, type: 'bigint' }])
    )
    assert.deepEqual(
      [wider.up, wider.warning],
      [['ALTER TABLE notes ALTER COLUMN stars TYPE bigint'], undefined]
    )
  })

  it('makes a column required, filling its NULLs with the default when it has one', () => {
    const optionalTitle = { ...text40, nullable: true }
    const [withDefault, setDefault] = diffSchemas(
      notes([optionalTitle]),
      notes([{ ...text40, default: "'untitled'" }])
    )
    assert.deepEqual(withDefault.up, [
      `UPDATE notes SET title = 'untitled' WHERE title IS NULL`,
      'ALTER TABLE notes ALTER COLUMN title SET NOT NULL'
    ])
    assert.equal(withDefault.warning, undefined)
    assert.deepEqual(setDefault.up, [`ALTER TABLE notes ALTER COLUMN title SET DEFAULT 'untitled'`])
    assert.deepEqual(setDefault.down, ['ALTER TABLE notes ALTER COLUMN title DROP DEFAULT'])
    const [bare] = diffSchemas(notes([optionalTitle]), notes([text40]))
    assert.deepEqual(
      [bare.up, bare.warning],
      [['ALTER TABLE notes ALTER COLUMN title SET NOT NULL'], 'fails if a row holds NULL in notes.title']
    )
    const [optional] = diffSchemas(notes([text40]), notes([optionalTitle]))
    assert.deepEqual(
      [optional.summary, optional.up],
      ['notes.title: may be null', ['ALTER TABLE notes ALTER COLUMN title DROP NOT NULL']]
    )
  })

  it("replaces the check of a column's values: adding one is safe, removing one warns, naming it", () => {
    const status: ColumnState = { name: 'status', type: 'text', nullable: false, values: ['open', 'done'] }
    const added = diffSchemas(notes([status]), notes([{ ...status, values: ['open', 'done', 'late'] }]))
    assert.deepEqual(brief(added), [
      {
        summary: "notes.status: drop the check of its values ('open', 'done')",
        up: ['ALTER TABLE notes DROP CONSTRAINT notes_status_values'],
        down: [`ALTER TABLE notes ADD CONSTRAINT notes_status_values CHECK (status IN ('open', 'done'))`],
        warning: undefined
      },
      {
        summary: "notes.status: check its values ('open', 'done', 'late')",
        up: [
          `ALTER TABLE notes ADD CONSTRAINT notes_status_values CHECK (status IN ('open', 'done', 'late'))`
        ],
        down: ['ALTER TABLE notes DROP CONSTRAINT notes_status_values'],
        warning: undefined
      }
    ])
    assert.equal(
      added[0].difference,
      "notes.status: the column holds one of 'open', 'done', the declaration says 'open', 'done', 'late'"
    )
    const removed = diffSchemas(notes([status]), notes([{ ...status, values: ['open'] }]))
    assert.equal(
      removed[1].warning,
      "fails if a row of notes holds another value in status (no longer allowed: 'done'): change those rows first"
    )
    assert.deepEqual(diffSchemas(notes([status]), notes([{ ...status, values: ['done', 'open'] }])), [])
  })

  it("replaces the check of a column's range, warning when it narrows", () => {
    const stars: ColumnState = {
      name: 'stars',
      type: 'smallint',
      nullable: false,
      range: { minimum: 0, maximum: 5 }
    }
    const wider = diffSchemas(notes([stars]), notes([{ ...stars, range: { minimum: 0, maximum: 10 } }]))
    assert.deepEqual(
      wider.map(({ up }) => up),
      [
        ['ALTER TABLE notes DROP CONSTRAINT notes_stars_range'],
        ['ALTER TABLE notes ADD CONSTRAINT notes_stars_range CHECK (stars >= 0 AND stars <= 10)']
      ]
    )
    assert.equal(wider[1].warning, undefined)
    const narrower = diffSchemas(notes([stars]), notes([{ ...stars, range: { minimum: 1, maximum: 5 } }]))
    assert.equal(
      narrower[1].warning,
      'fails if a value of notes.stars is not between 1 and 5: change those rows first'
    )
  })

  it('adds, drops and renames unique keys; a unique index is dropped as an index', () => {
    const key = { name: 'notes_title_unique', columns: ['title'] }
    const [added] = diffSchemas(notes([text40]), notes([text40], { uniques: [key] }))
    assert.deepEqual(
      [added.up, added.down, added.warning],
      [
        ['ALTER TABLE notes ADD CONSTRAINT notes_title_unique UNIQUE (title)'],
        ['ALTER TABLE notes DROP CONSTRAINT notes_title_unique'],
        'fails if two rows of notes share (title)'
      ]
    )
    const [dropped] = diffSchemas(notes([text40], { uniques: [{ ...key, index: true }] }), notes([text40]))
    assert.deepEqual(
      [dropped.up, dropped.down],
      [
        ['DROP INDEX notes_title_unique'],
        ['ALTER TABLE notes ADD CONSTRAINT notes_title_unique UNIQUE (title)']
      ]
    )
    const [renamed] = diffSchemas(
      notes([text40], { uniques: [{ name: 'notes_title_key', columns: ['title'] }] }),
      notes([text40], { uniques: [key] })
    )
    assert.deepEqual(
      [renamed.phase, renamed.up, renamed.down],
      [
        Phase.Rename,
        ['ALTER TABLE notes RENAME CONSTRAINT notes_title_key TO notes_title_unique'],
        ['ALTER TABLE notes RENAME CONSTRAINT notes_title_unique TO notes_title_key']
      ]
    )
  })

  it('drops and adds a foreign key again when its ON DELETE changes', () => {
    const owner: ColumnState = { name: 'user_id', type: 'uuid', nullable: true }
    const key = {
      name: 'notes_user_id_foreign',
      columns: ['user_id'],
      table: 'users',
      references: ['id'],
      onDelete: 'CASCADE' as const
    }
    const operations = diffSchemas(
      notes([owner], { foreignKeys: [key] }),
      notes([owner], { foreignKeys: [{ ...key, onDelete: 'SET NULL' }] })
    )
    assert.deepEqual(
      operations.map(({ phase, up, down }) => ({ phase, up, down })),
      [
        {
          phase: Phase.DropForeignKey,
          up: ['ALTER TABLE notes DROP CONSTRAINT notes_user_id_foreign'],
          down: [
            'ALTER TABLE notes ADD CONSTRAINT notes_user_id_foreign FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE'
          ]
        },
        {
          phase: Phase.AddForeignKey,
          up: [
            'ALTER TABLE notes ADD CONSTRAINT notes_user_id_foreign FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE SET NULL'
          ],
          down: ['ALTER TABLE notes DROP CONSTRAINT notes_user_id_foreign']
        }
      ]
    )
    assert.equal(
      operations[0].difference,
      'notes: the foreign key notes_user_id_foreign is (user_id) → users(id) ON DELETE CASCADE, the declaration says (user_id) → users(id) ON DELETE SET NULL'
    )
  })

  it('compares indexes by columns and partialness, never by the text of their condition', () => {
    const open = { name: 'notes_open_index', columns: ['title'], where: 'done IS NULL' }
    const actual = {
      ...open,
      where: '(done IS NULL)',
      sql: 'CREATE INDEX notes_open_index ON public.notes USING btree (title) WHERE (done IS NULL)'
    }
    assert.deepEqual(
      diffSchemas(notes([text40], { indexes: [actual] }), notes([text40], { indexes: [open] })),
      []
    )
    const [dropped] = diffSchemas(notes([text40], { indexes: [actual] }), notes([text40]))
    assert.deepEqual([dropped.up, dropped.down], [['DROP INDEX notes_open_index'], [actual.sql]])
  })

  it('renames a column only where the declaration says so, with the checks named after it', () => {
    const old: ColumnState = { name: 'label', type: 'text', nullable: false, values: ['a', 'b'] }
    const renamed = { ...old, name: 'status' }
    const guessed = diffSchemas(notes([old]), notes([renamed]))
    assert.deepEqual(
      guessed.map(({ phase }) => phase),
      [Phase.DropColumn, Phase.AddColumn]
    )
    const said = diffSchemas(notes([old]), notes([renamed], { renamed: { status: 'label' } }))
    assert.deepEqual(brief(said), [
      {
        summary: "notes.label: rename the column to status (the declaration's `renamed`)",
        up: [
          'ALTER TABLE notes RENAME COLUMN label TO status',
          'ALTER TABLE notes RENAME CONSTRAINT notes_label_values TO notes_status_values'
        ],
        down: [
          'ALTER TABLE notes RENAME COLUMN status TO label',
          'ALTER TABLE notes RENAME CONSTRAINT notes_status_values TO notes_label_values'
        ],
        warning: undefined
      }
    ])
    // Once renamed, the hint is idle.
    assert.deepEqual(diffSchemas(notes([renamed]), notes([renamed], { renamed: { status: 'label' } })), [])
  })

  it('creates and drops triggers and functions by name; the startup scope leaves undeclared tables and functions alone', () => {
    const trigger = {
      table: 'notes',
      name: 'notes_guard',
      sql: 'CREATE TRIGGER notes_guard BEFORE DELETE ON notes FOR EACH ROW EXECUTE FUNCTION guard()'
    }
    const guard = {
      name: 'guard',
      sql: 'CREATE FUNCTION guard() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$'
    }
    const declared = { tables: [table('notes', [], { triggers: [trigger] })], functions: [guard] }
    const actual = {
      tables: [table('notes', []), table('stray', [])],
      functions: [{ name: 'unused', sql: 'CREATE FUNCTION unused() …' }]
    }
    assert.deepEqual(
      diffSchemas(actual, declared).map(({ phase, summary, up, down }) => ({ phase, summary, up, down })),
      [
        {
          phase: Phase.CreateFunction,
          summary: 'create the function guard()',
          up: [guard.sql],
          down: ['DROP FUNCTION guard()']
        },
        {
          phase: Phase.DropTable,
          summary: 'drop the table stray',
          up: ['DROP TABLE stray'],
          down: [
            `CREATE TABLE stray (\n  id uuid NOT NULL DEFAULT gen_random_uuid(),\n  CONSTRAINT stray_pkey PRIMARY KEY (id)\n)`
          ]
        },
        {
          phase: Phase.CreateTrigger,
          summary: 'notes: create the trigger notes_guard',
          up: [trigger.sql],
          down: ['DROP TRIGGER notes_guard ON notes']
        },
        {
          phase: Phase.DropFunction,
          summary: 'drop the function unused()',
          up: ['DROP FUNCTION unused()'],
          down: ['CREATE FUNCTION unused() …']
        }
      ]
    )
    assert.deepEqual(
      diffSchemas(actual, declared, { scope: 'declared' }).map(({ difference }) => difference),
      ['no function guard()', 'notes: no trigger notes_guard']
    )
  })

  it('fills a table made for one that has rows (a history, counts) after its triggers', () => {
    const fill = { from: 'notes', sql: 'INSERT INTO notes_log SELECT id FROM notes' }
    const log = table('notes_log', [], { fill })
    const added = diffSchemas(schema(table('notes', [])), schema(table('notes', []), log))
    assert.deepEqual(
      added.map(({ phase }) => phase),
      [Phase.CreateTable, Phase.Fill]
    )
    assert.deepEqual(added[1].up, [fill.sql])
    // Made with the table it fills from: nothing to fill.
    assert.deepEqual(
      diffSchemas(schema(), schema(table('notes', []), log)).map(({ phase }) => phase),
      [Phase.CreateTable, Phase.CreateTable]
    )
  })

  it('orders new tables after those their foreign keys refer to', () => {
    const child = table('child', [{ name: 'parent_id', type: 'uuid', nullable: false }], {
      foreignKeys: [
        {
          name: 'child_parent_id_foreign',
          columns: ['parent_id'],
          table: 'parent',
          references: ['id'],
          onDelete: 'CASCADE'
        }
      ]
    })
    const operations = diffSchemas(schema(), schema(child, table('parent', [])))
    assert.deepEqual(
      operations.map(({ table }) => table),
      ['parent', 'child']
    )
  })
})

describe('the declared state', () => {
  const trials = defineResource({
    path: 'fake-differ-trials',
    table: 'differ_trials',
    description: 'x',
    name: 'DifferTrial',
    fields: {
      title: text(40),
      note: optional(text(200)),
      status: defaulted(oneOf(['open', 'done']), 'open'),
      stars: integer({ minimum: 0, maximum: 5 }),
      weight: Type.Number({ minimum: 0 }),
      doctorId: optional(uuid())
    },
    owner: { field: 'userId' },
    references: { doctorId: { to: doctors, notFound: 'Doctor not found', onDelete: 'set null' } },
    unique: [['userId', 'title']],
    history: true,
    ownerCounts: 'differ_trial_counts'
  })
  const state = declaredState([...resources, trials], tables)
  const trialsTable = state.tables.find(({ name }) => name === 'differ_trials')!
  const column = (name: string) => trialsTable.columns.find((candidate) => candidate.name === name)

  it('gives each field the column its schema accepts', () => {
    assert.deepEqual(column('title'), {
      field: 'title',
      name: 'title',
      nullable: false,
      type: 'varchar',
      length: 40
    })
    assert.deepEqual(column('note'), {
      field: 'note',
      name: 'note',
      nullable: true,
      type: 'varchar',
      length: 200
    })
    assert.deepEqual(column('status'), {
      field: 'status',
      name: 'status',
      nullable: false,
      default: "'open'",
      type: 'text',
      values: ['open', 'done']
    })
    assert.deepEqual(column('stars'), {
      field: 'stars',
      name: 'stars',
      nullable: false,
      type: 'smallint',
      range: { minimum: 0, maximum: 5 }
    })
    assert.deepEqual(column('weight'), {
      field: 'weight',
      name: 'weight',
      nullable: false,
      type: 'double precision',
      range: { minimum: 0 }
    })
    assert.deepEqual(column('doctor_id'), {
      field: 'doctorId',
      name: 'doctor_id',
      nullable: true,
      type: 'uuid'
    })
    assert.deepEqual(column('version')?.range, { minimum: 1, maximum: 2 ** 31 - 1 })
  })

  it('gives it its keys, foreign keys, page index and one index per foreign key', () => {
    assert.deepEqual(trialsTable.uniques, [
      { name: 'differ_trials_user_id_title_unique', columns: ['user_id', 'title'] }
    ])
    assert.deepEqual(
      trialsTable.foreignKeys.map(({ name, onDelete }) => [name, onDelete]),
      [
        ['differ_trials_doctor_id_foreign', 'SET NULL'],
        ['differ_trials_user_id_foreign', 'CASCADE']
      ]
    )
    assert.deepEqual(
      trialsTable.indexes.map(({ name }) => name),
      ['differ_trials_user_id_created_at_id_index', 'differ_trials_doctor_id_index']
    )
  })

  it('gives it its history and its counts, with their triggers and functions', () => {
    assert.deepEqual(
      trialsTable.triggers.map(({ name }) => name),
      [
        'differ_trials_first_version',
        'differ_trials_next_version',
        'differ_trials_versioned',
        'differ_trials_counted_add',
        'differ_trials_counted_subtract',
        'differ_trials_counted_move'
      ]
    )
    assert.ok(state.tables.some(({ name }) => name === 'differ_trials_history'))
    assert.ok(state.tables.some(({ name }) => name === 'differ_trial_counts'))
    assert.deepEqual(
      state.functions.filter(({ of }) => of === 'fake-differ-trials').map(({ name }) => name),
      [
        'differ_trials_version',
        'differ_trials_history_write',
        'differ_trials_history_append_only',
        'differ_trial_counts_add',
        'differ_trial_counts_subtract',
        'differ_trial_counts_move'
      ]
    )
  })
})

describe('the migration writer', () => {
  it('writes each operation after a comment saying what it does, its warning first, and the downs in reverse', () => {
    const operations = diffSchemas(
      notes([{ name: 'body', type: 'text', nullable: false }]),
      notes([{ ...text40, nullable: true }])
    )
    assert.equal(
      migrationSource(operations, 'npm run migration:new -- notes'),
      `import type { Knex } from 'knex'

// Written by \`npm run migration:new -- notes\` from the declarations in src/services: review it before it is applied.
export async function up(knex: Knex): Promise<void> {
  // WARNING: drops notes.body and every value in it (the down migration adds the column back, without them)
  // notes.body: drop the column (text, not null)
  await knex.raw(\`ALTER TABLE notes DROP COLUMN body\`)
  // notes.title: add the column (varchar(40), may be null)
  await knex.raw(\`ALTER TABLE notes ADD COLUMN title varchar(40)\`)
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(\`ALTER TABLE notes DROP COLUMN title\`)
  await knex.raw(\`ALTER TABLE notes ADD COLUMN body text\`)
}
`
    )
  })

  it('keeps SQL as it is inside the template literal: backticks, backslashes and ${ escaped', () => {
    const source = migrationSource(
      [{ phase: Phase.AddKey, summary: 'x', difference: 'x', up: ["SELECT '`\\${x}'"], down: [] }],
      'test'
    )
    assert.ok(source.includes("await knex.raw(`SELECT '\\`\\\\\\${x}'`)"), source)
  })
})

describe('defaults as PostgreSQL reads them back', () => {
  it('are in the form the declarations write', () => {
    assert.equal(plainDefault('CURRENT_TIMESTAMP'), 'now()')
    assert.equal(plainDefault("'-5'::integer"), '-5')
    assert.equal(plainDefault("'open'::text"), "'open'")
    assert.equal(plainDefault("'it''s'::character varying"), "'it''s'")
    assert.equal(plainDefault('gen_random_uuid()'), 'gen_random_uuid()')
    assert.equal(plainDefault(null), undefined)
  })
})
