import type { Knex } from 'knex'
import type { HookContext, NextFunction } from '../declarations'
import { describeError, logger } from '../logger'
import { appendAudit } from '../services/audit/audit.class'
import type { AuditEntry } from '../services/audit/audit.schema'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const WRITES = new Set(['create', 'update', 'patch', 'remove'])

const asUuid = (value: unknown) => (typeof value === 'string' && UUID.test(value) ? value.toLowerCase() : null)

/** `::ffff:127.0.0.1` is 127.0.0.1. */
export const clientAddress = (ip: unknown) => (typeof ip === 'string' && ip ? ip.replace(/^::ffff:(?=\d+\.)/, '') : null)

/** The record a call was about: its id, or for a create the new record's; none for a find. */
function recordIdOf(context: HookContext) {
  if (context.method === 'create') {
    return asUuid((context.result as { id?: unknown } | undefined)?.id)
  }
  return asUuid(context.id)
}

function entryFor(context: HookContext, action: string): AuditEntry {
  return {
    userId: context.params.user?.id ?? null,
    action,
    service: context.path,
    recordId: recordIdOf(context),
    ip: clientAddress(context.params.ip)
  }
}

/** A failure's record must not hide the failure itself, nor turn it into another error. */
async function appendQuietly(db: Knex, entry: AuditEntry) {
  await appendAudit(db, entry).catch((error) => logger.error('Could not write an audit record', { entry, ...describeError(error) }))
}

/**
 * Around hook: one audit record per outside call (internal calls, such as loading a mapping's
 * doctor, are not the caller's doing). A write and its record commit in one transaction, so a
 * change never exists without its record; a read's record is written before the answer leaves,
 * and if it cannot be written the read fails (503). A failed call of an authenticated caller is
 * recorded too, as `<method>-failed`. Place it after `authenticate('jwt')`: anonymous calls
 * never get this far.
 */
export const audit = () => async (context: HookContext, next: NextFunction) => {
  if (!context.params.provider) {
    return next()
  }
  const db: Knex = context.app.get('postgresqlClient')
  try {
    if (WRITES.has(context.method)) {
      await db.transaction(async (trx) => {
        context.params.transaction = { trx, id: 0, starting: false }
        await next()
        await appendAudit(trx, entryFor(context, context.method))
      })
    } else {
      await next()
      await appendAudit(db, entryFor(context, context.method))
    }
  } catch (error) {
    if (context.params.user) {
      await appendQuietly(db, entryFor(context, `${context.method}-failed`))
    }
    throw error
  } finally {
    delete context.params.transaction
  }
}

const LOCAL_STRATEGY = 'local'

async function userIdOfEmail(db: Knex, email: unknown): Promise<string | null> {
  if (typeof email !== 'string') {
    return null
  }
  const row = await db('users').where({ email: email.trim().toLowerCase() }).first('id')
  return row?.id ?? null
}

/**
 * Around hook for `authentication.create`: a local login is recorded as `login` (with the user)
 * or `login-failed` (with the user the email belongs to, or none). Logins with a JWT, as a
 * socket re-authenticating, are not logins with credentials and are not recorded.
 */
export const auditLogin = () => async (context: HookContext, next: NextFunction) => {
  const data = context.data as Record<string, unknown> | undefined
  if (data?.strategy !== LOCAL_STRATEGY) {
    return next()
  }
  const db: Knex = context.app.get('postgresqlClient')
  const ip = clientAddress(context.params.ip)
  try {
    await next()
  } catch (error) {
    const userId = await userIdOfEmail(db, data.email).catch(() => null)
    await appendQuietly(db, { userId, action: 'login-failed', service: 'authentication', recordId: null, ip })
    throw error
  }
  const userId = (context.result as { user?: { id?: string } } | undefined)?.user?.id ?? null
  await appendAudit(db, { userId, action: 'login', service: 'authentication', recordId: null, ip })
}
