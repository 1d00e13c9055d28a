import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { createKnex } from '../src/database/knex'
import { resources, tables } from '../src/services'
import { doctors } from '../src/services/doctors'
import { patients } from '../src/services/patients'
import { oneOf, text, timestamp, uuid } from '../src/declarative/fields'
import { startServer } from '../src/server'
import type { RunningServer } from '../src/server'
import { driftOf } from '../src/declarative/database/drift'
import { migrationSource } from '../src/declarative/database/migration-writer'
import { declaredState } from '../src/declarative/database/columns'
import { diffSchemas } from '../src/declarative/database/differ'
import { defineResource } from '../src/declarative/resource'
import type { AnyResource } from '../src/declarative/declaration'
import { contractTests } from './contract'
import {
  createScratchDatabase,
  http,
  signUp,
  startOtherDeployment,
  validDoctor,
  validPatient
} from './helpers'
import type { TestUser } from './helpers'
import { testContext } from './setup'

// A resource a new user would add: one declaration and its generated migration, no other edit.
const visits = defineResource({
  path: 'visits',
  description: "Visits of the caller's own patients",
  fields: {
    patientId: uuid(),
    doctorId: uuid(),
    seenAt: timestamp(),
    notes: text(2000),
    status: oneOf(['planned', 'done', 'cancelled'])
  },
  owner: { through: 'patientId' },
  references: {
    patientId: { to: patients, notFound: 'Patient not found', onDelete: 'cascade' },
    doctorId: { to: doctors, notFound: 'Doctor not found', onDelete: 'cascade' }
  },
  patchable: ['seenAt', 'notes', 'status'],
  publish: 'owner',
  audit: true,
  history: true,
  api: {}
})

/**
 * The visits migration as `npm run migration:new -- visits` writes it, in a folder of its own:
 * the operations from what the migrations build (what the declarations say, `migration:check`
 * holds them to it) to that with visits.
 */
async function writeVisitsMigration() {
  const directory = await fs.mkdtemp(path.join(os.tmpdir(), 'visits-migration-'))
  const operations = diffSchemas(
    declaredState(resources, tables),
    declaredState([...resources, visits], tables)
  )
  await fs.writeFile(
    path.join(directory, '29990101000000_visits.ts'),
    migrationSource(operations, 'npm run migration:new -- visits')
  )
  return directory
}

/** A valid visit of a new patient of `owner`, with a new doctor of `doctorOwner`. */
async function newVisit(server: RunningServer, owner: TestUser, doctorOwner = owner) {
  const post = (user: TestUser, body: unknown, url: string) =>
    http('POST', url, { token: user.token, body, baseUrl: server.url })
  const patient = (await post(owner, validPatient(), '/api/patients')).body
  const doctor = (await post(doctorOwner, validDoctor(), '/api/doctors')).body
  return {
    patientId: patient.id,
    doctorId: doctor.id,
    seenAt: new Date().toISOString(),
    notes: 'Follow-up',
    status: 'planned'
  }
}

describe('a resource added by one declaration', function () {
  this.timeout(60_000)
  let server: RunningServer
  let migrations: string

  before(async () => {
    migrations = await writeVisitsMigration()
    server = await startOtherDeployment(testContext().settings, {
      resources: [...resources, visits],
      migrations: [migrations]
    })
  })

  after(async () => {
    await server?.stop()
    await fs.rm(migrations, { recursive: true, force: true })
  })

  const target = () => ({ url: server.url, db: server.app.get('postgresqlClient') })
  contractTests(visits, target)

  it('is served at /api/visits, documented in /openapi.json, and refuses a patient of someone else', async () => {
    const alice = await signUp('Alice', server.url)
    const bob = await signUp('Bob', server.url)
    const post = (user: TestUser, body: unknown, url: string) =>
      http('POST', url, { token: user.token, body, baseUrl: server.url })
    const visit = await newVisit(server, alice, bob)
    const reply = await post(alice, visit, '/api/visits')
    assert.equal(reply.status, 201, JSON.stringify(reply.body))
    assert.equal(
      (await http('GET', `/api/visits/${reply.body.id}`, { token: alice.token, baseUrl: server.url })).status,
      200
    )
    const refused = await post(bob, visit, '/api/visits')
    assert.deepEqual([refused.status, refused.body.message], [404, 'Patient not found'])
    const document = (await http('GET', '/openapi.json', { baseUrl: server.url })).body
    assert.ok(document.paths['/api/visits/{id}']?.patch, Object.keys(document.paths).join(', '))
    assert.ok(document.components.schemas.Visit)
  })

  it('takes the declaration and its generated migration only: fewer than 30 lines declare it', async () => {
    const source = await fs.readFile(__filename, 'utf8')
    const declaration = source.slice(
      source.indexOf('const visits = defineResource'),
      source.indexOf('})\n') + 2
    )
    assert.ok(declaration.split('\n').length <= 30, `${declaration.split('\n').length} lines`)
  })
})

