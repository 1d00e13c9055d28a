import { NotAuthenticated } from '@feathersjs/errors'
import type { HookContext } from '../declarations'

/**
 * A query property resolver for the owner field: with a caller, the field is overwritten with the
 * caller's id, so no `$ne`, `$in`, `$or` or plain value sent by the client can widen the scope
 * (the adapter ANDs `$or` with it). Internal calls without a user keep the query as given.
 */
export async function ownerOnly<V>(value: V, _query: unknown, context: HookContext): Promise<V | string> {
  const { user, provider } = context.params
  if (user) {
    return user.id
  }
  if (provider) {
    throw new NotAuthenticated('Not authenticated')
  }
  return value
}

/** A data property resolver for server-owned owner fields (`userId`, `createdBy`): the caller. */
export async function currentUserId(_value: unknown, _data: unknown, context: HookContext): Promise<string> {
  const { user } = context.params
  if (!user) {
    throw new NotAuthenticated('Not authenticated')
  }
  return user.id
}
