import { INTERACTIONS } from './vocabulary'
import type { FhirMapping } from './vocabulary'

export const FHIR_VERSION = '4.0.1'

const SECURITY =
  'Every interaction but GET /fhir/metadata takes Authorization: Bearer <accessToken>, the access token of POST /api/auth/login (the same as for /api). Each caller reaches what the JSON API lets them: their own patients and their mappings, every doctor, their own audit records.'

/**
 * `GET /fhir/metadata`: what this server serves, made from the registered mappings alone: each
 * type with exactly its interactions and search parameters; read-only, no system-level
 * interaction, no operation.
 */
export function capabilityStatement(mappings: readonly FhirMapping[], base: string, date: string) {
  const resources = mappings.flatMap(({ types }) =>
    Object.entries(types).map(([type, { interactions, search }]) => {
      const versioned = interactions.includes('vread')
      return {
        type,
        interaction: INTERACTIONS.filter((code) => interactions.includes(code)).map((code) => ({ code })),
        versioning: versioned ? 'versioned' : 'no-version',
        ...(versioned && { readHistory: true }),
        ...(interactions.includes('search-type') &&
          Object.keys(search).length > 0 && {
            searchParam: Object.entries(search).map(([name, parameter]) => ({ name, type: parameter.type }))
          })
      }
    })
  )
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date,
    kind: 'instance',
    fhirVersion: FHIR_VERSION,
    format: ['json'],
    implementation: { description: 'Healthcare API: a read-only FHIR R4 facade of its records', url: base },
    rest: [{ mode: 'server', security: { description: SECURITY }, resource: resources }]
  }
}
