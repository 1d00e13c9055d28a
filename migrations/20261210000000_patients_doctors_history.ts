import type { Knex } from 'knex'

/**
 * Every version of patients and doctors (src/declarative/database/history-table.ts, as it was written for this
 * migration): a `version` column, an append-only history table of full snapshots per resource, and
 * the triggers that write a version in the same statement as each change, cascades included.
 * Existing records become version 1, with a `create` version each: its `userId` is the only user
 * who could have written the record as it is (a patient is only written by its owner, a doctor by
 * its creator) and its `at` the moment the record came to be as it is (`updated_at`).
 */
function historyOf(table: string, ownerColumn?: string) {
  const history = `${table}_history`
  const columns = `record_id, version, action, user_id${ownerColumn ? ', owner_id' : ''}, data`
  const owner = (row: string) => (ownerColumn ? `, ${row}.${ownerColumn}` : '')
  return `
ALTER TABLE ${table} ADD COLUMN version integer NOT NULL DEFAULT 1
  CONSTRAINT ${table}_version_range CHECK (version >= 1 AND version <= 2147483647);

CREATE TABLE ${history} (
  record_id uuid NOT NULL,
  version integer NOT NULL,
  action text NOT NULL CONSTRAINT ${history}_action_values CHECK (action IN ('create', 'update', 'patch', 'remove')),
  user_id uuid,${ownerColumn ? '\n  owner_id uuid NOT NULL,' : ''}
  at timestamptz NOT NULL DEFAULT now(),
  data jsonb NOT NULL,
  CONSTRAINT ${history}_pkey PRIMARY KEY (record_id, version)
);

INSERT INTO ${history} (${columns}, at)
  SELECT id, 1, 'create', ${ownerColumn ?? 'created_by'}${ownerColumn ? `, ${ownerColumn}` : ''}, to_jsonb(${table}), updated_at
  FROM ${table};

CREATE FUNCTION ${table}_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.version := CASE WHEN tg_op = 'INSERT' THEN 1 ELSE OLD.version + 1 END;
  RETURN NEW;
END $$;
CREATE TRIGGER ${table}_first_version BEFORE INSERT ON ${table}
  FOR EACH ROW WHEN (NEW.version IS DISTINCT FROM 1) EXECUTE FUNCTION ${table}_version();
CREATE TRIGGER ${table}_next_version BEFORE UPDATE ON ${table}
  FOR EACH ROW WHEN (NEW.version IS DISTINCT FROM OLD.version + 1) EXECUTE FUNCTION ${table}_version();

CREATE FUNCTION ${table}_history_write() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  actor uuid := nullif(current_setting('healthcare.actor', true), '')::uuid;
BEGIN
  IF tg_op = 'DELETE' THEN
    INSERT INTO ${history} (${columns})
      VALUES (OLD.id, OLD.version + 1, 'remove', actor${owner('OLD')},
        to_jsonb(OLD) || jsonb_build_object('version', OLD.version + 1));
  ELSE
    INSERT INTO ${history} (${columns})
      VALUES (NEW.id, NEW.version,
        CASE WHEN tg_op = 'INSERT' THEN 'create'
          WHEN current_setting('healthcare.action', true) = 'update' THEN 'update' ELSE 'patch' END,
        actor${owner('NEW')}, to_jsonb(NEW));
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER ${table}_versioned AFTER INSERT OR UPDATE OR DELETE ON ${table}
  FOR EACH ROW EXECUTE FUNCTION ${table}_history_write();

CREATE FUNCTION ${history}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'versions are append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER ${history}_append_only BEFORE UPDATE OR DELETE ON ${history}
  FOR EACH ROW EXECUTE FUNCTION ${history}_append_only();
CREATE TRIGGER ${history}_no_truncate BEFORE TRUNCATE ON ${history}
  FOR EACH STATEMENT EXECUTE FUNCTION ${history}_append_only();
`
}

export async function up(knex: Knex): Promise<void> {
  // No write may slip between the backfill and the triggers that take over from it.
  await knex.raw('LOCK TABLE patients, doctors IN SHARE ROW EXCLUSIVE MODE')
  await knex.raw(historyOf('patients', 'user_id'))
  await knex.raw(historyOf('doctors'))
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['patients', 'doctors']) {
    await knex.raw(`
      DROP TRIGGER ${table}_versioned ON ${table};
      DROP TRIGGER ${table}_next_version ON ${table};
      DROP TRIGGER ${table}_first_version ON ${table};
      DROP FUNCTION ${table}_history_write();
      DROP FUNCTION ${table}_version();
      DROP TABLE ${table}_history;
      DROP FUNCTION ${table}_history_append_only();
      ALTER TABLE ${table} DROP COLUMN version;
    `)
  }
}
