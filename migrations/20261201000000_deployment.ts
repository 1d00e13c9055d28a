import type { Knex } from 'knex'

/**
 * The deployment's identity: one random id per database, made here once. Instances on the same
 * database read the same id whatever host name they reach it by, and it names what they share on
 * Redis (events, login counts), so another deployment on the same Redis never sees any of it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE deployment (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      only_row boolean NOT NULL DEFAULT true UNIQUE CHECK (only_row)
    );
    INSERT INTO deployment DEFAULT VALUES;
  `)
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('deployment')
}
