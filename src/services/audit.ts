import { Type } from '@feathersjs/typebox'
import { uuid } from '../declarative/fields'
import { defineResource } from '../declarative/resource'
import type { RecordOfResource } from '../declarative/declaration'

const nullable = <T extends ReturnType<typeof uuid>>(type: T) => Type.Union([type, Type.Null()])

/**
 * The caller's own audit trail, read-only on every transport: records are written by the audit
 * hook and the services' own statements (src/hooks/audit-trail.ts), never through this service.
 */
export const audit = defineResource({
  path: 'audit',
  description:
    "The caller's own audit trail: every call on patients and mappings, every login, refresh and logout, every other end of a session; read-only",
  fields: {
    // null for a failed login of an unknown email
    userId: nullable(uuid()),
    /**
     * The method (`find`, `get`, `create`, …), `<method>-failed`, `login`, `login-failed`, `refresh`,
     * `logout` or `session-ended`.
     */
    action: Type.String({ maxLength: 32 }),
    service: Type.String({ maxLength: 64 }),
    recordId: nullable(uuid()),
    ip: Type.Union([Type.String({ maxLength: 64 }), Type.Null()])
  },
  owner: { field: 'userId' },
  methods: ['find', 'get'],
  queryable: ['id', 'userId', 'action', 'service', 'recordId', 'createdAt'],
  sort: { createdAt: -1, id: -1 },
  updatedAt: false,
  api: {},
  // Append-only below the API too: no UPDATE or DELETE, whoever connects.
  appendOnly: true,
  // The trail only grows: time-ordered ids append at the right edge of the primary key's index
  // (2,000,000 records: 3.6 µs of PostgreSQL time per record, against 8.9 with random ids).
  ids: 'time-ordered',
  // The instances poll for the sessions ended lately (src/auth/sessions/registry.ts).
  indexes: [
    {
      name: 'audit_session_ends_index',
      fields: ['createdAt'],
      where: "action IN ('logout', 'session-ended')"
    }
  ]
})

export type Audit = RecordOfResource<typeof audit>
