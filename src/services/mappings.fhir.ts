import { defineFhir } from '../fhir/vocabulary'
import { ids, reference } from '../fhir/search-parameters'
import { mappings } from './mappings'

/** A mapping is a CareTeam: the patient and the doctor assigned to them since the mapping was made. */
export const mappingsFhir = defineFhir(mappings, {
  CareTeam: {
    description: 'A doctor assigned to one of your patients',
    interactions: ['read', 'search-type'],
    lastUpdated: 'createdAt',
    elements: (mapping) => ({
      status: 'active',
      subject: { reference: `Patient/${mapping.patientId}` },
      participant: [
        {
          member: { reference: `PractitionerRole/${mapping.doctorId}` },
          period: { start: mapping.createdAt }
        }
      ]
    }),
    search: {
      _id: ids(),
      patient: reference('Patient', 'patientId'),
      subject: reference('Patient', 'patientId')
    }
  }
})
