import { resolve } from '@feathersjs/schema'
import { Type } from '@feathersjs/typebox'
import type { Static } from '@feathersjs/typebox'
import type { HookContext } from '../../declarations'
import { currentUserId, ownerOnly } from '../../hooks/owner-scope'
import { timestamp, uuid } from '../../schemas/common'
import { querySyntaxFor } from '../../schemas/query'
import { compileQueryValidator, compileValidator, dataValidator } from '../../validators'
import { doctorSchema } from '../doctors/doctors.schema'
import { patientSchema } from '../patients/patients.schema'
import type { MappingService } from './mappings.class'

export const mappingSchema = Type.Object(
  {
    id: uuid(),
    patientId: uuid(),
    doctorId: uuid(),
    // The patient's owner: kept for access checks, never sent (see mappingExternalResolver).
    userId: Type.Optional(uuid()),
    createdAt: timestamp(),
    doctor: Type.Optional(Type.Union([Type.Ref(doctorSchema), Type.Null()])),
    patient: Type.Optional(Type.Union([Type.Ref(patientSchema), Type.Null()]))
  },
  { $id: 'Mapping', additionalProperties: false }
)
export type Mapping = Static<typeof mappingSchema>
// What responses and events carry, always with both records (documentation only: never compiled,
// so its $id is free).
export const mappingResponseSchema = Type.Object(
  {
    ...Type.Omit(mappingSchema, ['userId', 'doctor', 'patient']).properties,
    doctor: Type.Ref(doctorSchema),
    patient: Type.Ref(patientSchema)
  },
  { $id: 'Mapping', additionalProperties: false }
)
export const mappingExternalResolver = resolve<Mapping, HookContext<MappingService>>({
  userId: async () => undefined
})

export const mappingDataSchema = Type.Pick(mappingSchema, ['patientId', 'doctorId'], {
  $id: 'MappingData',
  additionalProperties: false
})
export type MappingData = Static<typeof mappingDataSchema>
export const mappingDataValidator = compileValidator(mappingDataSchema, dataValidator)
export const mappingDataResolver = resolve<Mapping, HookContext<MappingService>>({
  userId: currentUserId
})

export const mappingQuerySchema = querySyntaxFor(
  Type.Pick(mappingSchema, ['id', 'patientId', 'doctorId', 'createdAt']),
  {}
)
export type MappingQuery = Static<typeof mappingQuerySchema> & { userId?: string }
export const mappingQueryValidator = compileQueryValidator(mappingQuerySchema)
export const mappingQueryResolver = resolve<MappingQuery, HookContext<MappingService>>({
  userId: ownerOnly
})
