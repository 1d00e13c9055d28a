import { resolve } from '@feathersjs/schema'
import { Type } from '@feathersjs/typebox'
import type { Static } from '@feathersjs/typebox'
import type { HookContext } from '../../declarations'
import { currentUserId, ownerOnly } from '../../hooks/owner-scope'
import { ilike, now, text, timestamp, uuid } from '../../schemas/common'
import { querySyntaxFor } from '../../schemas/query'
import { compileQueryValidator, compileValidator, dataValidator } from '../../validators'
import type { PatientService } from './patients.class'

export const patientSchema = Type.Object(
  {
    id: uuid(),
    name: text(200),
    age: Type.Integer({ minimum: 0, maximum: 150 }),
    disease: text(500),
    userId: uuid(),
    createdAt: timestamp(),
    updatedAt: timestamp()
  },
  { $id: 'Patient', additionalProperties: false }
)
export type Patient = Static<typeof patientSchema>
export const patientExternalResolver = resolve<Patient, HookContext<PatientService>>({})

// Create and update (a full replacement) take every writable field; the owner is the caller.
export const patientDataSchema = Type.Pick(patientSchema, ['name', 'age', 'disease'], {
  $id: 'PatientData',
  additionalProperties: false
})
export type PatientData = Static<typeof patientDataSchema>
export const patientDataValidator = compileValidator(patientDataSchema, dataValidator)
export const patientDataResolver = resolve<Patient, HookContext<PatientService>>({
  userId: currentUserId
})

export const patientPatchSchema = Type.Partial(patientDataSchema, {
  $id: 'PatientPatch',
  additionalProperties: false
})
export type PatientPatch = Static<typeof patientPatchSchema>
export const patientPatchValidator = compileValidator(patientPatchSchema, dataValidator)
export const patientPatchResolver = resolve<Patient, HookContext<PatientService>>({
  updatedAt: now
})

export const patientQuerySchema = querySyntaxFor(patientSchema, { name: ilike() })
export type PatientQuery = Static<typeof patientQuerySchema>
export const patientQueryValidator = compileQueryValidator(patientQuerySchema)
export const patientQueryResolver = resolve<PatientQuery, HookContext<PatientService>>({
  userId: ownerOnly
})
