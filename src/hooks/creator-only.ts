import { Forbidden, NotAuthenticated, NotFound } from '@feathersjs/errors'
import type { HookContext, NextFunction } from '../declarations'

async function recordExists(context: HookContext) {
  try {
    await context.service._get(context.id)
    return true
  } catch {
    return false
  }
}

/**
 * Writes (update, patch, remove) reach only records whose `field` is the caller; a record that
 * exists but belongs to someone else is a 403, a missing one stays a 404.
 */
export const creatorOnly = (field: string) => async (context: HookContext, next: NextFunction) => {
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
      (await recordExists(context))
    ) {
      throw new Forbidden(`Only the creator may ${context.method} this record`)
    }
    throw error
  }
}
