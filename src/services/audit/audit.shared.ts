import type { Params } from '@feathersjs/feathers'
import { remoteService } from '../remote-service'
import type { Audit, AuditQuery, AuditService } from './audit.class'

export type { Audit, AuditQuery }

export type AuditClientService = Pick<AuditService<Params<AuditQuery>>, (typeof auditMethods)[number]>

export const auditPath = 'audit'

// Read-only on every transport: create, update, patch and remove are not offered.
export const auditMethods: Array<keyof AuditService> = ['find', 'get']

export const auditClient = remoteService(auditPath, auditMethods)

declare module '../../client' {
  interface ServiceTypes {
    [auditPath]: AuditClientService
  }
}
