// What must never reach a client: a stack, SQL, a name of the schema, a file path, a password.
import { testDatabase } from '../helpers'
import { excerptOf } from './failures'

export interface SchemaNames {
  /** Tables, columns, constraints, indexes, functions, triggers with an underscore: never API words. */
  snakeCase: string[]
  /** Every table and column name. */
  identifiers: string[]
}

/** The schema's own names, read from the database the app uses (so new tables are covered too). */
export async function readSchemaNames(): Promise<SchemaNames> {
  const db = testDatabase()
  const names = async (sql: string) =>
    ((await db.raw(sql)).rows as Array<{ name: string }>).map(({ name }) => name)
  const [tables, columns, others] = await Promise.all([
    names(`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()`),
    names(`SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema()`),
    names(`SELECT conname AS name FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = current_schema()
           UNION SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()
           UNION SELECT proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = current_schema()
           UNION SELECT tgname FROM pg_trigger WHERE NOT tgisinternal`)
  ])
  const identifiers = [...new Set([...tables, ...columns])].map((name) => name.toLowerCase())
  const snakeCase = [...new Set([...identifiers, ...others.map((name) => name.toLowerCase())])].filter(
    (name) => name.includes('_')
  )
  return { snakeCase, identifiers }
}

export const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

export interface LeakRule {
  kind: string
  pattern: RegExp
}

/**
 * What counts as a leak, matched on the lower-cased JSON text of an answer after everything the
 * request itself sent has been cut out of it (an error may echo the caller's own input, e.g. "No
 * record found for id '…'"; that is not a leak):
 * - a stack: a `"stack":` key, an escaped newline followed by `at `, or `at … (/file:1:2)`;
 * - SQL: select…from, insert into, update … set, delete from, with … as (, returning, `$1`-style
 *   placeholders, and PostgreSQL's or Knex's own error phrases;
 * - a schema name: any table, column, constraint, index, function or trigger name that contains an
 *   underscore (`user_id`, `created_at`, `patient_counts`, `mappings_doctor_id_foreign`): the API
 *   speaks camelCase, so it never has a reason to say one; any table or column name in double
 *   quotes (`"patients"`, `"age"`), the way PostgreSQL and Knex quote identifiers; and PostgreSQL's
 *   `relation "`, `column "`, `constraint "`. A bare single word such as `patients` or `age` is NOT a
 *   leak: it is also a service or an API field name ("Service 'patients' not found", "must have
 *   required property 'age'");
 * - a file path: /node_modules/, /src/, a `.ts:`/`.js:` position, /work/, /home/, /usr/, node:internal;
 * - a password: a `"password":` key or an argon2 hash.
 */
export function leakRules({ snakeCase, identifiers }: SchemaNames): LeakRule[] {
  const words = (names: string[]) => names.map(escapeRegExp).join('|')
  return [
    {
      kind: 'stack',
      pattern: /"stack"\s*:|\\n\s*at\s|\bat\s+(?:\S+\s+)?\(?(?:\/|file:|node:)[^\s()"']*:\d+:\d+/
    },
    {
      kind: 'SQL',
      pattern:
        /\bselect\s[\s\S]{0,300}?\sfrom\s|\binsert\s+into\s|\bupdate\s+\S+\s+set\s|\bdelete\s+from\s|\bwith\s+\S+\s+as\s*\(|\breturning\s|(?<![\w$])\$\d+\b|syntax error at or near|invalid input syntax|violates [\w\s-]*constraint|duplicate key value|bind message|undefined binding|\bknex\b|operator does not exist|\bsqlstate\b/
    },
    { kind: 'schema name', pattern: new RegExp(`\\b(?:${words(snakeCase)})\\b`) },
    // (ajv's "must match format \"email\"" names a format, not a column.)
    {
      kind: 'schema name',
      pattern: new RegExp(`(?<!must match format )\\\\"(?:${words(identifiers)})\\\\"`)
    },
    { kind: 'schema name', pattern: /\b(?:relation|column|constraint|table|index|schema)\s+\\"/ },
    {
      kind: 'file path',
      pattern:
        /\/node_modules\/|\/src\/|\.(?:ts|js|mjs|cjs):\d+|\/work\/|\/home\/|\/usr\/|node:internal|file:\/\//
    },
    { kind: 'password', pattern: /"password"\s*:|\$argon2/ },
    // A file of the project served by mistake (package.json, config/*.json).
    { kind: 'file content', pattern: /"devdependencies"\s*:|"authentication"\s*:\s*\{\s*"entity"/ }
  ]
}

/** What could make (part of) a leak: anything else the request sent is harmless when echoed. */
export const LEAK_LIKE =
  /[_"'/\\$:()]|select|insert|update|delete|from|with|returning|stack|\bat\b|knex|relation|column|constraint/

/**
 * Cuts what the request sent out of the answer's text, as is and JSON-escaped: pieces of 4
 * characters or more that could make a leak (searching for every one of 20 000 query keys in a
 * megabyte-sized answer would take minutes).
 */
export function withoutEcho(text: string, sent: Iterable<string>, keep: Set<string>) {
  let result = text.toLowerCase()
  const pieces = [...new Set([...sent].map((piece) => piece.toLowerCase()))]
    .filter((piece) => piece.length >= 4 && !keep.has(piece) && LEAK_LIKE.test(piece))
    .sort((a, b) => b.length - a.length)
  for (const piece of pieces) {
    for (const form of new Set([piece, JSON.stringify(piece).slice(1, -1)])) {
      result = result.split(form).join('«echo»')
    }
  }
  return result
}

/** Every rule the answer's text breaks, with the spot where it does. */
export function leaksIn(text: string, sent: Iterable<string>, rules: LeakRule[], keep: Set<string>) {
  const cleaned = withoutEcho(text, sent, keep)
  return rules.flatMap(({ kind, pattern }) => {
    const match = pattern.exec(cleaned)
    return match ? [{ kind, excerpt: excerptOf(cleaned, match.index) }] : []
  })
}
