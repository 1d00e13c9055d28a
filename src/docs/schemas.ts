import { Type } from '@feathersjs/typebox'

/** What every error answer looks like: `toPublicError(...).toJSON()`. */
export const errorSchema = Type.Object(
  {
    name: Type.String({ description: 'The error class, e.g. `BadRequest`' }),
    message: Type.String(),
    code: Type.Integer({ description: 'The HTTP status' }),
    className: Type.String({ description: 'The error class in kebab case, e.g. `bad-request`' }),
    data: Type.Optional(Type.Unknown({ description: 'Details, e.g. the fields that failed validation' })),
    errors: Type.Optional(Type.Unknown())
  },
  { $id: 'Error', additionalProperties: false }
)

/** Each error status the API answers with: the Feathers class name and what it means here. */
export const ERRORS = {
  400: {
    name: 'BadRequest',
    description: 'Invalid input: the offending fields are named in `data`',
    message: 'validation failed'
  },
  401: {
    name: 'NotAuthenticated',
    description: 'Missing or invalid credentials',
    message: 'Not authenticated'
  },
  403: {
    name: 'Forbidden',
    description: "Only the record's creator may do this",
    message: 'Only the creator may change this record'
  },
  404: {
    name: 'NotFound',
    description: 'No such record, or not one the caller may see',
    message: 'No record found'
  },
  409: {
    name: 'Conflict',
    description: 'A record with these values already exists',
    message: 'email already exists'
  },
  412: {
    name: 'PreconditionFailed',
    description: 'The record is at another version than `If-Match` (or `$ifMatch`) names: nothing changed',
    message: 'The record is at version 4, not 3'
  },
  413: {
    name: 'PayloadTooLarge',
    description: 'The body is over 100 kB',
    message: 'Request body is too large'
  },
  429: {
    name: 'TooManyRequests',
    description: 'Too many failed logins: wait for `Retry-After` seconds',
    message: 'Too many failed logins'
  },
  500: {
    name: 'GeneralError',
    description: 'Unexpected failure (details are logged, never sent)',
    message: 'Internal Server Error'
  },
  503: { name: 'Unavailable', description: 'The database is unavailable', message: 'Database unavailable' }
} as const

export type ErrorStatus = keyof typeof ERRORS

const kebabCase = (name: string) => name.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase()

/** `components.responses`: one named response per error status, all of the shared error schema. */
export function errorResponses() {
  return Object.fromEntries(
    Object.entries(ERRORS).map(([code, { name, description, message }]) => [
      name,
      {
        description,
        content: {
          'application/json': {
            schema: { $ref: '#/components/schemas/Error' },
            example: { name, message, code: Number(code), className: kebabCase(name) }
          }
        }
      }
    ])
  )
}

export const errorResponseRef = (status: ErrorStatus) => ({
  $ref: `#/components/responses/${ERRORS[status].name}`
})
