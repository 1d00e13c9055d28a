import { BadRequest } from '@feathersjs/errors'
import { hooks as schemaHooks } from '@feathersjs/schema'
import type { Validator } from '@feathersjs/schema'
import type { HookContext } from '../declarations'

const isRecord = (data: unknown) => data !== null && typeof data === 'object' && !Array.isArray(data)

/**
 * `validateData` for one record. The stock hook validates each element of an array on its own,
 * so `[]` or `[{…}, {…}]` would pass and reach the adapter as a multi-record write: an array where
 * one record belongs is a 400 here, whatever the method.
 */
export const validateRecord = (validator: Validator) => {
  const validateData = schemaHooks.validateData(validator)
  return async (context: HookContext) => {
    if (!isRecord(context.data)) {
      throw new BadRequest('The body must be one record (a JSON object)')
    }
    await validateData(context)
  }
}
