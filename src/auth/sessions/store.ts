import { createHash, randomBytes } from 'node:crypto'
import type { Knex } from 'knex'
import { AUDIT_INSERT } from '../../declarative/runtime/audit-statement'
import { namesOf } from '../../declarative/names'
import { audit } from '../../services/audit'
import { refreshTokens, sessions } from '../../services/session-tables'
import { users } from '../../services/users'

/**
 * The sessions' statements, on the tables declared in src/services/session-tables.ts (their names
 * and columns come from there, as the audit trail's and the users' from theirs). Every change is
 * one statement: a session and its first refresh token and the login's audit record; a refresh's spending, its new token,
 * the session's new `lastUsedAt` and the refresh's audit record; a session's end and its audit
 * record. Either all of a statement happens or none of it.
 */

/**
 * 32 random bytes (256 bits) from the operating system's CSPRNG, as 43 characters of base64url.
 * Guessing one is hopeless: with a billion open sessions, a billion guesses a second would find
 * one after about 10^50 years on average.
 */
const REFRESH_TOKEN_BYTES = 32
const REFRESH_TOKEN = /^[A-Za-z0-9_-]{43}$/

export const newRefreshToken = () => randomBytes(REFRESH_TOKEN_BYTES).toString('base64url')

/** Only this is stored: whoever reads the table cannot use what is in it. */
const digestOf = (refreshToken: string) => createHash('sha256').update(refreshToken).digest()

/** Whether `value` could be a refresh token at all: anything else is refused without a query. */
export const isRefreshTokenShaped = (value: unknown): value is string =>
  typeof value === 'string' && REFRESH_TOKEN.test(value)

const MAX_IP = 64
const MAX_USER_AGENT = 512

export interface Origin {
  /** The client's address. */
  ip: string | null
  userAgent?: string | null
}

/** Who ended a session and how: the audit record of the end. */
export interface Ending {
  action: 'logout' | 'session-ended'
  service: 'authentication' | 'sessions'
  /** Why, kept with the session. */
  reason: 'logout' | 'revoked' | 'refresh-token-reused' | 'password-changed' | 'user-removed'
  ip: string | null
}

/** Which sessions to end: one (of one user), all of a user's, or all of a user's but one. */
export type Which = { id: string; userId?: string; open?: true } | { userId: string; except?: string }

export interface SessionRecord {
  id: string
  createdAt: string
  lastUsedAt: string
  ip: string | null
  userAgent: string | null
}

/** A row of a page: a session and the total of the caller's. */
type PageRow = SessionRecord & { total: number }

export interface EndedSession extends SessionRecord {
  userId: string
}

export type Rotation =
  | { kind: 'rotated'; sessionId: string; userId: string; refreshToken: string }
  /** A spent token presented again: its session was open. */
  | { kind: 'reused'; sessionId: string; userId: string }
  /** Unknown, expired, or of a session that is over. */
  | { kind: 'refused' }

const SESSIONS = sessions.table
const TOKENS = refreshTokens.table
const USERS = users.table
const { table: AUDIT, columns: a } = namesOf(audit)
const s = sessions.columns
const t = refreshTokens.columns
const u = namesOf(users).columns

const RECORD_COLUMNS = `${s.id}, ${s.createdAt} AS "createdAt", ${s.lastUsedAt} AS "lastUsedAt", ${s.ip}, ${s.userAgent} AS "userAgent"`

/**
 * A session opens only while the user's row still holds the password hash the login verified.
 * FOR SHARE conflicts with the UPDATE that changes the password (FOR KEY SHARE, which the foreign
 * key takes, does not), so under READ COMMITTED either
 *
 * - this statement locks the row first: the UPDATE waits until this session has committed, and the
 *   password change's end of the user's other sessions, a later statement with a later snapshot
 *   (src/auth/sessions/user-changes.ts), sees the session and ends it; or
 * - the UPDATE locks it first: this statement waits for its commit, then checks the row's new
 *   version again, finds another hash and opens nothing (a rolled-back change leaves the old one);
 * - an UPDATE committed before this statement began is in its snapshot: nothing opens either.
 */
const OPEN = `
  WITH opened AS (
    INSERT INTO ${SESSIONS} (${s.userId}, ${s.ip}, ${s.userAgent}, ${s.expiresAt})
    SELECT ?, ?, ?, now() + make_interval(secs => ?)
    WHERE EXISTS (SELECT 1 FROM ${USERS} WHERE ${u.id} = ? AND ${u.password} = ? FOR SHARE)
    RETURNING ${s.id} AS id, ${s.userId} AS user_id, ${s.expiresAt} AS expires_at
  ), token AS (
    INSERT INTO ${TOKENS} (${t.hash}, ${t.sessionId}, ${t.expiresAt}) SELECT ?, id, expires_at FROM opened
  ), audited AS (
    ${AUDIT_INSERT} SELECT user_id, 'login', 'authentication', id, ? FROM opened
  )
  SELECT id FROM opened`

