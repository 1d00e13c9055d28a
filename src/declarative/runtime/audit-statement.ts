import type { Knex } from 'knex'
import { audit } from '../../services/audit'
import { namesOf } from '../names'
import type { AuditEntry, AuditStamp } from './audit-records'

/** The audit trail's table and columns (src/services/audit.ts). */
const { table: AUDIT, columns } = namesOf(audit)
export const AUDIT_TABLE = AUDIT

/** `INSERT INTO audit (user_id, action, service, record_id, ip)`: every way into the trail. */
export const AUDIT_INSERT = `INSERT INTO ${AUDIT} (${columns.userId}, ${columns.action}, ${columns.service}, ${columns.recordId}, ${columns.ip})`

// Written on every audited call of a service that cannot write it in its own statement: a fixed
// statement skips the query builder, and PostgreSQL plans it once.
const INSERT = `${AUDIT_INSERT} VALUES (?, ?, ?, ?, ?)`

/**
 * One INSERT, without RETURNING; `db` may be the transaction of the call being recorded. This and
 * the statements below are the only ways in: the audit service is read-only on every transport.
 */
export async function appendAudit(
  db: Knex | Knex.Transaction,
  { userId, action, service, recordId, ip }: AuditEntry
): Promise<void> {
  await db.raw(INSERT, [userId, action, service, recordId, ip])
}

const insertFrom = (source: string) => `${AUDIT_INSERT} SELECT ?::uuid, ?, ?, ${source}`

type AuditValues = Omit<AuditStamp, 'written'>

const stampBindings = ({ userId, action, service, ip }: AuditValues) => [userId, action, service, ip]

/**
 * A statement that yields records with an `id` (INSERT / UPDATE / DELETE … RETURNING, or a SELECT
 * of one record) and its audit record as ONE statement, through a CTE: both happen or neither does,
 * in a single round trip. One audit row per record; none when there was none (a 404).
 */
export function withAuditRecord(
  db: Knex | Knex.Transaction,
  statement: Knex.QueryBuilder,
  stamp: AuditValues
): Knex.QueryBuilder {
  return db
    .with('touched', statement)
    .with('audited', db.raw(`${insertFrom('id, ? FROM touched')}`, stampBindings(stamp)))
    .select('*')
    .from('touched')
}
