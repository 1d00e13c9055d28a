import type { Knex } from 'knex'

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('users', (table) => {
    table.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'))
    table.string('name', 100).notNullable()
    table.string('email', 254).notNullable().unique()
    table.text('password').notNullable()
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now())
    table.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now())
  })
  // Emails are compared case-insensitively: the API stores them trimmed and lower-cased.
  await knex.raw(
    `ALTER TABLE users ADD CONSTRAINT users_email_normalised CHECK (email = lower(btrim(email)))`
  )
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('users')
}
