import type { AnyResource, Reference } from './declaration'
import { snakeCase } from '../database/naming'

/** The declaration's references, each with the field that holds it. */
export const referencesOf = (resource: AnyResource) =>
  Object.entries<Reference | undefined>(resource.declaration.references ?? {}).flatMap(
    ([field, reference]) => (reference ? [{ field, ...reference }] : [])
  )

const isOwnedThrough = (resource: AnyResource, field: string) => {
  const { owner } = resource.declaration
  return 'through' in owner && owner.through === field
}

/**
 * The name of a reference's foreign key (`mappings_doctor_id_foreign`, and for the reference a
 * record is owned through `mappings_patient_id_owner_foreign`): the migration writer gives it,
 * the drift check looks for it, and a violation of it is answered with the reference's 404.
 */
export const foreignKeyName = (resource: AnyResource, field: string) =>
  `${resource.table}_${snakeCase(field)}_${isOwnedThrough(resource, field) ? 'owner_' : ''}foreign`
