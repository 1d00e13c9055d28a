import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import SwaggerParser from '@apidevtools/swagger-parser'
import { getServiceOptions } from '@feathersjs/feathers'
import { Ajv, addFormats } from '@feathersjs/schema'
import { createApp } from '../src/app'
import { deploymentId } from '../src/database/deployment'
import { created, http, signUp, uniqueEmail, validDoctor, validPatient } from './helpers'
import type { Reply, TestUser } from './helpers'
import { testContext } from './setup'

const API_REFERENCE = readFileSync(path.join(__dirname, '..', 'docs', 'api.md'), 'utf8')
const HTTP_METHODS: Record<string, string> = {
  find: 'get',
  get: 'get',
  create: 'post',
  update: 'put',
  patch: 'patch',
  remove: 'delete'
}
const WITH_ID = new Set(['get', 'update', 'patch', 'remove'])

/** `/api/patients/:id` and `/api/patients/{id}` are the same route: parameters become `{}`. */
const routeShape = (method: string, route: string) =>
  `${method.toUpperCase()} ${route.replace(/:[A-Za-z]+|\{[A-Za-z]+\}/g, '{}')}`

interface ReadmeRoute {
  route: string
  answers: string[]
  errors: string[]
}

const statuses = (line = '') => [...line.matchAll(/`(\d{3})`/g)].map(([, status]) => status)

/** The routes the API reference (docs/api.md) documents: a heading #### `POST /api/...`, then lines
 * `Answers: `201` …` and `Errors: `400`, `401` …`. */
