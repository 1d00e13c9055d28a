import { defineFhir } from '../fhir/vocabulary'
import { ids, prefix, reference, wholeIgnoringCase } from '../fhir/search-parameters'
import { doctors } from './doctors'

/** A doctor is a Practitioner (the name; no age) and a PractitionerRole (the specialty). */
export const doctorsFhir = defineFhir(doctors, {
  Practitioner: {
    description: 'A doctor of the shared directory: the name',
    interactions: ['read', 'vread', 'search-type', 'history-instance'],
    lastUpdated: 'updatedAt',
    elements: (doctor) => ({ name: [{ text: doctor.name }] }),
    search: { _id: ids(), name: prefix('name') }
  },
  PractitionerRole: {
    description: "A doctor's specialty, with the doctor's id",
    interactions: ['read', 'vread', 'search-type', 'history-instance'],
    lastUpdated: 'updatedAt',
    elements: (doctor) => ({
      practitioner: { reference: `Practitioner/${doctor.id}` },
      specialty: [{ text: doctor.specialty }]
    }),
    search: {
      _id: ids(),
      practitioner: reference('Practitioner', 'id'),
      specialty: wholeIgnoringCase('specialty')
    }
  }
})