// Concurrent refreshes with one token: the second waits for the first's row lock, then finds the
// token spent (PostgreSQL checks the row again after the wait) and spends nothing.
const ROTATE = `
  WITH spent AS (
    UPDATE ${TOKENS} AS token SET ${t.spentAt} = now()
    FROM ${SESSIONS} AS session
    WHERE token.${t.hash} = ? AND token.${t.spentAt} IS NULL AND token.${t.expiresAt} > now()
      AND session.${s.id} = token.${t.sessionId} AND session.${s.endedAt} IS NULL
    RETURNING token.${t.sessionId} AS session_id
  ), renewed AS (
    UPDATE ${SESSIONS} SET ${s.lastUsedAt} = now(), ${s.expiresAt} = now() + make_interval(secs => ?)
    WHERE ${s.id} = (SELECT session_id FROM spent) AND ${s.endedAt} IS NULL
    RETURNING ${s.id} AS id, ${s.userId} AS user_id, ${s.expiresAt} AS expires_at
  ), token AS (
    INSERT INTO ${TOKENS} (${t.hash}, ${t.sessionId}, ${t.expiresAt}) SELECT ?, id, expires_at FROM renewed
  ), audited AS (
    ${AUDIT_INSERT} SELECT user_id, 'refresh', 'authentication', id, ? FROM renewed
  )
  SELECT id, user_id AS "userId" FROM renewed`

// Why a token was not rotated: unknown, expired, spent, or its session is over.
const TOKEN_STATE = `
  SELECT token.${t.sessionId} AS "sessionId", session.${s.userId} AS "userId",
    token.${t.spentAt} IS NOT NULL AS spent, token.${t.expiresAt} > now() AS live, session.${s.endedAt} IS NULL AS open
  FROM ${TOKENS} AS token JOIN ${SESSIONS} AS session ON session.${s.id} = token.${t.sessionId}
  WHERE token.${t.hash} = ?`

function whereOf(which: Which): { sql: string; bindings: string[] } {
  if ('id' in which) {
    const owner = which.userId ? ` AND ${s.userId} = ?` : ''
    const open = which.open ? ` AND ${s.expiresAt} > now()` : ''
    return {
      sql: `${s.id} = ?${owner}${open}`,
      bindings: which.userId ? [which.id, which.userId] : [which.id]
    }
  }
  return which.except
    ? { sql: `${s.userId} = ? AND ${s.id} <> ?`, bindings: [which.userId, which.except] }
    : { sql: `${s.userId} = ?`, bindings: [which.userId] }
}

const END = (where: string) => `
  WITH ended AS (
    UPDATE ${SESSIONS} SET ${s.endedAt} = now(), ${s.endedReason} = ?
    WHERE ${s.endedAt} IS NULL AND ${where}
    RETURNING ${s.id}, ${s.userId}, ${s.createdAt}, ${s.lastUsedAt}, ${s.ip}, ${s.userAgent}
  ), audited AS (
    ${AUDIT_INSERT} SELECT ${s.userId}, ?, ?, ${s.id}, ? FROM ended
  )
  SELECT ${RECORD_COLUMNS}, ${s.userId} AS "userId" FROM ended`

const OPEN_OF_USER = `${s.userId} = ? AND ${s.endedAt} IS NULL AND ${s.expiresAt} > now()`

const PAGE = `
  SELECT ${RECORD_COLUMNS}, count(*) OVER () AS total FROM ${SESSIONS}
  WHERE ${OPEN_OF_USER}
  ORDER BY ${s.createdAt} DESC, ${s.id} DESC LIMIT ? OFFSET ?`

const COUNT = `SELECT count(*) AS total FROM ${SESSIONS} WHERE ${OPEN_OF_USER}`

// What instances poll for (src/auth/sessions/registry.ts): sessions ended and users changed since then,
// along the partial index of session ends in the audit trail and the index of users.updated_at.
// Statements an instance makes on its own, not for a request, say so (in pg_stat_activity too).
export const BACKGROUND = '/* background */'

const CHANGES = `${BACKGROUND}
  SELECT now() AS now,
    (SELECT coalesce(json_agg(json_build_array(${a.recordId}, ${a.createdAt}) ORDER BY ${a.createdAt}), '[]') FROM ${AUDIT}
      WHERE ${a.action} IN ('logout', 'session-ended') AND ${a.createdAt} > ? AND ${a.recordId} IS NOT NULL) AS sessions,
    (SELECT coalesce(json_agg(json_build_array(${u.id}, ${u.updatedAt})), '[]') FROM ${USERS} WHERE ${u.updatedAt} > ?) AS users`

