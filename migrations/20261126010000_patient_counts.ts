import type { Knex } from 'knex'

/**
 * Each owner's number of patients, kept by the database, so that a page of a caller with many
 * patients does not count them all again (10,000 index entries: about 0.8 ms per page).
 * One row per owner would make concurrent creates of one owner wait for each other until commit
 * (measured: a third fewer creates per second), so an owner's count is spread over a few slots,
 * one per database connection modulo SLOTS, and the total is their sum. Rows of removed users stay
 * behind with a sum of zero (user ids are never reused).
 */
const SLOTS = 8

export async function up(knex: Knex): Promise<void> {
  // No write may slip between the backfill below and the triggers that keep it up to date.
  await knex.raw('LOCK TABLE patients IN SHARE ROW EXCLUSIVE MODE')
  await knex.raw(`
    CREATE TABLE patient_counts (
      user_id uuid NOT NULL,
      slot smallint NOT NULL,
      total bigint NOT NULL,
      PRIMARY KEY (user_id, slot)
    );

    -- One statement's rows at a time (transition tables): a bulk insert costs one upsert per owner,
    -- where a row trigger would update one counter row once per inserted row. The upserts are
    -- written out here, where PL/pgSQL keeps their plans: 35 µs of PostgreSQL time per create
    -- (through a SQL function, planned again on every call, it was 75).
    CREATE FUNCTION patient_counts_follow() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF tg_op = 'INSERT' THEN
        INSERT INTO patient_counts AS counts (user_id, slot, total)
          SELECT user_id, pg_backend_pid() % ${SLOTS}, count(*) FROM added GROUP BY user_id
          ON CONFLICT (user_id, slot) DO UPDATE SET total = counts.total + excluded.total;
      ELSIF tg_op = 'DELETE' THEN
        INSERT INTO patient_counts AS counts (user_id, slot, total)
          SELECT user_id, pg_backend_pid() % ${SLOTS}, -count(*) FROM removed GROUP BY user_id
          ON CONFLICT (user_id, slot) DO UPDATE SET total = counts.total + excluded.total;
      ELSE
        INSERT INTO patient_counts AS counts (user_id, slot, total)
          SELECT user_id, pg_backend_pid() % ${SLOTS}, sum(change)
          FROM (SELECT user_id, 1 AS change FROM added UNION ALL SELECT user_id, -1 FROM removed) AS moved
          GROUP BY user_id HAVING sum(change) <> 0
          ON CONFLICT (user_id, slot) DO UPDATE SET total = counts.total + excluded.total;
      END IF;
      RETURN NULL;
    END $$;

    CREATE TRIGGER patients_counted_insert AFTER INSERT ON patients
      REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION patient_counts_follow();
    CREATE TRIGGER patients_counted_delete AFTER DELETE ON patients
      REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION patient_counts_follow();
    CREATE TRIGGER patients_counted_update AFTER UPDATE ON patients
      REFERENCING OLD TABLE AS removed NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION patient_counts_follow();

    INSERT INTO patient_counts (user_id, slot, total) SELECT user_id, 0, count(*) FROM patients GROUP BY user_id;
  `)
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TRIGGER patients_counted_insert ON patients;
    DROP TRIGGER patients_counted_delete ON patients;
    DROP TRIGGER patients_counted_update ON patients;
    DROP FUNCTION patient_counts_follow();
    DROP TABLE patient_counts;
  `)
}
