// The shapes of audit records, apart from the statements that write them (audit-statement.ts): the
// app's `Params` name the stamp, and importing it from there would tie the declarations in a circle.

/** What a hook hands over; id and createdAt are the database's. */
export interface AuditEntry {
  userId: string | null
  /** The method (`find`, `get`, `create`, …), `<method>-failed`, `login` or `login-failed`. */
  action: string
  service: string
  recordId: string | null
  ip: string | null
}

/**
 * Who did what, where from: an audit record but for the record id, which the statement yields.
 * The service that writes it into its own statement sets `written`; otherwise the audit hook
 * writes it after the call.
 */
export interface AuditStamp {
  userId: string | null
  action: string
  service: string
  ip: string | null
  written: boolean
}
