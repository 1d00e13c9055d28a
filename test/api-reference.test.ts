import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { apiReferenceOf, describeSchema } from '../src/docs/api-reference'
import type { OpenApiDocument } from '../src/docs/api-reference'
import { API_REFERENCE_PATH, openApiDocumentOfApp } from '../src/docs/write-api-reference'
import { http } from './helpers'

// docs/api.md is written by `npm run docs:api` from the OpenAPI document: nothing in it is kept by
// hand, so adding a resource changes it by running the script, and this test says when that is due.

describe('the API reference, docs/api.md', () => {
  let served: OpenApiDocument

  before(async () => {
    const reply = await http('GET', '/openapi.json')
    assert.equal(reply.status, 200)
    served = reply.body
  })

  it('is what `npm run docs:api` writes from the OpenAPI document the app serves', () => {
    const written = readFileSync(API_REFERENCE_PATH, 'utf8').split('\n')
    const current = apiReferenceOf(served).split('\n')
    const line = current.findIndex((text, index) => written[index] !== text)
    assert.ok(
      line === -1 && written.length === current.length,
      `docs/api.md is not current (line ${line + 1}: ${JSON.stringify(written[line])}, should be ${JSON.stringify(current[line])}): run npm run docs:api`
    )
  })

  it('the script reads the same document as the app serves', async () => {
    assert.deepEqual(JSON.parse(JSON.stringify(await openApiDocumentOfApp())), served)
  })

  it('lists every /api route the app documents, once', () => {
    const headings = readFileSync(API_REFERENCE_PATH, 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('### '))
    const apiRoutes = Object.entries(served.paths).flatMap(([route, item]) =>
      route.startsWith('/api/')
        ? Object.keys(item).map(
            (method) => `### \`${method.toUpperCase()} ${route.replace(/\{(\w+)\}/g, ':$1')}\``
          )
        : []
    )
    assert.ok(apiRoutes.length >= 24, `only ${apiRoutes.length} /api routes`)
    assert.deepEqual(
      apiRoutes.filter((heading) => headings.filter((line) => line === heading).length !== 1),
      []
    )
  })

  describe('describes a schema in a few words', () => {
    const rows: Array<[string, object, string]> = [
      ['text with a length', { type: 'string', minLength: 1, maxLength: 200 }, 'text, 1–200 characters'],
      ['text with a maximum', { type: 'string', maxLength: 64 }, 'text, at most 64 characters'],
      ['text with a minimum', { type: 'string', minLength: 8 }, 'text, at least 8 characters'],
      ['a format', { type: 'string', format: 'uuid' }, 'uuid'],
      ['an integer range', { type: 'integer', minimum: 0, maximum: 150 }, 'integer 0–150'],
      ['an integer from', { type: 'integer', minimum: 1 }, 'integer from 1'],
      ['a number', { type: 'number' }, 'number'],
      ['a value or null', { anyOf: [{ type: 'string', format: 'uuid' }, { type: 'null' }] }, 'uuid or null'],
      ['constants', { anyOf: [{ const: 'local' }, { const: 'jwt' }] }, '`"local"` or `"jwt"`'],
      ['an enum', { type: 'string', enum: ['create', 'remove'] }, 'one of `create`, `remove`'],
      ['a reference', { $ref: '#/components/schemas/Patient' }, '`Patient`'],
      ['a list', { type: 'array', items: { type: 'string' } }, 'a list of text'],
      ['a boolean', { type: 'boolean' }, 'boolean'],
      ['anything', {}, 'any value']
    ]
    for (const [name, schema, words] of rows) {
      it(`${name}: ${words}`, () => {
        assert.equal(describeSchema(schema), words)
      })
    }
  })
})
