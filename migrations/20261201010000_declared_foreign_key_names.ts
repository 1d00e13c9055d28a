import type { Knex } from 'knex'

// The foreign key a mapping is owned through, named as src/declarative/references.ts names it.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(
    'ALTER TABLE mappings RENAME CONSTRAINT mappings_patient_owner_foreign TO mappings_patient_id_owner_foreign'
  )
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(
    'ALTER TABLE mappings RENAME CONSTRAINT mappings_patient_id_owner_foreign TO mappings_patient_owner_foreign'
  )
}
