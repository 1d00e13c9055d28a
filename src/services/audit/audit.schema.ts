import { resolve } from '@feathersjs/schema'
import { Type } from '@feathersjs/typebox'
import type { Static } from '@feathersjs/typebox'
import type { HookContext } from '../../declarations'
import { ownerOnly } from '../../hooks/owner-scope'
import { timestamp, uuid } from '../../schemas/common'
import { querySyntaxFor } from '../../schemas/query'
import { compileQueryValidator } from '../../validators'
import type { AuditService } from './audit.class'

const nullable = <T extends ReturnType<typeof uuid>>(type: T) => Type.Union([type, Type.Null()])

export const auditSchema = Type.Object(
  {
    id: uuid(),
    userId: nullable(uuid()),
    /** The method (`find`, `get`, `create`, …), `<method>-failed`, `login` or `login-failed`. */
    action: Type.String({ maxLength: 32 }),
    service: Type.String({ maxLength: 64 }),
    recordId: nullable(uuid()),
    ip: Type.Union([Type.String({ maxLength: 64 }), Type.Null()]),
    createdAt: timestamp()
  },
  { $id: 'Audit', additionalProperties: false }
)
export type Audit = Static<typeof auditSchema>

/** What a hook hands over; id and createdAt are the database's. */
export type AuditEntry = Pick<Audit, 'userId' | 'action' | 'service' | 'recordId' | 'ip'>

export const auditQuerySchema = querySyntaxFor(
  Type.Pick(auditSchema, ['id', 'userId', 'action', 'service', 'recordId', 'createdAt'])
)
export type AuditQuery = Static<typeof auditQuerySchema>
export const auditQueryValidator = compileQueryValidator(auditQuerySchema)
export const auditQueryResolver = resolve<AuditQuery, HookContext<AuditService>>({
  // Only ever the caller's own trail, whatever the query says.
  userId: ownerOnly
})
