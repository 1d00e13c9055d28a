import knex from 'knex'
import type { Knex } from 'knex'
import { createHash } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import pg from 'pg'
import type { ApplicationConfiguration } from '../configuration'
import { logger } from '../logger'
import { camelCase, snakeCase } from './naming'

// Numeric aggregates (COUNT is bigint) come back as numbers, not strings.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number.parseInt(value, 10))
// Timestamps stay the ISO strings the schemas promise.
pg.types.setTypeParser(pg.types.builtins.TIMESTAMPTZ, (value) => new Date(value).toISOString())

const firstLine = (message: unknown) => String(message).split('\n')[0]

/** Identifiers are few and repeat on every query: convert each once. */
function memoized(convert: (name: string) => string) {
  const known = new Map<string, string>()
  return (name: string) => {
    let converted = known.get(name)
    if (converted === undefined) {
      converted = convert(name)
      if (known.size < 10_000) known.set(name, converted)
    }
    return converted
  }
}

const snakeCaseOf = memoized(snakeCase)
const camelCaseOf = memoized(camelCase)

function camelCaseRow(row: unknown): unknown {
  if (row === null || typeof row !== 'object' || Array.isArray(row)) {
    return row
  }
  const result: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(row)) {
    result[camelCaseOf(key)] = value
  }
  return result
}

/** Rows as the API names their columns: what knex answers for a query it built. */
export const rowsFromDatabase = (rows: unknown[]) => rows.map(camelCaseRow)

/** Columns are snake_case in PostgreSQL and camelCase in the API. */
const namingConvention: Pick<Knex.Config, 'wrapIdentifier' | 'postProcessResponse'> = {
  wrapIdentifier: (value, wrap) => wrap(value === '*' ? value : snakeCaseOf(value)),
  postProcessResponse: (result) => (Array.isArray(result) ? rowsFromDatabase(result) : result)
}

const MIGRATIONS_DIR = path.join(__dirname, '..', '..', 'migrations')
// Compiled JavaScript in lib/, TypeScript when run from the sources.
const MIGRATION_EXTENSION = path.extname(__filename)

/**
 * The migrations of `directories`, in the order of their names (a timestamp first). They are
 * recorded by name without extension, so sources and compiled code agree.
 */
function migrationSourceOf(directories: readonly string[]): Knex.MigrationSource<string> {
  const locations = new Map<string, string>()
  return {
    async getMigrations() {
      for (const directory of directories) {
        const files = await fs.readdir(directory)
        files
          .filter((file) => file.endsWith(MIGRATION_EXTENSION) && !file.endsWith('.d.ts'))
          .forEach((file) =>
            locations.set(path.basename(file, MIGRATION_EXTENSION), path.join(directory, file))
          )
      }
      return [...locations.keys()].sort()
    },
    getMigrationName: (name) => name,
    // A migration is a module of its own, found at run time: sources under tsx, compiled code in lib/.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    getMigration: async (name) => require(locations.get(name)!)
  }
}

export const migrations: Knex.MigratorConfig = {
  migrationSource: migrationSourceOf([MIGRATIONS_DIR]),
  tableName: 'knex_migrations'
}

// Statements that PostgreSQL can prepare: planned once per connection instead of on every call.
const PREPARABLE = /^\s*(select|insert|update|delete|with)\b/i
const MAX_PREPARED_STATEMENTS = 1000

const statementNames = new Map<string, string>()

function statementName(sql: string): string | undefined {
  let name = statementNames.get(sql)
  if (name === undefined && statementNames.size < MAX_PREPARED_STATEMENTS && PREPARABLE.test(sql)) {
    name = 's' + createHash('sha1').update(sql).digest('hex').slice(0, 24)
    statementNames.set(sql, name)
  }
  return name
}

interface QueryRunner {
  _query(connection: unknown, query: { sql: string; options?: Record<string, unknown> }): Promise<unknown>
}

type PostgresClientClass = new (config: Knex.Config) => Knex.Client & QueryRunner

// knex's own PostgreSQL dialect (no typings for its internals), whose `_query` hands `options` to pg
// with the statement: neither is documented (test/unit/library-internals.test.ts checks both).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const PostgresClient: PostgresClientClass = require('knex/lib/dialects/postgres')

/**
 * The PostgreSQL client of knex, with every data statement sent as a named (prepared) statement:
 * planning was most of PostgreSQL's time for our queries (0.37 ms planning vs 0.16 ms executing
 * a page of mappings). The set of names is bounded, so odd query shapes cannot grow it forever.
 */
class PreparedStatementsClient extends PostgresClient {
  _query(connection: unknown, query: { sql: string; options?: Record<string, unknown> }) {
    const name = statementName(query.sql)
    if (name) {
      query.options = { ...query.options, name }
    }
    return super._query(connection, query)
  }
}

export type DatabaseSettings = Pick<ApplicationConfiguration['database'], 'pool' | 'timeouts'>

/**
 * Bounded waits everywhere, so a database that stops answering turns into prompt 503s instead of
 * requests that hang: opening a connection, waiting for a pooled one, and each statement.
 */
export function createKnex(connectionString: string, { pool, timeouts }: DatabaseSettings): Knex {
  return knex({
    client: PreparedStatementsClient as unknown as typeof Knex.Client,
    connection: {
      connectionString,
      connectionTimeoutMillis: timeouts.connectMs,
      statement_timeout: timeouts.statementMs,
      // The client gives up too when the server cannot even say that the statement timed out.
      query_timeout: timeouts.statementMs + timeouts.connectMs
    } as Knex.PgConnectionConfig,
    pool: { ...pool, acquireTimeoutMillis: timeouts.acquireMs, createTimeoutMillis: timeouts.connectMs },
    acquireConnectionTimeout: timeouts.acquireMs,
    // Knex's own warnings (a refused connection while the database is down) as log lines.
    log: {
      warn: (message: unknown) => logger.warn({ knex: firstLine(message) }, 'Database'),
      error: (message: unknown) => logger.error({ knex: firstLine(message) }, 'Database'),
      deprecate: (method: string, alternative: string) =>
        logger.warn({ knex: `${method} is deprecated, use ${alternative}` }, 'Database'),
      debug: () => undefined
    },
    migrations,
    ...namingConvention
  })
}

/** Applies the pending migrations of migrations/ (and of `extraDirectories`, such as a test's). */
export async function migrateToLatest(db: Knex, extraDirectories: readonly string[] = []) {
  const migrationSource = migrationSourceOf([MIGRATIONS_DIR, ...extraDirectories])
  const [, applied] = await db.migrate.latest({ migrationSource })
  return applied as string[]
}
