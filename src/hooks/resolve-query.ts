import { VALIDATED } from '@feathersjs/adapter-commons'
import { hooks as schemaHooks } from '@feathersjs/schema'
import type { Resolver } from '@feathersjs/schema'
import type { HookContext } from '../declarations'

const isValidated = (query: object | undefined) =>
  query !== undefined && VALIDATED in query && query[VALIDATED] === true

/**
 * `resolveQuery` that keeps the mark `validateQuery` put on the query. The stock hook returns a new
 * object without it, so the adapter would filter the whole query again on every call. Place it
 * after `validateQuery`: our query resolvers only write server-chosen values (the caller's id)
 * into fields the query schema allows, so what they return is as valid as what they were given.
 * (What the mark does and that the stock hook drops it: test/unit/library-internals.test.ts.)
 */
export const resolveValidatedQuery = <T>(resolver: Resolver<T, HookContext>) => {
  const resolveQuery = schemaHooks.resolveQuery(resolver)
  return async (context: HookContext) => {
    const validated = isValidated(context.params.query)
    await resolveQuery(context)
    const { query } = context.params
    if (validated && query && !isValidated(query)) {
      Object.defineProperty(query, VALIDATED, { value: true })
    }
  }
}
