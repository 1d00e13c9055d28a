import type { Operation } from './differ'

/**
 * A knex migration of operations (differ.ts), as TypeScript source: each operation's statements
 * in `up`, in order, after a comment that says what it does; their `down` statements in reverse.
 * An operation that loses data, or may fail on the rows there are, says so in a WARNING comment.
 */

/** SQL as a template literal of the migration's source. */
const sqlSource = (sql: string) => `\`${sql.replace(/[\\`]|\$\{/g, (match) => `\\${match}`)}\``

const statements = (sqls: string[]) => sqls.map((sql) => `  await knex.raw(${sqlSource(sql)})\n`).join('')

const comment = (text: string) => `  // ${text.replace(/\n/g, ' ')}\n`

function upOf(operation: Operation) {
  return [
    operation.warning ? comment(`WARNING: ${operation.warning}`) : '',
    comment(operation.summary),
    statements(operation.up)
  ].join('')
}

/** The source of the migration file; `command` is named in it as its author. */
export function migrationSource(operations: Operation[], command: string): string {
  if (operations.length === 0) {
    throw new Error('No operations: nothing to migrate')
  }
  const down = [...operations].reverse().flatMap((operation) => operation.down)
  return `import type { Knex } from 'knex'

// Written by \`${command}\` from the declarations in src/services: review it before it is applied.
export async function up(knex: Knex): Promise<void> {
${operations.map(upOf).join('')}}

export async function down(knex: Knex): Promise<void> {
${down.length ? statements(down) : ''}}
`
}
