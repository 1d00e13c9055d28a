import type { Knex } from 'knex'

// Written by `npm run migration:new` from the declarations in src/services: review it before it is applied.
export async function up(knex: Knex): Promise<void> {
  // create the function patient_counts_add()
  await knex.raw(`CREATE FUNCTION patient_counts_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO patient_counts AS counts (user_id, slot, total)
      VALUES (NEW.user_id, pg_backend_pid() % 8, 1)
      ON CONFLICT (user_id, slot) DO UPDATE SET total = counts.total + excluded.total;
  RETURN NULL;
END $$`)
  // create the function patient_counts_subtract()
  await knex.raw(`CREATE FUNCTION patient_counts_subtract() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO patient_counts AS counts (user_id, slot, total)
      SELECT user_id, pg_backend_pid() % 8, -count(*) FROM removed GROUP BY user_id
      ON CONFLICT (user_id, slot) DO UPDATE SET total = counts.total + excluded.total;
  RETURN NULL;
END $$`)
  // patients: drop the trigger patients_counted_delete
  await knex.raw(`DROP TRIGGER patients_counted_delete ON patients`)
  // patients: drop the trigger patients_counted_insert
  await knex.raw(`DROP TRIGGER patients_counted_insert ON patients`)
  // patients: create the trigger patients_counted_add
  await knex.raw(`CREATE TRIGGER patients_counted_add AFTER INSERT ON patients
  FOR EACH ROW EXECUTE FUNCTION patient_counts_add()`)
  // patients: create the trigger patients_counted_subtract
  await knex.raw(`CREATE TRIGGER patients_counted_subtract AFTER DELETE ON patients
  REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION patient_counts_subtract()`)
  // drop the function patient_counts_follow()
  await knex.raw(`DROP FUNCTION patient_counts_follow()`)
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`CREATE OR REPLACE FUNCTION public.patient_counts_follow()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
    BEGIN
      IF tg_op = 'INSERT' THEN
        INSERT INTO patient_counts AS counts (user_id, slot, total)
          SELECT user_id, pg_backend_pid() % 8, count(*) FROM added GROUP BY user_id
          ON CONFLICT (user_id, slot) DO UPDATE SET total = counts.total + excluded.total;
      ELSIF tg_op = 'DELETE' THEN
        INSERT INTO patient_counts AS counts (user_id, slot, total)
          SELECT user_id, pg_backend_pid() % 8, -count(*) FROM removed GROUP BY user_id
          ON CONFLICT (user_id, slot) DO UPDATE SET total = counts.total + excluded.total;
      ELSE
        INSERT INTO patient_counts AS counts (user_id, slot, total)
          SELECT user_id, pg_backend_pid() % 8, sum(change)
          FROM (SELECT user_id, 1 AS change FROM added UNION ALL SELECT user_id, -1 FROM removed) AS moved
          GROUP BY user_id HAVING sum(change) <> 0
          ON CONFLICT (user_id, slot) DO UPDATE SET total = counts.total + excluded.total;
      END IF;
      RETURN NULL;
    END $function$`)
  await knex.raw(`DROP TRIGGER patients_counted_subtract ON patients`)
  await knex.raw(`DROP TRIGGER patients_counted_add ON patients`)
  await knex.raw(
    `CREATE TRIGGER patients_counted_insert AFTER INSERT ON public.patients REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION patient_counts_follow()`
  )
  await knex.raw(
    `CREATE TRIGGER patients_counted_delete AFTER DELETE ON public.patients REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION patient_counts_follow()`
  )
  await knex.raw(`DROP FUNCTION patient_counts_subtract()`)
  await knex.raw(`DROP FUNCTION patient_counts_add()`)
}
