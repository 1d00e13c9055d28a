import type { Application, HookContext, NextFunction, ServiceTypes } from '../../declarations'
import { sessionIdOf } from '../authentication-service'
import { clientAddress } from '../../hooks/audit-trail'

const ENDED = { action: 'session-ended', service: 'sessions' } as const

/** The user a call on `users` is about, when the caller may act on it: themselves, or any for the server. */
function userOf(context: HookContext): string | undefined {
  const id = context.id === undefined || context.id === null ? undefined : String(context.id).toLowerCase()
  if (!context.params.provider) {
    return id
  }
  const caller = context.params.user?.id
  return caller !== undefined && id === caller ? id : undefined
}

/**
 * A changed password ends every other session of the user: whoever knew the old one is logged out
 * everywhere, and the session that changed it goes on.
 */
const endOtherSessionsOnPasswordChange = async (context: HookContext, next: NextFunction) => {
  const changesPassword = (context.data as { password?: unknown } | undefined)?.password !== undefined
  // After the UPDATE, in a statement of its own: it sees a login's session that committed while the
  // UPDATE waited for the login's lock (src/auth/sessions/store.ts, OPEN).
  await next()
  const userId = userOf(context)
  if (changesPassword && userId) {
    const current = context.params.provider ? sessionIdOf(context.params) : undefined
    await context.app
      .get('sessionRegistry')
      .end(
        { userId, except: current },
        { ...ENDED, reason: 'password-changed', ip: clientAddress(context.params.ip) }
      )
  }
}

/**
 * Removing a user ends all of their sessions, in one transaction with the remove: a remove that is
 * refused (400, 404, …) rolls the ends back and changes nothing. They are ended before the DELETE,
 * which takes the rows with it, so each gets its `session-ended` record; every instance learns of
 * them once the transaction has committed. Their sockets are left to src/realtime/channels.ts, which logs
 * them off once they received the `users removed` event.
 */
const endSessionsOfRemovedUser = async (context: HookContext<ServiceTypes['users']>, next: NextFunction) => {
  const userId = userOf(context)
  if (!userId) {
    return next()
  }
  const registry = context.app.get('sessionRegistry')
  const ending = { ...ENDED, reason: 'user-removed', ip: clientAddress(context.params.ip) } as const
  const params = context.params
  const ended = await context.app.get('postgresqlClient').transaction(async (trx) => {
    const sessions = await registry.store.end({ userId }, ending, trx)
    context.params = { ...params, transaction: { starting: false, trx } }
    try {
      await next()
    } finally {
      context.params = params
    }
    return sessions
  })
  registry.haveEnded(
    ended.map(({ id }) => id),
    { logOff: false }
  )
}

/** Around hooks of `users`, after its own (the caller is authenticated by then). */
export const userSessions = (app: Application) => {
  app.service('users').hooks({
    around: { patch: [endOtherSessionsOnPasswordChange], remove: [endSessionsOfRemovedUser] }
  })
}
