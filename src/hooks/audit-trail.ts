import type { Knex } from 'knex'
import type { HookContext, NextFunction } from '../declarations'
import { isDatabaseUnavailable } from '../errors'
import { loggerOf } from '../logger'
import type { Logger } from '../logger'
import { appendAudit } from '../declarative/runtime/audit-statement'
import { users } from '../services/users'
import type { AuditEntry, AuditStamp } from '../declarative/runtime/audit-records'
import { isUuid, normalisedEmail } from '../declarative/fields'

const asUuid = (value: unknown) => (isUuid(value) ? value.toLowerCase() : null)

/** `::ffff:127.0.0.1` is 127.0.0.1. */
export const clientAddress = (ip: unknown) =>
  typeof ip === 'string' && ip ? ip.replace(/^::ffff:(?=\d+\.)/, '') : null

/** The record a call was about: its id, or for a create the new record's; none for a find. */
function recordIdOf(context: HookContext) {
  if (context.method === 'create') {
    return asUuid((context.result as { id?: unknown } | undefined)?.id)
  }
  return asUuid(context.id)
}

/** What an audit record says of a call, when it is not the method on the service's own record. */
export interface AuditOptions {
  /** The action (default: the method); a failed call is `<action>-failed`. */
  action?: string
  /** The service named (default: the call's path). */
  service?: string
  /** The record the call was about (default: its id, or the new record's). */
  recordId?: (context: HookContext) => unknown
}

function entryFor(context: HookContext, action: string, options: AuditOptions = {}): AuditEntry {
  return {
    userId: context.params.user?.id ?? null,
    action,
    service: options.service ?? context.path,
    recordId: options.recordId ? asUuid(options.recordId(context)) : recordIdOf(context),
    ip: clientAddress(context.params.ip)
  }
}

/**
 * A failure's record must not hide the failure itself, nor turn it into another error. When the
 * call failed because the database is unreachable, the record could not be written either:
 * trying would only make the 503 wait another timeout, so it goes to the log instead.
 */
async function appendFailure(db: Knex, entry: AuditEntry, failure: unknown, log: Logger) {
  const notWritten = (error: unknown) => log.error({ entry, err: error }, 'Could not write an audit record')
  if (isDatabaseUnavailable(failure)) {
    return notWritten(failure)
  }
  await appendAudit(db, entry).catch(notWritten)
}

/**
 * Around hook: one audit record per outside call (internal calls, such as loading a mapping's
 * doctor, are not the caller's doing). The hook hands the service `params.audit`; a RecordService
 * writes the record in the same statement as the call's own (services/audit/audit-statement.ts),
 * so a change never exists without its record, nor a record without its change, and it costs no
 * extra round trip. For any other service the hook writes it once the call succeeded, before the
 * answer leaves; if that fails, the call fails (503). A failed call of an authenticated caller is
 * recorded too, as `<method>-failed`. Place it after `authenticate('jwt')`: anonymous calls never
 * get this far.
 */
export const audit =
  (options: AuditOptions = {}) =>
  async (context: HookContext, next: NextFunction) => {
    if (!context.params.provider) {
      return next()
    }
    const db: Knex = context.app.get('postgresqlClient')
    const called = options.action ?? context.method
    const { userId, action, service, ip } = entryFor(context, called, options)
    const stamp: AuditStamp = { userId, action, service, ip, written: false }
    context.params.audit = stamp
    try {
      await next()
      if (!stamp.written) {
        await appendAudit(db, entryFor(context, called, options))
      }
    } catch (error) {
      if (context.params.user) {
        await appendFailure(
          db,
          entryFor(context, `${called}-failed`, options),
          error,
          loggerOf(context.params)
        )
      }
      throw error
    } finally {
      delete context.params.audit
    }
  }

const LOCAL_STRATEGY = 'local'

async function userIdOfEmail(db: Knex, email: unknown): Promise<string | null> {
  if (typeof email !== 'string') {
    return null
  }
  const row = await db(users.table)
    .where({ email: normalisedEmail(email) })
    .first('id')
  return row?.id ?? null
}

/**
 * Around hook for `authentication.create`: a local login that fails is recorded as `login-failed`
 * (with the user the email belongs to, or none). A successful one opens a session, and its `login`
 * record is written in the same statement (src/auth/sessions/store.ts), as is a refresh's. Logins with
 * a JWT, as a socket re-authenticating, are not logins with credentials and are not recorded.
 */
export const auditLoginFailures = () => async (context: HookContext, next: NextFunction) => {
  const data = context.data as Record<string, unknown> | undefined
  if (data?.strategy !== LOCAL_STRATEGY) {
    return next()
  }
  const db: Knex = context.app.get('postgresqlClient')
  const ip = clientAddress(context.params.ip)
  try {
    await next()
  } catch (error) {
    const userId = isDatabaseUnavailable(error) ? null : await userIdOfEmail(db, data.email).catch(() => null)
    const entry: AuditEntry = {
      userId,
      action: 'login-failed',
      service: 'authentication',
      recordId: null,
      ip
    }
    await appendFailure(db, entry, error, loggerOf(context.params))
    throw error
  }
}
