import type { Knex } from 'knex'
import { AUDIT_TABLE } from './audit-statement'
import type { AuditEntry } from './audit-records'

const MAX_BATCH = 100

interface Pending {
  entry: AuditEntry
  settle: (error?: unknown) => void
}

/**
 * Group commit for the audit records of reads: the records of concurrent requests share one
 * multi-row INSERT and one commit, instead of a write and a durable commit per read. Each request
 * still waits until its own record is stored before it answers, so a read that succeeded always
 * has its record. An idle server writes at once; a busy one batches what arrives meanwhile.
 */
class AuditBatch {
  private pending: Pending[] = []
  private flushing = false

  constructor(private readonly db: Knex) {}

  append(entry: AuditEntry): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ entry, settle: (error) => (error ? reject(error) : resolve()) })
      if (!this.flushing) {
        void this.flush()
      }
    })
  }

  private async flush() {
    this.flushing = true
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, MAX_BATCH)
      const failure = await this.db(AUDIT_TABLE)
        .insert(batch.map(({ entry }) => entry))
        .then(
          () => undefined,
          (error: unknown) => error ?? new Error('The audit records could not be written')
        )
      batch.forEach(({ settle }) => settle(failure))
    }
    this.flushing = false
  }
}

const batches = new WeakMap<Knex, AuditBatch>()

/** Stores the audit record of a read, together with those of concurrent reads. */
export function appendAuditOfRead(db: Knex, entry: AuditEntry): Promise<void> {
  let batch = batches.get(db)
  if (!batch) {
    batch = new AuditBatch(db)
    batches.set(db, batch)
  }
  return batch.append(entry)
}
