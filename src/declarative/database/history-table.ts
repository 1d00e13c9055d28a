import type { Column } from './columns'
import { snakeCase } from '../../database/naming'
import type { AnyResource } from '../declaration'

/**
 * Where a resource with `history` keeps the versions of its records, and how they get there: an
 * append-only table `<table>_history` holding one full snapshot per version, written by row
 * triggers on the resource's table. A trigger runs inside the statement that makes the change, so
 * a change never exists without its version, whatever made it: a service call, a cascade of a
 * foreign key (a removed user's patients) or SQL typed by hand. Who made the change and which
 * method it was are read from two transaction-local settings that the service's write statement
 * sets itself (RecordService, `healthcare.actor` and `healthcare.action`); without them (SQL by
 * hand) the version is still written, with no `userId`.
 *
 * migration-writer.ts writes `historySql(resource)` into a new resource's migration, and drift.ts
 * checks the columns and triggers named here.
 */

export const HISTORY_ACTIONS = ['create', 'update', 'patch', 'remove'] as const
export type HistoryAction = (typeof HISTORY_ACTIONS)[number]

/** The settings a write statement sets for the triggers: who makes the change, with which method. */
export const ACTOR_SETTING = 'healthcare.actor'
export const ACTION_SETTING = 'healthcare.action'

export const historyTableOf = (resource: AnyResource) => {
  if (!resource.history) {
    throw new Error(`'${resource.path}' keeps no history`)
  }
  return resource.history.table
}

/**
 * The history keeps the record's owner beside each version (`owner_id`): a version stays the
 * owner's to read after the record is gone. Resources whose records are the caller (users) are
 * scoped by `record_id`; shared ones (doctors) by nothing.
 */
export const historyOwnerField = (resource: AnyResource) =>
  resource.scopeField && resource.scopeField !== 'id' ? resource.scopeField : undefined

/** The columns of the history table, in the order its migration creates them. */
export function historyColumnsOf(resource: AnyResource): Column[] {
  return [
    { field: 'recordId', name: 'record_id', type: 'uuid', nullable: false },
    { field: 'version', name: 'version', type: 'integer', nullable: false },
    { field: 'action', name: 'action', type: 'text', nullable: false, values: HISTORY_ACTIONS },
    // Who made the change: no foreign key, the history outlives its users too.
    { field: 'userId', name: 'user_id', type: 'uuid', nullable: true },
    ...(historyOwnerField(resource)
      ? [{ field: 'ownerId', name: 'owner_id', type: 'uuid', nullable: false } as Column]
      : []),
    { field: 'at', name: 'at', type: 'timestamptz', nullable: false, default: 'now()' },
    { field: 'data', name: 'data', type: 'jsonb', nullable: false }
  ]
}

/** The triggers that write and guard the history, by the table they are on. */
export function historyTriggersOf(resource: AnyResource): Array<{ table: string; name: string }> {
  const { table } = resource
  const history = historyTableOf(resource)
  return [
    { table, name: `${table}_first_version` },
    { table, name: `${table}_next_version` },
    { table, name: `${table}_versioned` },
    { table: history, name: `${history}_append_only` },
    { table: history, name: `${history}_no_truncate` }
  ]
}

const sqlList = (values: readonly string[]) => values.map((value) => `'${value}'`).join(', ')

/**
 * The SQL that creates the history of a resource whose table exists (with its `version` column),
 * and the SQL that drops it again. Written into migrations, where it stays as it was written.
 */