function readmeRoutes(): ReadmeRoute[] {
  const sections = API_REFERENCE.split(/^(?=#{3,4} )/m)
  return sections.flatMap((section) => {
    const heading = /^#{3,4} `(GET|POST|PUT|PATCH|DELETE) (\/[^`\s]+)`/.exec(section)
    if (!heading) return []
    const lines = section.split('\n')
    return [
      {
        route: routeShape(heading[1], heading[2]),
        answers: statuses(lines.find((line) => line.startsWith('Answers:'))),
        errors: statuses(lines.find((line) => line.startsWith('Errors:')))
      }
    ]
  })
}

function documentRoutes(document: any) {
  return Object.entries(document.paths as Record<string, object>).flatMap(([route, item]) =>
    Object.keys(item).map((method) => routeShape(method, route))
  )
}

describe('OpenAPI document and /docs', () => {
  let document: any

  before(async () => {
    const reply = await http('GET', '/openapi.json')
    assert.equal(reply.status, 200)
    document = reply.body
  })

  it('is a valid OpenAPI 3.1 document', async () => {
    assert.equal(document.openapi, '3.1.0')
    await SwaggerParser.validate(structuredClone(document))
  })

  it('has every route the API reference documents, and the API reference documents every /api route', () => {
    const documented = new Set(documentRoutes(document))
    const inReadme = readmeRoutes().map(({ route }) => route)
    assert.ok(inReadme.length >= 24, `only ${inReadme.length} routes found in docs/api.md`)
    assert.deepEqual(
      inReadme.filter((route) => !documented.has(route)),
      [],
      'docs/api.md routes missing from /openapi.json'
    )
    const apiRoutes = [...documented].filter((route) => route.includes(' /api/'))
    assert.deepEqual(
      apiRoutes.filter((route) => !inReadme.includes(route)),
      [],
      '/api routes docs/api.md does not document'
    )
  })

  it('has the success and error statuses the API reference gives each route', () => {
    const operations = new Map(
      Object.entries(document.paths as Record<string, Record<string, any>>).flatMap(([route, item]) =>
        Object.entries(item).map(([method, operation]) => [routeShape(method, route), operation] as const)
      )
    )
    for (const { route, answers, errors } of readmeRoutes()) {
      const codes = Object.keys(operations.get(route).responses)
      assert.deepEqual(
        answers,
        codes.filter((code) => code.startsWith('2')),
        `${route}: Answers`
      )
      assert.deepEqual(
        errors,
        codes.filter((code) => code.startsWith('4')),
        `${route}: Errors`
      )
    }
  })

  it('documents every method of every service the app registers', async () => {
    const { settings, server } = testContext()
    const db = server.app.get('postgresqlClient')
    const app = createApp(settings, db, await deploymentId(db))
    const missing: string[] = []
    for (const [servicePath, service] of Object.entries(app.services)) {
      const { methods, docs } = getServiceOptions(service) as any
      assert.ok(docs, `the ${servicePath} service declares no docs`)
      // A service path may hold route parameters (`patients/:id/history`), and name its id otherwise.
      const base = `/${servicePath}`.replace(/:([A-Za-z]+)/g, '{$1}')
      for (const method of methods) {
        if (docs.operations?.[method] === false) continue
        const route = `${base}${WITH_ID.has(method) ? `/{${docs.idNames?.[method] ?? 'id'}}` : ''}`
        if (!document.paths[route]?.[HTTP_METHODS[method]]) missing.push(`${servicePath}.${method}`)
      }
    }
    assert.ok(Object.keys(app.services).length >= 6)
    assert.deepEqual(missing, [])
  })

  it('documents the /api aliases with bearer auth, their request bodies and the shared error schema', () => {
    assert.deepEqual(document.components.securitySchemes.bearerAuth, {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT'
    })
    const findPatients = document.paths['/api/patients'].get
    assert.deepEqual(findPatients.security, [{ bearerAuth: [] }])
    assert.deepEqual(findPatients.responses['401'], { $ref: '#/components/responses/NotAuthenticated' })
    assert.equal(
      document.paths['/api/patients'].post.requestBody.content['application/json'].schema.$ref,
      '#/components/schemas/PatientData'
    )
    assert.equal(
      document.paths['/api/patients/{id}'].patch.requestBody.content['application/json'].schema.$ref,
      '#/components/schemas/PatientPatch'
    )
    assert.deepEqual(document.paths['/api/auth/register'].post.security, [])
    assert.deepEqual(document.paths['/api/auth/login'].post.security, [])
    assert.deepEqual(document.paths['/api/auth/refresh'].post.security, [])
    assert.equal(
      document.paths['/api/auth/refresh'].post.requestBody.content['application/json'].schema.$ref,
      '#/components/schemas/RefreshData'
    )
    assert.deepEqual(document.paths['/api/auth/logout'].post.security, [{ bearerAuth: [] }])
    assert.deepEqual(document.paths['/api/auth/sessions'].get.security, [{ bearerAuth: [] }])
    assert.deepEqual(document.paths['/api/doctors/{id}'].patch.responses['403'], {
      $ref: '#/components/responses/Forbidden'
    })
    assert.deepEqual(document.paths['/api/mappings'].post.responses['409'], {
      $ref: '#/components/responses/Conflict'
    })
    assert.deepEqual(Object.keys(document.components.schemas.Error.properties), [
      'name',
      'message',
      'code',
      'className',
      'data',
      'errors'
    ])
    const byPatient = document.paths['/api/mappings/{id}'].get
    assert.equal(
      byPatient.responses['200'].content['application/json'].schema.$ref,
      '#/components/schemas/MappingPagination'
    )
    assert.deepEqual(
      byPatient.parameters
        .filter((parameter: any) => parameter.in === 'path')
        .map((parameter: any) => parameter.name),
      ['id']
    )
    assert.ok(!byPatient.parameters.some((parameter: any) => parameter.name === 'patientId'))
  })

  describe('responses agree with the document', () => {
    const ajv = addFormats(new Ajv({ strict: false, allErrors: true }), ['date-time', 'email', 'uuid'])
    let alice: TestUser

    before(async () => {
      ajv.addSchema(document, 'openapi')
      alice = await signUp('Alice')
    })

    /** Validates a reply against the schema the document gives for that route, method and status. */
    function assertDocumented(route: string, method: string, reply: Reply) {
      let response = document.paths[route]?.[method]?.responses?.[reply.status]
      assert.ok(response, `${method.toUpperCase()} ${route} does not document ${reply.status}`)
      if (response.$ref) {
        response = document.components.responses[response.$ref.split('/').pop()]
      }
      const schema = JSON.parse(
        JSON.stringify(response.content['application/json'].schema).replaceAll('"#/', '"openapi#/')
      )
      const validate = ajv.compile(schema)
      assert.ok(
        validate(reply.body),
        `${method.toUpperCase()} ${route} ${reply.status}: ${JSON.stringify(validate.errors)}`
      )
    }

    it('for registration and login', async () => {
      const email = uniqueEmail()
      const body = { name: 'Dr. Doc', email, password: 'correct horse battery' }
      assertDocumented('/api/auth/register', 'post', await http('POST', '/api/auth/register', { body }))
      assertDocumented('/api/auth/register', 'post', await http('POST', '/api/auth/register', { body }))
      assertDocumented(
        '/api/auth/login',
        'post',
        await http('POST', '/api/auth/login', { body: { email, password: body.password } })
      )
      assertDocumented(
        '/api/auth/login',
        'post',
        await http('POST', '/api/auth/login', { body: { email, password: 'wrong password' } })
      )
    })

    it('for refresh, logout and sessions', async () => {
      const login = await http('POST', '/api/auth/login', {
        body: { email: alice.email, password: alice.password }
      })
      const refreshed = await http('POST', '/api/auth/refresh', {
        body: { refreshToken: login.body.refreshToken }
      })
      assertDocumented('/api/auth/refresh', 'post', refreshed)
      assertDocumented(
        '/api/auth/refresh',
        'post',
        await http('POST', '/api/auth/refresh', { body: { refreshToken: 'not a refresh token' } })
      )
      const token = refreshed.body.accessToken
      assertDocumented('/api/auth/sessions', 'get', await http('GET', '/api/auth/sessions', { token }))
      assertDocumented('/api/auth/sessions', 'get', await http('GET', '/api/auth/sessions?nope=1', { token }))
      const other = await http('POST', '/api/auth/login', {
        body: { email: alice.email, password: alice.password }
      })
      const sid = other.body.authentication.payload.sid
      assertDocumented(
        '/api/auth/sessions/{id}',
        'delete',
        await http('DELETE', `/api/auth/sessions/${sid}`, { token })
      )
      assertDocumented(
        '/api/auth/sessions/{id}',
        'delete',
        await http('DELETE', `/api/auth/sessions/${sid}`, { token })
      )
      assertDocumented('/api/auth/logout', 'post', await http('POST', '/api/auth/logout', { token }))
      assertDocumented('/api/auth/logout', 'post', await http('POST', '/api/auth/logout', { token }))
    })

    it('for patients, doctors and mappings', async () => {
      const token = alice.token
      const patient = await http('POST', '/api/patients', { token, body: validPatient() })
      assertDocumented('/api/patients', 'post', patient)
      assertDocumented('/api/patients', 'get', await http('GET', '/api/patients', { token }))
      assertDocumented(
        '/api/patients/{id}',
        'patch',
        await http('PATCH', `/api/patients/${patient.body.id}`, { token, body: { age: 43 } })
      )
      const doctor = await created('/api/doctors', alice, validDoctor())
      const mapping = await http('POST', '/api/mappings', {
        token,
        body: { patientId: patient.body.id, doctorId: doctor.id }
      })
      assertDocumented('/api/mappings', 'post', mapping)
      assertDocumented(
        '/api/mappings',
        'post',
        await http('POST', '/api/mappings', {
          token,
          body: { patientId: patient.body.id, doctorId: doctor.id }
        })
      )
      assertDocumented(
        '/api/mappings/{id}',
        'get',
        await http('GET', `/api/mappings/${patient.body.id}`, { token })
      )
      assertDocumented(
        '/api/mappings/{id}',
        'delete',
        await http('DELETE', `/api/mappings/${mapping.body.id}`, { token })
      )
      assertDocumented('/api/doctors/{id}', 'get', await http('GET', `/api/doctors/${doctor.id}`, { token }))
    })

    it('for errors', async () => {
      const token = alice.token
      assertDocumented('/api/patients', 'get', await http('GET', '/api/patients'))
      assertDocumented(
        '/api/patients',
        'post',
        await http('POST', '/api/patients', { token, body: validPatient({ age: -1 }) })
      )
      assertDocumented(
        '/api/patients/{id}',
        'get',
        await http('GET', '/api/patients/00000000-0000-4000-8000-000000000000', { token })
      )
      const bob = await signUp('Bob')
      const doctor = await created('/api/doctors', alice, validDoctor())
      assertDocumented(
        '/api/doctors/{id}',
        'patch',
        await http('PATCH', `/api/doctors/${doctor.id}`, { token: bob.token, body: { age: 60 } })
      )
    })
  })

  describe('/docs', () => {
    it('redirects /docs to the Swagger UI page, whose scripts are all files of this server', async () => {
      const redirect = await fetch(`${testContext().server.url}/docs`, { redirect: 'manual' })
      assert.equal(redirect.status, 302)
      assert.equal(redirect.headers.get('location'), '/docs/')
      const page = await http('GET', '/docs/', { headers: { accept: 'text/html' } })
      assert.equal(page.status, 200)
      const scripts = [...String(page.body).matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)]
      assert.deepEqual(
        scripts.map(([, attributes]) => /src="([^"]+)"/.exec(attributes)?.[1]),
        ['./swagger-ui-bundle.js', './swagger-ui-standalone-preset.js', './swagger-initializer.js']
      )
      assert.ok(
        scripts.every(([, , inline]) => inline.trim() === ''),
        'an inline script'
      )
    })

    it('serves the initializer that loads /openapi.json, and the Swagger UI bundle', async () => {
      const initializer = await http('GET', '/docs/swagger-initializer.js', { headers: { accept: '*/*' } })
      assert.equal(initializer.status, 200)
      assert.match(initializer.headers.get('content-type') ?? '', /^application\/javascript/)
      assert.match(String(initializer.body), /url: "\/openapi\.json"/)
      const bundle = await fetch(`${testContext().server.url}/docs/swagger-ui-bundle.js`)
      assert.equal(bundle.status, 200)
      assert.ok((await bundle.arrayBuffer()).byteLength > 100_000)
    })
  })
})
