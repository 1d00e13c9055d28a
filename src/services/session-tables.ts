import { Type } from '@feathersjs/typebox'
import { defaultNow, optional, timestamp, uuid } from '../declarative/fields'
import { defineTable } from '../declarative/table'
import { users } from './users'

/**
 * Sessions: one per login, named by the `sid` claim of its access tokens (src/auth/sessions/). Its
 * `expiresAt` is that of its newest refresh token: a session nobody refreshed for a refresh
 * token's lifetime is over without being ended. Ending one writes `endedAt` and `endedReason`
 * together, and an audit record in the same statement (src/auth/sessions/store.ts).
 */
export const sessions = defineTable({
  table: 'sessions',
  description: 'One per login: who, from where, until when, and how it ended',
  fields: {
    userId: uuid(),
    lastUsedAt: defaultNow(timestamp()),
    expiresAt: timestamp(),
    ip: optional(Type.String({ maxLength: 64 })),
    userAgent: optional(Type.String({ maxLength: 512 })),
    endedAt: optional(timestamp()),
    endedReason: optional(Type.String({ maxLength: 32 }))
  },
  references: { userId: { to: users, onDelete: 'cascade' } },
  // A user's open sessions, newest first (GET /api/auth/sessions).
  indexes: [
    { name: 'sessions_user_id_open_index', fields: ['userId', 'createdAt'], where: 'ended_at IS NULL' }
  ],
  checks: { check: '(ended_at IS NULL) = (ended_reason IS NULL)' }
})

/**
 * A session's refresh tokens, stored only as SHA-256 digests: whoever reads the table cannot use
 * what is in it. A refresh token is spent by its refresh (`spentAt`); a spent one presented again
 * ends its session. Expired ones are pruned along `expiresAt`.
 */
export const refreshTokens = defineTable({
  table: 'refresh_tokens',
  description: "The digests of a session's refresh tokens, spent or not",
  fields: {
    hash: Type.Uint8Array(),
    sessionId: uuid(),
    expiresAt: timestamp(),
    spentAt: optional(timestamp())
  },
  primaryKey: ['hash'],
  references: { sessionId: { to: sessions, onDelete: 'cascade' } },
  indexes: [{ fields: ['expiresAt'] }],
  checks: { hash_check: 'octet_length(hash) = 32' }
})