export function historySql(resource: AnyResource): { up: string; down: string } {
  const { table } = resource
  const history = historyTableOf(resource)
  const ownerField = historyOwnerField(resource)
  const ownerColumn = ownerField ? snakeCase(ownerField) : undefined
  // Write-only values (a password's hash) are never part of a version.
  const hidden = (resource.declaration.writeOnly ?? []).map((field: string) => ` - '${snakeCase(field)}'`)
  const snapshot = (row: string) => `to_jsonb(${row})${hidden.join('')}`
  const columns = `record_id, version, action, user_id${ownerColumn ? ', owner_id' : ''}, data`
  const owner = (row: string) => (ownerColumn ? `, ${row}.${ownerColumn}` : '')
  const up = `
CREATE TABLE ${history} (
  record_id uuid NOT NULL,
  version integer NOT NULL,
  action text NOT NULL CONSTRAINT ${history}_action_values CHECK (action IN (${sqlList(HISTORY_ACTIONS)})),
  user_id uuid,${ownerColumn ? '\n  owner_id uuid NOT NULL,' : ''}
  at timestamptz NOT NULL DEFAULT now(),
  data jsonb NOT NULL,
  CONSTRAINT ${history}_pkey PRIMARY KEY (record_id, version)
);

-- 1 on insert, one more on every update, whatever the statement said. The statements of the API
-- already say so, and then the WHEN clause keeps this function from being called at all.
CREATE FUNCTION ${table}_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.version := CASE WHEN tg_op = 'INSERT' THEN 1 ELSE OLD.version + 1 END;
  RETURN NEW;
END $$;
CREATE TRIGGER ${table}_first_version BEFORE INSERT ON ${table}
  FOR EACH ROW WHEN (NEW.version IS DISTINCT FROM 1) EXECUTE FUNCTION ${table}_version();
CREATE TRIGGER ${table}_next_version BEFORE UPDATE ON ${table}
  FOR EACH ROW WHEN (NEW.version IS DISTINCT FROM OLD.version + 1) EXECUTE FUNCTION ${table}_version();

-- Each change's version, in the statement that makes it: the record as the change left it (for a
-- remove, as it was removed, with the last version plus one), who made it (the statement's
-- ${ACTOR_SETTING}; none for SQL typed by hand) and how: ${ACTION_SETTING} 'update', else a patch
-- (an update made by a foreign key's ON DELETE SET NULL is a patch by whoever removed the other record).
CREATE FUNCTION ${table}_history_write() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  actor uuid := nullif(current_setting('${ACTOR_SETTING}', true), '')::uuid;
BEGIN
  IF tg_op = 'DELETE' THEN
    INSERT INTO ${history} (${columns})
      VALUES (OLD.id, OLD.version + 1, 'remove', actor${owner('OLD')},
        ${snapshot('OLD')} || jsonb_build_object('version', OLD.version + 1));
  ELSE
    INSERT INTO ${history} (${columns})
      VALUES (NEW.id, NEW.version,
        CASE WHEN tg_op = 'INSERT' THEN 'create'
          WHEN current_setting('${ACTION_SETTING}', true) = 'update' THEN 'update' ELSE 'patch' END,
        actor${owner('NEW')}, ${snapshot('NEW')});
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER ${table}_versioned AFTER INSERT OR UPDATE OR DELETE ON ${table}
  FOR EACH ROW EXECUTE FUNCTION ${table}_history_write();

-- Append-only below the API too: no UPDATE, DELETE or TRUNCATE, whoever connects.
CREATE FUNCTION ${history}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'versions are append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER ${history}_append_only BEFORE UPDATE OR DELETE ON ${history}
  FOR EACH ROW EXECUTE FUNCTION ${history}_append_only();
CREATE TRIGGER ${history}_no_truncate BEFORE TRUNCATE ON ${history}
  FOR EACH STATEMENT EXECUTE FUNCTION ${history}_append_only();
`
  const down = `
DROP TRIGGER IF EXISTS ${table}_versioned ON ${table};
DROP TRIGGER IF EXISTS ${table}_next_version ON ${table};
DROP TRIGGER IF EXISTS ${table}_first_version ON ${table};
DROP FUNCTION ${table}_history_write();
DROP FUNCTION ${table}_version();
DROP TABLE ${history};
DROP FUNCTION ${history}_append_only();
`
  return { up, down }
}
