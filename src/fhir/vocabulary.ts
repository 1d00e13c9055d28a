import type { AnyResource, RecordOfResource } from '../declarative/declaration'

/**
 * What a resource's FHIR mapping may say (src/services/<name>.fhir.ts): the FHIR types a record
 * makes, the elements of each, its interactions and its search parameters. The machinery of this
 * folder serves every mapping alike: read, vread, history, search, paging, links, errors and the
 * CapabilityStatement.
 */

/** The FHIR interactions a type may offer, in the order the CapabilityStatement lists them. */
export const INTERACTIONS = ['read', 'vread', 'search-type', 'history-instance'] as const

export type Interaction = (typeof INTERACTIONS)[number]

/** A search parameter's FHIR type, as the CapabilityStatement names it. */
export type SearchParameterType = 'token' | 'string' | 'reference' | 'date'

/** One field's part of a service query: a value or Feathers operators (`$in`, `$ilike`, `$gte`, `$lt`). */
export type FieldQuery = Record<string, unknown>

/** What one value of a search parameter asks of the service's records. */
export type ValueQuery = Readonly<Record<string, FieldQuery>> | typeof MATCHES_NOTHING

/** A value that no record can match (an id that is not a UUID, a reference to another type). */
export const MATCHES_NOTHING = Symbol('matches nothing')

export interface SearchParameter<Field extends string = string> {
  readonly type: SearchParameterType
  /** The record's field it searches. */
  readonly field: Field
  /** For the OpenAPI document: what a value means. */
  readonly description: string
  /** Whether it may be given more than once (each occurrence narrows the search). */
  readonly repeatable?: boolean
  /** The query of one value; throws a BadRequest naming the parameter when the value is malformed. */
  query(value: string, name: string): ValueQuery
}

/** What a mapping's functions may use: the FHIR base and how to refer to another resource's record. */
export interface FhirContext {
  /** `<publicUrl>/fhir`: absolute URLs start with it. */
  readonly base: string
  /**
   * The relative reference (`Patient/<id>`) to a record of the service at `path`, by the first type
   * of that resource's mapping; undefined when the resource has no mapping.
   */
  reference(path: string, id: string): string | undefined
}

/** A FHIR resource's elements besides `resourceType`, `id` and `meta`. */
export type Elements = Record<string, unknown>

export interface FhirType<Record> {
  /** A short description, for the OpenAPI document. */
  readonly description: string
  readonly interactions: readonly Interaction[]
  /** The field that is `meta.lastUpdated`; with `vread`, `meta.versionId` is the record's version. */
  readonly lastUpdated?: keyof Record & string
  /** The resource's elements for a record (never null, "", [] or {}). */
  elements(record: Record, context: FhirContext): Elements
  /** The type's search parameters by name, beside `_count`, `_offset` and `_format`. */
  readonly search: Readonly<{ [name: string]: SearchParameter<keyof Record & string> }>
}

/** A record, whatever its resource: what the machinery of this folder knows of one. */
export interface FhirRecord {
  readonly id: string
  readonly [field: string]: unknown
}

/** A resource's FHIR mapping: the types one of its records makes (each with the record's id). */
export interface FhirMapping {
  readonly resource: AnyResource
  readonly types: Readonly<Record<string, FhirType<FhirRecord>>>
}

const TYPE_NAME = /^[A-Z][A-Za-z]{1,63}$/

/** A mapping that cannot be served as declared stops the server here, naming what is wrong. */
function checkMapping(resource: AnyResource, types: FhirMapping['types']) {
  const where = `The FHIR mapping of '${resource.path}'`
  for (const [name, type] of Object.entries(types)) {
    if (!TYPE_NAME.test(name)) {
      throw new Error(`${where} names a type that is not a FHIR resource type: '${name}'`)
    }
    const needs: Array<[Interaction, boolean, string]> = [
      ['read', resource.methods.includes('get'), 'get method'],
      ['search-type', resource.methods.includes('find'), 'find method'],
      ['vread', Boolean(resource.history), 'history'],
      ['history-instance', Boolean(resource.history), 'history']
    ]
    for (const [interaction, possible, what] of needs) {
      if (type.interactions.includes(interaction) && !possible) {
        throw new Error(`${where}: ${name} offers ${interaction}, but the resource has no ${what}`)
      }
    }
    if (type.interactions.includes('vread') !== type.interactions.includes('history-instance')) {
      throw new Error(`${where}: ${name} offers vread without history-instance, or the other way round`)
    }
    const reserved = Object.keys(type.search).filter((parameter) => RESERVED.includes(parameter))
    if (reserved.length > 0) {
      throw new Error(`${where}: ${name} declares parameters the machinery keeps: ${reserved.join(', ')}`)
    }
  }
}

/** Parameters every search has: they are not a type's to declare. */
export const RESERVED = ['_count', '_offset', '_format']

/**
 * Declares the FHIR types a resource's records make: `defineFhir(patients, { Patient: {...} })`.
 * Register the result in src/services/fhir.ts; the facade and the CapabilityStatement follow.
 */
export function defineFhir<R extends AnyResource>(
  resource: R,
  types: Readonly<Record<string, FhirType<RecordOfResource<R>>>>
): FhirMapping {
  // Kept beside the mappings of other resources: the facade hands each type only records of its own.
  const erased = types as unknown as FhirMapping['types']
  checkMapping(resource, erased)
  return { resource, types: erased }
}
