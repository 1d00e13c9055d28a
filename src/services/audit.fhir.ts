import { defineFhir } from '../fhir/vocabulary'
import type { FhirContext } from '../fhir/vocabulary'
import { date, ids } from '../fhir/search-parameters'
import { audit } from './audit'
import type { Audit } from './audit'

const REST = 'http://terminology.hl7.org/CodeSystem/audit-event-type'
const RESTFUL_INTERACTION = 'http://hl7.org/fhir/restful-interaction'
const DCM = 'http://dicom.nema.org/resources/ontology/DCM'

interface Coded {
  type: { system: string; code: string }
  subtype?: { system: string; code: string }
  action: 'C' | 'R' | 'U' | 'D' | 'E'
}

const rest = (subtype: string, action: Coded['action']): Coded => ({
  type: { system: REST, code: 'rest' },
  subtype: { system: RESTFUL_INTERACTION, code: subtype },
  action
})

const userAuthentication = (subtype: '110122' | '110123'): Coded => ({
  type: { system: DCM, code: '110114' },
  subtype: { system: DCM, code: subtype },
  action: 'E'
})

/** What each audited action was, in FHIR's and DICOM's codes; `<action>-failed` is coded as its action. */
const CODES: Readonly<Record<string, Coded>> = {
  get: rest('read', 'R'),
  find: rest('search-type', 'E'),
  history: rest('history-instance', 'R'),
  create: rest('create', 'C'),
  update: rest('update', 'U'),
  patch: rest('patch', 'U'),
  remove: rest('delete', 'D'),
  login: userAuthentication('110122'),
  'login-failed': userAuthentication('110122'),
  refresh: userAuthentication('110122'),
  logout: userAuthentication('110123'),
  'session-ended': userAuthentication('110123')
}

// An action this table does not know yet is still a valid AuditEvent: a REST call, executed.
const UNKNOWN: Coded = { type: { system: REST, code: 'rest' }, action: 'E' }

const FAILED = /-failed$/

function codedOf(action: string): Coded {
  return CODES[action] ?? CODES[action.replace(FAILED, '')] ?? UNKNOWN
}

/** The record a call was about: a reference where its resource has a FHIR type, else its id. */
function whatOf(service: string, recordId: string, context: FhirContext) {
  const reference = context.reference(service, recordId)
  return reference
    ? { reference }
    : { identifier: { system: `urn:healthcare-api:${service}`, value: recordId } }
}

// Built step by step rather than with conditional spreads, which cost V8 far more (measured here).
function agentOf({ userId, ip }: Audit) {
  const agent: Record<string, unknown> = {}
  if (userId) agent.who = { identifier: { system: 'urn:healthcare-api:user', value: userId } }
  agent.requestor = true
  if (ip) agent.network = { address: ip, type: '2' }
  return agent
}

function auditEventOf(record: Audit, context: FhirContext) {
  const { type, subtype, action } = codedOf(record.action)
  const event: Record<string, unknown> = { type }
  if (subtype) event.subtype = [subtype]
  event.action = action
  event.recorded = record.createdAt
  event.outcome = FAILED.test(record.action) ? '4' : '0'
  event.agent = [agentOf(record)]
  event.source = { observer: { display: 'healthcare-api' } }
  if (record.recordId) event.entity = [{ what: whatOf(record.service, record.recordId, context) }]
  return event
}

/** One of the caller's audit records is an AuditEvent. */
export const auditFhir = defineFhir(audit, {
  AuditEvent: {
    description: 'One of your audit records',
    interactions: ['read', 'search-type'],
    elements: auditEventOf,
    search: { _id: ids(), date: date('createdAt') }
  }
})
