import { NotFound } from '@feathersjs/errors'
import type { HookContext, NextFunction } from '../declarations'

const KNEX_ORIGINAL_ERROR = Symbol.for('@feathersjs/knex/error')
const FOREIGN_KEY_VIOLATION = '23503'

/**
 * A write that names a record the caller cannot reach fails on a foreign key: answer it as a
 * 404 naming what was not found, by constraint, the same for "missing" and "not yours".
 */
export const referencesNotFound =
  (messages: Record<string, string>) => async (_context: HookContext, next: NextFunction) => {
    try {
      await next()
    } catch (error: any) {
      const original = error?.[KNEX_ORIGINAL_ERROR] ?? error
      const message = original?.code === FOREIGN_KEY_VIOLATION ? messages[original.constraint] : undefined
      throw message ? new NotFound(message) : error
    }
  }

export interface OwnReference {
  /** The field of the incoming data that names the record. */
  field: string
  /** The service that holds it. */
  service: string
  /** The owner field of that record. */
  ownerField: string
  message: string
}

/**
 * Before a create, the record that `field` names must be the caller's: a 404 otherwise, the same
 * as for a missing record, and before any other constraint can reveal that it exists.
 */
export const requireOwnReference =
  ({ field, service, ownerField, message }: OwnReference) =>
  async (context: HookContext) => {
    const { user } = context.params
    const id = (context.data as Record<string, unknown> | undefined)?.[field]
    if (user && typeof id === 'string') {
      const target = context.app.service(service as any) as any
      await target._get(id, { query: { [ownerField]: user.id } }).catch(() => {
        throw new NotFound(message)
      })
    }
  }
