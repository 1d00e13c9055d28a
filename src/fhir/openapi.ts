import type { Application } from '../declarations'
import { DEFAULT_COUNT, MAX_COUNT } from './request'
import type { FhirMapping, FhirRecord, FhirType, Interaction } from './vocabulary'

/**
 * The /fhir routes in /openapi.json, made from the same mappings the facade serves: each type's
 * interactions with their parameters, their answers as `application/fhir+json`, and the
 * OperationOutcome of every error.
 */

type Operation = Record<string, unknown>

const FHIR_JSON = 'application/fhir+json'
const SPEC = 'https://hl7.org/fhir/R4'

const schemaRef = (name: string) => ({ $ref: `#/components/schemas/Fhir${name}` })
const fhirContent = (name: string) => ({ [FHIR_JSON]: { schema: schemaRef(name) } })

/** A FHIR resource's schema: its `resourceType`, the rest as the R4 specification defines it. */
const resourceSchema = (name: string, description: string) => ({
  type: 'object',
  description: `${description}. A FHIR R4 ${name}: ${SPEC}/${name.toLowerCase()}.html`,
  required: ['resourceType'],
  properties: { resourceType: { type: 'string', enum: [name] }, id: { type: 'string' } },
  additionalProperties: true
})

const OPERATION_OUTCOME = {
  type: 'object',
  description: `Every error under /fhir: ${SPEC}/operationoutcome.html`,
  required: ['resourceType', 'issue'],
  properties: {
    resourceType: { type: 'string', enum: ['OperationOutcome'] },
    issue: {
      type: 'array',
      items: {
        type: 'object',
        required: ['severity', 'code', 'diagnostics'],
        properties: {
          severity: { type: 'string', enum: ['error'] },
          code: {
            type: 'string',
            description:
              '400 `invalid`, 401 `login`, 403 `forbidden`, 404 `not-found`, 405 and 406 `not-supported`, 410 `deleted`, 429 `throttled`, 500 `exception`, 503 `transient`'
          },
          diagnostics: { type: 'string' }
        }
      }
    }
  }
}

const ERRORS: Record<number, string> = {
  400: 'A known parameter with a malformed value, or given twice; with `Prefer: handling=strict`, an unknown parameter',
  401: 'No valid access token (`WWW-Authenticate: Bearer`)',
  404: 'No such record, or not one the caller may see',
  406: 'A `_format` or `Accept` that rules out JSON',
  410: 'The record was removed (for whoever may still read its history)',
  500: 'Unexpected failure (details are logged, never sent)',
  503: 'The database is unavailable'
}

const errorResponses = (statuses: number[]) =>
  Object.fromEntries(
    statuses.map((status) => [
      status,
      { description: ERRORS[status], content: fhirContent('OperationOutcome') }
    ])
  )

const query = (name: string, description: string, schema: object = { type: 'string' }) => ({
  in: 'query',
  name,
  description,
  schema
})

const FORMAT = query(
  '_format',
  '`json`, `application/json` or `application/fhir+json`; anything else is a 406'
)
const PREFER = {
  in: 'header',
  name: 'Prefer',
  description: '`handling=strict`: an unknown parameter is a 400 instead of being ignored',
  schema: { type: 'string' }
}
const PAGING = [
  query(
    '_count',
    `Page size (default ${DEFAULT_COUNT}; a larger one than ${MAX_COUNT} is ${MAX_COUNT}; 0: the total alone)`,
    {
      type: 'integer',
      minimum: 0
    }
  ),
  query('_offset', 'Matches to skip (default 0)', { type: 'integer', minimum: 0 })
]
const ETAG = { ETag: { description: 'The version: `W/"3"`', schema: { type: 'string' } } }

const pathId = (name: string, description: string) => ({
  in: 'path',
  name,
  required: true,
  description,
  schema: { type: 'string' }
})

function operation(summary: string, parameters: object[], success: object, errors: number[]) {
  return {
    tags: ['fhir'],
    summary,
    parameters,
    responses: { 200: success, ...errorResponses(errors) },
    security: [{ bearerAuth: [] }]
  }
}

function typePaths(name: string, type: FhirType<FhirRecord>): Record<string, { get: Operation }> {
  const offers = (interaction: Interaction) => type.interactions.includes(interaction)
  const id = pathId('id', `The ${name}'s id`)
  const version = pathId('vid', 'The version: an integer from 1')
  const gone = offers('history-instance') ? [410] : []
  const one = (description: string) => ({
    description,
    content: fhirContent(name),
    ...(offers('vread') && { headers: ETAG })
  })
  const bundle = (description: string) => ({ description, content: fhirContent('Bundle') })
  const paths: Record<string, { get: Operation }> = {}
  if (offers('search-type')) {
    const parameters = Object.entries(type.search).map(([parameter, { description }]) =>
      query(parameter, description)
    )
    paths[`/fhir/${name}`] = {
      get: operation(
        `Search ${name}`,
        [...parameters, ...PAGING, FORMAT, PREFER],
        bundle('A Bundle of type `searchset`: `total`, `link` self/next/previous, the page of matches'),
        [400, 401, 406, 500, 503]
      )
    }
  }
  if (offers('read')) {
    paths[`/fhir/${name}/{id}`] = {
      get: operation(`Read a ${name}`, [id, FORMAT, PREFER], one(`The ${name}`), [
        401,
        404,
        406,
        ...gone,
        500,
        503
      ])
    }
  }
  if (offers('history-instance')) {
    paths[`/fhir/${name}/{id}/_history`] = {
      get: operation(
        `The versions of a ${name}, newest first`,
        [id, ...PAGING, FORMAT, PREFER],
        bundle('A Bundle of type `history`: each version with its request and response'),
        [400, 401, 404, 406, 500, 503]
      )
    }
  }
  if (offers('vread')) {
    paths[`/fhir/${name}/{id}/_history/{vid}`] = {
      get: operation(
        `One version of a ${name}`,
        [id, version, FORMAT, PREFER],
        one(`The ${name} as that version left it (a removal is a 410)`),
        [401, 404, 406, 410, 500, 503]
      )
    }
  }
  return paths
}

function metadataPath() {
  return {
    '/fhir/metadata': {
      get: {
        tags: ['fhir'],
        summary: 'The CapabilityStatement of the FHIR facade (no token needed)',
        parameters: [FORMAT, PREFER],
        responses: {
          200: { description: 'What this server serves', content: fhirContent('CapabilityStatement') },
          ...errorResponses([400, 406, 500])
        },
        security: []
      }
    }
  }
}

/**
 * The /fhir routes and their schemas, added to the document when the facade is configured: they
 * name no service, so (unlike the `/api` routes) they need not wait for the services' registration.
 */
export const documentFhir = (mappings: readonly FhirMapping[]) => (app: Application) => {
  // feathers-swagger keeps the document it serves as `app.docs` (its `appProperty`).
  const document = (app as unknown as { docs: { paths: object; components: { schemas: object } } }).docs
  const types = mappings.flatMap(({ types }) => Object.entries(types))
  Object.assign(document.paths, metadataPath(), ...types.map(([name, type]) => typePaths(name, type)))
  Object.assign(document.components.schemas, {
    FhirOperationOutcome: OPERATION_OUTCOME,
    FhirBundle: resourceSchema('Bundle', 'A page of a search, or of a history'),
    FhirCapabilityStatement: resourceSchema('CapabilityStatement', 'What the facade serves'),
    ...Object.fromEntries(
      types.map(([name, type]) => [`Fhir${name}`, resourceSchema(name, type.description)])
    )
  })
}
