import type { ColumnState, FunctionState, TableState, TriggerState } from './schema-state'
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
 * `historyStateOf` is the history as schema state (the table, triggers and functions): the
 * migration writer makes it, the drift check holds the database to it (differ.ts).
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
export function historyColumnsOf(resource: AnyResource): ColumnState[] {
  return [
    { field: 'recordId', name: 'record_id', type: 'uuid', nullable: false },
    { field: 'version', name: 'version', type: 'integer', nullable: false },
    { field: 'action', name: 'action', type: 'text', nullable: false, values: HISTORY_ACTIONS },
    // Who made the change: no foreign key, the history outlives its users too.
    { field: 'userId', name: 'user_id', type: 'uuid', nullable: true },
    ...(historyOwnerField(resource)
      ? [{ field: 'ownerId', name: 'owner_id', type: 'uuid', nullable: false } as ColumnState]
      : []),
    { field: 'at', name: 'at', type: 'timestamptz', nullable: false, default: 'now()' },
    { field: 'data', name: 'data', type: 'jsonb', nullable: false }
  ]
}

const appendOnlyFunction = (name: string, what: string): FunctionState => ({
  name,
  sql: `CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '${what} are append-only' USING ERRCODE = 'insufficient_privilege';
END $$`
})

/** A table whose rows are never updated or deleted, whoever connects: its function and trigger. */
export function appendOnlyOf(table: string, what: string) {
  const name = `${table}_append_only`
  return {
    functions: [appendOnlyFunction(name, what)],
    triggers: [
      {
        table,
        name,
        sql: `CREATE TRIGGER ${name} BEFORE UPDATE OR DELETE ON ${table}
  FOR EACH ROW EXECUTE FUNCTION ${name}()`
      }
    ]
  }
}

/**
 * A resource's history as schema state: the history table (with the triggers that keep it
 * append-only), the triggers on the resource's table that write it, their functions, and, for a
 * table that has records already, their first versions.
 */
export function historyStateOf(resource: AnyResource) {
  const { table, path } = resource
  const history = historyTableOf(resource)
  const ownerField = historyOwnerField(resource)
  const ownerColumn = ownerField ? snakeCase(ownerField) : undefined
  // Write-only values (a password's hash) are never part of a version.
  const hidden = (resource.declaration.writeOnly ?? []).map((field: string) => ` - '${snakeCase(field)}'`)
  const snapshot = (row: string) => `to_jsonb(${row})${hidden.join('')}`
  const columns = `record_id, version, action, user_id${ownerColumn ? ', owner_id' : ''}, data`
  const owner = (row: string) => (ownerColumn ? `, ${row}.${ownerColumn}` : '')
  const versionFunction: FunctionState = {
    name: `${table}_version`,
    // 1 on insert, one more on every update, whatever the statement said. The statements of the
    // API already say so, and then the triggers' WHEN clauses keep it from being called at all.
    sql: `CREATE FUNCTION ${table}_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.version := CASE WHEN tg_op = 'INSERT' THEN 1 ELSE OLD.version + 1 END;
  RETURN NEW;
END $$`
  }
  // Each change's version, in the statement that makes it: the record as the change left it (for
  // a remove, as it was removed, with the last version plus one), who made it (the statement's
  // ACTOR_SETTING; none for SQL typed by hand) and how: ACTION_SETTING 'update', else a patch (an
  // update made by a foreign key's ON DELETE SET NULL is a patch by whoever removed the other record).
  const writeFunction: FunctionState = {
    name: `${table}_history_write`,
    sql: `CREATE FUNCTION ${table}_history_write() RETURNS trigger LANGUAGE plpgsql AS $$
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
END $$`
  }
  const guard = appendOnlyOf(history, 'versions')
  const noTruncate: TriggerState = {
    table: history,
    name: `${history}_no_truncate`,
    sql: `CREATE TRIGGER ${history}_no_truncate BEFORE TRUNCATE ON ${history}
  FOR EACH STATEMENT EXECUTE FUNCTION ${history}_append_only()`
  }
  const triggers: TriggerState[] = [
    {
      table,
      name: `${table}_first_version`,
      sql: `CREATE TRIGGER ${table}_first_version BEFORE INSERT ON ${table}
  FOR EACH ROW WHEN (NEW.version IS DISTINCT FROM 1) EXECUTE FUNCTION ${table}_version()`
    },
    {
      table,
      name: `${table}_next_version`,
      sql: `CREATE TRIGGER ${table}_next_version BEFORE UPDATE ON ${table}
  FOR EACH ROW WHEN (NEW.version IS DISTINCT FROM OLD.version + 1) EXECUTE FUNCTION ${table}_version()`
    },
    {
      table,
      name: `${table}_versioned`,
      sql: `CREATE TRIGGER ${table}_versioned AFTER INSERT OR UPDATE OR DELETE ON ${table}
  FOR EACH ROW EXECUTE FUNCTION ${table}_history_write()`
    }
  ]
  // The records there are become version 1, with a 'create' version each: by their owner or
  // creator (the only user who could have written them as they are), at their last change.
  const author = ownerColumn ?? creatorColumn(resource) ?? 'NULL'
  const at = resource.declaration.updatedAt === false ? 'created_at' : 'updated_at'
  const historyTable: TableState = {
    name: history,
    columns: historyColumnsOf(resource),
    primaryKey: { name: `${history}_pkey`, columns: ['record_id', 'version'] },
    uniques: [],
    foreignKeys: [],
    indexes: [],
    checks: [],
    triggers: [...guard.triggers, noTruncate],
    fill: {
      from: table,
      sql: `INSERT INTO ${history} (${columns}, at)
  SELECT id, version, 'create', ${author}${ownerColumn ? `, ${ownerColumn}` : ''}, ${snapshot(table)}, ${at} FROM ${table}`
    },
    of: path
  }
  return {
    table: historyTable,
    triggers,
    functions: [versionFunction, writeFunction, ...guard.functions].map((fn) => ({ ...fn, of: path }))
  }
}

const creatorColumn = (resource: AnyResource) => {
  const { owner } = resource.declaration
  return 'creator' in owner && owner.creator ? snakeCase(owner.creator) : undefined
}
