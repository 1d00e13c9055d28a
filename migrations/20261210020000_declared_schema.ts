import type { Knex } from 'knex'

// Written by `npm run migration:new` from the declarations in src/services: review it before it is applied.
//
// The first migration the differ wrote: what the declarations now say of the tables that were made
// by hand before they could (the sessions', the deployment's, the audit trail's). Names follow the
// declarations' (`<table>_<columns>_foreign`, `_unique`); time-ordered ids come from `uuid_v7()`
// (declared by `ids: 'time-ordered'`); the trail's pages are read along (user_id, created_at, id),
// the order they are sorted in. That index is built with the trail locked for writes: on a large
// trail, build it first with CREATE INDEX CONCURRENTLY under the same name (the migration then
// leaves it as it is).
export async function up(knex: Knex): Promise<void> {
  // create the function uuid_v7()
  await knex.raw(`CREATE FUNCTION uuid_v7() RETURNS uuid LANGUAGE sql VOLATILE AS $$
  SELECT encode(
    -- version 7: the random UUID's version nibble 0100 becomes 0111 (bits 52 and 53 of byte 6)
    set_bit(set_bit(
      overlay(uuid_send(gen_random_uuid())
        PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
        FROM 1 FOR 6),
      52, 1), 53, 1),
    'hex')::uuid
$$`)
  // sessions: rename the foreign key sessions_user_id_fkey to sessions_user_id_foreign
  await knex.raw(`ALTER TABLE sessions RENAME CONSTRAINT sessions_user_id_fkey TO sessions_user_id_foreign`)
  // refresh_tokens: rename the foreign key refresh_tokens_session_id_fkey to refresh_tokens_session_id_foreign
  await knex.raw(
    `ALTER TABLE refresh_tokens RENAME CONSTRAINT refresh_tokens_session_id_fkey TO refresh_tokens_session_id_foreign`
  )
  // deployment: rename the unique key deployment_only_row_key to deployment_only_row_unique
  await knex.raw(
    `ALTER TABLE deployment RENAME CONSTRAINT deployment_only_row_key TO deployment_only_row_unique`
  )
  // audit: drop the index audit_user_id_created_at_index (user_id, created_at)
  await knex.raw(`DROP INDEX audit_user_id_created_at_index`)
  // audit.id: default uuid_v7()
  await knex.raw(`ALTER TABLE audit ALTER COLUMN id SET DEFAULT uuid_v7()`)
  // audit: add the index audit_user_id_created_at_id_index (user_id, created_at, id)
  await knex.raw(
    `CREATE INDEX IF NOT EXISTS audit_user_id_created_at_id_index ON audit (user_id, created_at, id)`
  )
  // drop the function audit_uuid_v7()
  await knex.raw(`DROP FUNCTION audit_uuid_v7()`)
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`CREATE OR REPLACE FUNCTION public.audit_uuid_v7()
 RETURNS uuid
 LANGUAGE sql
AS $function$
      SELECT encode(
        -- version 7: the random UUID's version nibble 0100 becomes 0111 (bits 52 and 53 of byte 6)
        set_bit(set_bit(
          overlay(uuid_send(gen_random_uuid())
            PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
            FROM 1 FOR 6),
          52, 1), 53, 1),
        'hex')::uuid
    $function$`)
  await knex.raw(`DROP INDEX audit_user_id_created_at_id_index`)
  await knex.raw(`ALTER TABLE audit ALTER COLUMN id SET DEFAULT audit_uuid_v7()`)
  await knex.raw(
    `CREATE INDEX audit_user_id_created_at_index ON public.audit USING btree (user_id, created_at)`
  )
  await knex.raw(
    `ALTER TABLE deployment RENAME CONSTRAINT deployment_only_row_unique TO deployment_only_row_key`
  )
  await knex.raw(
    `ALTER TABLE refresh_tokens RENAME CONSTRAINT refresh_tokens_session_id_foreign TO refresh_tokens_session_id_fkey`
  )
  await knex.raw(`ALTER TABLE sessions RENAME CONSTRAINT sessions_user_id_foreign TO sessions_user_id_fkey`)
  await knex.raw(`DROP FUNCTION uuid_v7()`)
}
