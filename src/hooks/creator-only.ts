import { Forbidden, NotAuthenticated, NotFound } from '@feathersjs/errors'
import type { Id } from '@feathersjs/feathers'
import type { HookContext, NextFunction } from '../declarations'

/** The hook's service (a RecordService) reads a record without running hooks. */
type Context = HookContext<{ _get(id: Id): Promise<Record<string, unknown>> }>

/** Whether the record exists and someone other than `userId` created it (its creator may be gone: null). */
async function createdBySomeoneElse(context: Context, id: Id, field: string, userId: string) {
  try {
    const record = await context.service._get(id)
    return record[field] !== userId
  } catch {
    return false
  }
}

/**
 * Writes (update, patch, remove) reach only records whose `field` is the caller; a record that
 * exists but was created by someone else is a 403. A missing one stays a 404, and so does the
 * caller's own record when the query of the write leaves it out.
 */
export const creatorOnly = (field: string) => async (context: Context, next: NextFunction) => {
  const { user, provider } = context.params
  if (!user) {
    if (provider) {
      throw new NotAuthenticated('Not authenticated')
    }
    return next()
  }
  context.params.query = { ...context.params.query, [field]: user.id }
  try {
    await next()
  } catch (error) {
    if (
      error instanceof NotFound &&
      context.id !== null &&
      context.id !== undefined &&
      (await createdBySomeoneElse(context, context.id, field, user.id))
    ) {
      throw new Forbidden(`Only the creator may ${context.method} this record`)
    }
    throw error
  }
}
