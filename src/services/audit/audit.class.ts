import type { Params } from '@feathersjs/feathers'
import type { KnexAdapterParams } from '@feathersjs/knex'
import type { Knex } from 'knex'
import type { Application } from '../../declarations'
import { RecordService, recordServiceOptions } from '../knex-service'
import type { Audit, AuditEntry, AuditQuery } from './audit.schema'

export type { Audit, AuditEntry, AuditQuery }

export type AuditParams = KnexAdapterParams<AuditQuery>

export const AUDIT_TABLE = 'audit'

/** Reads through the adapter; `appendAudit` is the only way in, and no transport reaches it. */
export class AuditService<_ServiceParams extends Params = AuditParams> extends RecordService<
  Audit,
  never,
  AuditParams
> {}

// Written on every audited call: a fixed statement skips the query builder, and PostgreSQL plans it once.
const INSERT = `INSERT INTO ${AUDIT_TABLE} (user_id, action, service, record_id, ip) VALUES (?, ?, ?, ?, ?)`

/** One INSERT, without RETURNING; `db` may be the transaction of the call being recorded. */
export async function appendAudit(
  db: Knex | Knex.Transaction,
  { userId, action, service, recordId, ip }: AuditEntry
): Promise<void> {
  await db.raw(INSERT, [userId, action, service, recordId, ip])
}

export const getOptions = (app: Application) => recordServiceOptions(app, AUDIT_TABLE)
