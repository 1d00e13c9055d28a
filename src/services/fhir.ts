import type { FhirMapping } from '../fhir/vocabulary'
import { auditFhir } from './audit.fhir'
import { doctorsFhir } from './doctors.fhir'
import { mappingsFhir } from './mappings.fhir'
import { patientsFhir } from './patients.fhir'

/**
 * Every FHIR mapping the facade serves under /fhir (src/fhir), in the CapabilityStatement's order.
 * A resource's mapping sits beside its declaration (`<name>.fhir.ts`); list it here.
 */
export const fhirMappings: readonly FhirMapping[] = [patientsFhir, doctorsFhir, mappingsFhir, auditFhir]
