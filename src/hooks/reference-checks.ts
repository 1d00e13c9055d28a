import { NotFound } from '@feathersjs/errors'
import type { Id, Params } from '@feathersjs/feathers'
import type { ApplicationByPath, HookContext, NextFunction } from '../declarations'
import { fieldOf, originalError } from '../errors'

const FOREIGN_KEY_VIOLATION = '23503'

/**
 * A write that names a record the caller cannot reach fails on a foreign key: answer it as a
 * 404 naming what was not found, by constraint, the same for "missing" and "not yours".
 */
export const referencesNotFound =
  (messages: Record<string, string>) => async (_context: HookContext, next: NextFunction) => {
    try {
      await next()
    } catch (error) {
      const original = originalError(error)
      const constraint =
        fieldOf(original, 'code') === FOREIGN_KEY_VIOLATION ? fieldOf(original, 'constraint') : undefined
      const message = typeof constraint === 'string' ? messages[constraint] : undefined
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

/** What the check needs of the referenced service (a RecordService): reading a record without hooks. */
interface RecordReader {
  _get(id: Id, params: Params): Promise<unknown>
}

const isRecordReader = (service: object): service is RecordReader =>
  typeof (service as Partial<RecordReader>)._get === 'function'

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
      const target = (context.app as ApplicationByPath).service(service)
      if (!isRecordReader(target)) {
        throw new Error(`'${service}' is not a service of records`)
      }
      await target._get(id, { query: { [ownerField]: user.id } }).catch(() => {
        throw new NotFound(message)
      })
    }
  }