describe('the drift check: the server does not start on a table that disagrees with its declaration', function () {
  this.timeout(60_000)
  let migrations: string

  before(async () => {
    migrations = await writeVisitsMigration()
  })

  after(async () => {
    await fs.rm(migrations, { recursive: true, force: true })
  })

  /**
   * Migrates a scratch database, changes its visits table with `sql`, then starts a server on it
   * that serves `resource` as visits: 'started' (after `whileRunning`), or why it did not.
   */
  async function startAfter(
    sql: string,
    resource: AnyResource = visits,
    whileRunning = async (_server: RunningServer) => {}
  ) {
    const database = await createScratchDatabase()
    const { settings } = testContext()
    const db = createKnex(database.url, settings.database)
    const start = () =>
      startServer(
        { ...settings, database: { ...settings.database, url: database.url } },
        { resources: [...resources, resource], migrations: [migrations] }
      )
    try {
      await (await start()).stop()
      await db.raw(sql)
      const server = await start()
      await whileRunning(server).finally(() => server.stop())
      return 'started'
    } catch (error) {
      return (error as Error).message
    } finally {
      await db.destroy()
      await database.drop()
    }
  }

  it('refuses a declared field without a column, naming the table and the column', async () => {
    const message = await startAfter('ALTER TABLE visits DROP COLUMN status')
    assert.match(message, /visits\.status: no such column for the declared field 'status'/)
  })

  it('refuses a column whose type, length or nullability disagrees', async () => {
    assert.match(
      await startAfter('ALTER TABLE visits ALTER COLUMN seen_at TYPE text'),
      /visits\.seen_at: the column is text, the declaration says timestamptz/
    )
    assert.match(
      await startAfter('ALTER TABLE visits ALTER COLUMN notes TYPE varchar(100)'),
      /visits\.notes: the column holds 100 characters, the declaration says 2000/
    )
    assert.match(
      await startAfter('ALTER TABLE visits ALTER COLUMN notes DROP NOT NULL'),
      /visits\.notes: the column may be null, the declaration says it may not/
    )
  })

  it('refuses a column the declaration does not know, unless it is declared internal, and never sends it', async () => {
    const extra = "ALTER TABLE visits ADD COLUMN billing_code text NOT NULL DEFAULT 'B-42'"
    assert.match(await startAfter(extra), /visits\.billing_code: a column the declaration does not know/)
    const internal = defineResource({
      ...visits.declaration,
      name: 'InternalVisit',
      internal: ['billing_code']
    })
    const started = await startAfter(extra, internal, async (server) => {
      const alice = await signUp('Alice', server.url)
      const body = await newVisit(server, alice)
      const visit = await http('POST', '/api/visits', { token: alice.token, body, baseUrl: server.url })
      assert.equal(visit.status, 201, JSON.stringify(visit.body))
      const read = await http('GET', `/api/visits/${visit.body.id}`, {
        token: alice.token,
        baseUrl: server.url
      })
      assert.ok(!JSON.stringify([visit.body, read.body]).includes('B-42'), 'an internal column was sent')
    })
    assert.equal(started, 'started')
  })

  it('refuses a missing foreign key of a reference', async () => {
    const message = await startAfter('ALTER TABLE visits DROP CONSTRAINT visits_doctor_id_foreign')
    assert.match(message, /visits: no foreign key visits_doctor_id_foreign/)
  })

  it('checks the history too: its table, its columns, no foreign key to what it outlives, and its triggers', async () => {
    const message = await startAfter(`
      ALTER TABLE visits DROP COLUMN version CASCADE;
      ALTER TABLE visits_history ALTER COLUMN data TYPE text;
      ALTER TABLE visits_history ADD CONSTRAINT visits_history_record_foreign
        FOREIGN KEY (record_id) REFERENCES visits (id);
      DROP TRIGGER visits_versioned ON visits;
      DROP TRIGGER visits_history_append_only ON visits_history`)
    for (const problem of [
      /visits\.version: no such column for the declared field 'version'/,
      /visits_history\.data: the column is text, the declaration says jsonb/,
      /visits_history: a foreign key visits_history_record_foreign \(record_id\) → visits\(id\) ON DELETE NO ACTION the declaration does not know/,
      /visits: no trigger visits_versioned \(of 'visits'\)/,
      /visits: no trigger visits_next_version/,
      /visits_history: no trigger visits_history_append_only/
    ]) {
      assert.match(message, problem)
    }
    assert.match(
      await startAfter('DROP TABLE visits_history'),
      /visits_history: no such table, which the declaration of 'visits' needs/
    )
  })

  it('checks the real tables too: they match every declaration', async () => {
    assert.deepEqual(await driftOf(testContext().server.app.get('postgresqlClient'), resources, tables), [])
  })
})

describe('a declaration without an owner rule', () => {
  it('does not start', () => {
    assert.throws(
      () =>
        defineResource({
          path: 'loose',
          description: 'Nobody said whose',
          fields: { note: text(10) }
        } as any),
      /The declaration of 'loose' has no owner rule/
    )
  })

  it('owned through a field that is no reference to an owned resource does not start either', () => {
    assert.throws(
      () =>
        defineResource({
          path: 'loose',
          description: 'x',
          fields: { doctorId: uuid() },
          owner: { through: 'doctorId' }
        }),
      /owned through 'doctorId', which must be a reference to an owned resource/
    )
  })
})
