import type { Knex } from 'knex'

function timestamps(knex: Knex, table: Knex.CreateTableBuilder) {
  table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now())
  table.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now())
}

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('patients', (table) => {
    table.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'))
    table.uuid('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE')
    table.string('name', 200).notNullable()
    table.smallint('age').notNullable()
    table.string('disease', 500).notNullable()
    timestamps(knex, table)
    // Mappings reference (id, user_id) so a mapping's owner is always its patient's owner.
    table.unique(['id', 'user_id'], { indexName: 'patients_id_user_id_unique' })
    // Pages are ordered by (created_at, id): one index serves scoping, order and the count.
    table.index(['user_id', 'created_at', 'id'], 'patients_user_id_created_at_id_index')
    table.check('age BETWEEN 0 AND 150', [], 'patients_age_range')
  })

  await knex.schema.createTable('doctors', (table) => {
    table.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'))
    // A removed user's doctors stay in the shared directory, without a creator.
    table.uuid('created_by').nullable().references('id').inTable('users').onDelete('SET NULL')
    table.string('name', 200).notNullable()
    table.smallint('age').notNullable()
    table.string('specialty', 200).notNullable()
    timestamps(knex, table)
    table.index(['created_by'], 'doctors_created_by_index')
    table.index(['created_at', 'id'], 'doctors_created_at_id_index')
    table.check('age BETWEEN 18 AND 120', [], 'doctors_age_range')
  })

  await knex.schema.createTable('mappings', (table) => {
    table.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'))
    table.uuid('patient_id').notNullable()
    table.uuid('doctor_id').notNullable()
    // The patient's owner, kept here so access is one indexed equality like the other services.
    table.uuid('user_id').notNullable()
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now())
    table
      .foreign(['patient_id', 'user_id'], 'mappings_patient_owner_foreign')
      .references(['id', 'user_id'])
      .inTable('patients')
      .onDelete('CASCADE')
    table
      .foreign('doctor_id', 'mappings_doctor_id_foreign')
      .references('id')
      .inTable('doctors')
      .onDelete('CASCADE')
    table.unique(['patient_id', 'doctor_id'], { indexName: 'mappings_patient_id_doctor_id_unique' })
    table.index(['user_id', 'created_at', 'id'], 'mappings_user_id_created_at_id_index')
    table.index(['doctor_id'], 'mappings_doctor_id_index')
  })
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('mappings')
  await knex.schema.dropTable('doctors')
  await knex.schema.dropTable('patients')
}
