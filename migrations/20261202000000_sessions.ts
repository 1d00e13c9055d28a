import type { Knex } from 'knex'

/**
 * Sessions: one per login, named by the `sid` claim of its access tokens, and its refresh tokens,
 * stored only as SHA-256 digests. A refresh token is spent by its refresh (`spent_at`); a spent one
 * presented again ends its session. `expires_at` of a session is that of its newest refresh token:
 * a session nobody refreshed for a refresh token's lifetime is over without being ended.
 *
 * Ending a session writes `ended_at` and, in the same statement, an audit record (`logout` or
 * `session-ended`, the session's id as `record_id`). The trail outlives the user (removing a user
 * removes their sessions with them), so the instances read the ids of lately ended sessions from
 * the audit trail, along its partial index below (src/auth/sessions/registry.ts). The same poll reads the
 * users changed lately, along `users_updated_at_index`.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE sessions (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      created_at timestamptz NOT NULL DEFAULT now(),
      last_used_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL,
      ip varchar(64),
      user_agent varchar(512),
      ended_at timestamptz,
      ended_reason varchar(32),
      CHECK ((ended_at IS NULL) = (ended_reason IS NULL))
    );
    -- A user's open sessions, newest first (GET /api/auth/sessions).
    CREATE INDEX sessions_user_id_open_index ON sessions (user_id, created_at) WHERE ended_at IS NULL;

    CREATE TABLE refresh_tokens (
      hash bytea PRIMARY KEY CHECK (octet_length(hash) = 32),
      session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL,
      spent_at timestamptz
    );
    CREATE INDEX refresh_tokens_session_id_index ON refresh_tokens (session_id);
    -- Expired tokens are pruned along this one.
    CREATE INDEX refresh_tokens_expires_at_index ON refresh_tokens (expires_at);

    CREATE INDEX audit_session_ends_index ON audit (created_at) WHERE action IN ('logout', 'session-ended');
    CREATE INDEX users_updated_at_index ON users (updated_at);
  `)
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP INDEX users_updated_at_index;
    DROP INDEX audit_session_ends_index;
    DROP TABLE refresh_tokens;
    DROP TABLE sessions;
  `)
}