// Not ended: a session past its refresh lifetime still serves the access tokens it issued until they expire.
const IS_OPEN = `SELECT 1 FROM ${SESSIONS} WHERE ${s.id} = ? AND ${s.userId} = ? AND ${s.endedAt} IS NULL`

const PRUNE = `${BACKGROUND} DELETE FROM ${TOKENS} WHERE ${t.expiresAt} < now()`

const bounded = (value: unknown, length: number) =>
  typeof value === 'string' ? value.slice(0, length) : null

export interface Changes {
  /** The database's time of the poll. */
  now: Date
  /** Sessions ended since, with when. */
  sessions: Array<{ id: string; endedAt: Date }>
  /** Users changed since, with the time of their last change. */
  users: Array<{ id: string; updatedAt: Date }>
}

export class SessionStore {
  constructor(
    private readonly db: Knex,
    /** How long a refresh token is valid. */
    private readonly refreshSeconds: number
  ) {}

  /**
   * A new session of `userId` and its first refresh token, its login recorded with it; none (and
   * `undefined`) when the user's password hash is no longer `verifiedHash`.
   */
  async open(
    userId: string,
    verifiedHash: string,
    { ip, userAgent }: Origin
  ): Promise<{ id: string; refreshToken: string } | undefined> {
    const refreshToken = newRefreshToken()
    const { rows } = await this.db.raw(OPEN, [
      userId,
      bounded(ip, MAX_IP),
      bounded(userAgent, MAX_USER_AGENT),
      this.refreshSeconds,
      userId,
      verifiedHash,
      digestOf(refreshToken),
      bounded(ip, MAX_IP)
    ])
    return rows.length === 1 ? { id: rows[0].id, refreshToken } : undefined
  }

  /** Spends `presented` for a new refresh token of the same session, or says why not. */
  async rotate(presented: string, { ip }: Origin): Promise<Rotation> {
    const digest = digestOf(presented)
    const refreshToken = newRefreshToken()
    const { rows } = await this.db.raw(ROTATE, [
      digest,
      this.refreshSeconds,
      digestOf(refreshToken),
      bounded(ip, MAX_IP)
    ])
    if (rows.length === 1) {
      return { kind: 'rotated', sessionId: rows[0].id, userId: rows[0].userId, refreshToken }
    }
    const { rows: states } = await this.db.raw(TOKEN_STATE, [digest])
    const state = states[0]
    if (state?.spent && state.live && state.open) {
      return { kind: 'reused', sessionId: state.sessionId, userId: state.userId }
    }
    return { kind: 'refused' }
  }

  /**
   * Ends the open sessions `which` names, each with its audit record; answers those it ended. In
   * `db` when given: a transaction of the caller's, whose fate the ends share.
   */
  async end(
    which: Which,
    { action, service, reason, ip }: Ending,
    db: Knex | Knex.Transaction = this.db
  ): Promise<EndedSession[]> {
    const { sql, bindings } = whereOf(which)
    const { rows } = await db.raw(END(sql), [reason, ...bindings, action, service, bounded(ip, MAX_IP)])
    return rows
  }

  /** Whether `id` is an open session of `userId`. */
  async isOpen(id: string, userId: string): Promise<boolean> {
    const { rows } = await this.db.raw(IS_OPEN, [id, userId])
    return rows.length === 1
  }

  /** A page of `userId`'s open sessions, newest first. */
  async page(userId: string, limit: number, skip: number) {
    const { rows } = limit > 0 ? await this.db.raw(PAGE, [userId, limit, skip]) : { rows: [] }
    const total: number = rows.length > 0 ? rows[0].total : (await this.db.raw(COUNT, [userId])).rows[0].total
    const data: SessionRecord[] = rows.map(({ total: _total, ...record }: PageRow) => record)
    return { total, data }
  }

  /** Sessions ended after `sessionsSince`, users changed after `usersSince`. */
  async changes(sessionsSince: Date, usersSince: Date): Promise<Changes> {
    const { rows } = await this.db.raw(CHANGES, [sessionsSince.toISOString(), usersSince.toISOString()])
    const [{ now, sessions, users }] = rows
    return {
      now: new Date(now),
      sessions: (sessions as Array<[string, string]>).map(([id, endedAt]) => ({
        id,
        endedAt: new Date(endedAt)
      })),
      users: (users as Array<[string, string]>).map(([id, updatedAt]) => ({
        id,
        updatedAt: new Date(updatedAt)
      }))
    }
  }

  /** Forgets expired refresh tokens: they are refused whether or not they were spent. */
  async prune(): Promise<number> {
    const { rowCount } = await this.db.raw(PRUNE)
    return rowCount ?? 0
  }
}
