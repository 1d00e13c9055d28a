import type { Knex } from 'knex'

// No foreign key to users: the trail outlives the accounts it describes.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('audit', (table) => {
    table.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'))
    table.uuid('user_id').nullable()
    table.string('action', 32).notNullable()
    table.string('service', 64).notNullable()
    table.uuid('record_id').nullable()
    table.string('ip', 64).nullable()
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now())
    table.index(['user_id', 'created_at'], 'audit_user_id_created_at_index')
  })
  // Append-only below the API too: no UPDATE or DELETE, whoever connects.
  await knex.raw(`
    CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'audit records are append-only' USING ERRCODE = 'insufficient_privilege';
    END $$;
    CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
      FOR EACH ROW EXECUTE FUNCTION audit_append_only();
  `)
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('audit')
  await knex.raw('DROP FUNCTION audit_append_only()')
}
