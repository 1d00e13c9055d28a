import { person, text } from '../declarative/fields'
import { defineResource } from '../declarative/resource'
import type { RecordOfResource } from '../declarative/declaration'

/** A directory shared by every user; only a doctor's creator may change or remove it. */
export const doctors = defineResource({
  path: 'doctors',
  description: 'A directory shared by all users; only the creator may change or remove a doctor',
  fields: { ...person({ minimum: 18, maximum: 120 }), specialty: text(200) },
  // `createdBy` is null once the creating user has been removed: the doctor stays in the directory.
  owner: { none: 'a shared directory', creator: 'createdBy' },
  // `specialty` for FHIR's PractitionerRole?specialty= (the whole specialty, ignoring case).
  search: ['name', 'specialty'],
  publish: 'authenticated',
  // Every version kept (migrations/…_patients_doctors_history.ts); writes take If-Match.
  history: true,
  api: {}
})

export type Doctor = RecordOfResource<typeof doctors>
