import { person, text } from '../declarative/fields'
import { defineResource } from '../declarative/resource'
import type { RecordOfResource } from '../declarative/declaration'

/** A clinician's patients: each user reaches only their own. */
export const patients = defineResource({
  path: 'patients',
  description: "The caller's own patients",
  fields: { ...person({ minimum: 0, maximum: 150 }), disease: text(500) },
  owner: { field: 'userId' },
  search: ['name'],
  publish: 'owner',
  audit: true,
  // Every version kept (migrations/…_patients_doctors_history.ts); writes take If-Match.
  history: true,
  api: {},
  // A caller's total is read from the counts the database keeps (migrations/…_patient_counts.ts).
  ownerCounts: 'patient_counts'
})

export type Patient = RecordOfResource<typeof patients>
