import { defineFhir } from '../fhir/vocabulary'
import { ids, prefix, reference } from '../fhir/search-parameters'
import { patients } from './patients'

const UCUM = 'http://unitsofmeasure.org'

/**
 * The recorded age in whole years, as UCUM's annum. R4's Age must be above 0, so a patient under a
 * year (age 0) is "less than 1 year". (Two literals rather than a spread: measurably cheaper.)
 */
const recordedAge = (age: number, base: string) => ({
  url: `${base}/StructureDefinition/recorded-age`,
  valueAge:
    age === 0
      ? { comparator: '<', value: 1, unit: 'a', system: UCUM, code: 'a' }
      : { value: age, unit: 'a', system: UCUM, code: 'a' }
})

/** A patient is a Patient (name and recorded age; nothing of the owner) and a Condition (the disease). */
export const patientsFhir = defineFhir(patients, {
  Patient: {
    description: 'A patient: the name and the recorded age',
    interactions: ['read', 'vread', 'search-type', 'history-instance'],
    lastUpdated: 'updatedAt',
    elements: (patient, { base }) => ({
      extension: [recordedAge(patient.age, base)],
      name: [{ text: patient.name }]
    }),
    search: { _id: ids(), name: prefix('name') }
  },
  Condition: {
    description: "A patient's disease, with the patient's id",
    interactions: ['read', 'search-type'],
    lastUpdated: 'updatedAt',
    elements: (patient) => ({
      code: { text: patient.disease },
      subject: { reference: `Patient/${patient.id}` }
    }),
    search: { _id: ids(), patient: reference('Patient', 'id'), subject: reference('Patient', 'id') }
  }
})
