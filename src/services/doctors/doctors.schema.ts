import { resolve } from '@feathersjs/schema'
import { Type } from '@feathersjs/typebox'
import type { Static } from '@feathersjs/typebox'
import type { HookContext } from '../../declarations'
import { currentUserId } from '../../hooks/owner-scope'
import { ilike, now, text, timestamp, uuid } from '../../schemas/common'
import { querySyntaxFor } from '../../schemas/query'
import { compileQueryValidator, compileValidator, dataValidator } from '../../validators'
import type { DoctorService } from './doctors.class'

export const doctorSchema = Type.Object(
  {
    id: uuid(),
    name: text(200),
    age: Type.Integer({ minimum: 18, maximum: 120 }),
    specialty: text(200),
    // null once the creating user has been removed: the doctor stays in the shared directory.
    createdBy: Type.Union([uuid(), Type.Null()]),
    createdAt: timestamp(),
    updatedAt: timestamp()
  },
  { $id: 'Doctor', additionalProperties: false }
)
export type Doctor = Static<typeof doctorSchema>
export const doctorExternalResolver = resolve<Doctor, HookContext<DoctorService>>({})

export const doctorDataSchema = Type.Pick(doctorSchema, ['name', 'age', 'specialty'], {
  $id: 'DoctorData',
  additionalProperties: false
})
export type DoctorData = Static<typeof doctorDataSchema>
export const doctorDataValidator = compileValidator(doctorDataSchema, dataValidator)
export const doctorDataResolver = resolve<Doctor, HookContext<DoctorService>>({
  createdBy: currentUserId
})

export const doctorPatchSchema = Type.Partial(doctorDataSchema, {
  $id: 'DoctorPatch',
  additionalProperties: false
})
export type DoctorPatch = Static<typeof doctorPatchSchema>
export const doctorPatchValidator = compileValidator(doctorPatchSchema, dataValidator)
export const doctorPatchResolver = resolve<Doctor, HookContext<DoctorService>>({
  updatedAt: now
})

export const doctorQuerySchema = querySyntaxFor(doctorSchema, { name: ilike() })
export type DoctorQuery = Static<typeof doctorQuerySchema>
export const doctorQueryValidator = compileQueryValidator(doctorQuerySchema)
