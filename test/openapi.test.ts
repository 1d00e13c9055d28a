import assert from 'node:assert/strict'
import SwaggerParser from '@apidevtools/swagger-parser'
import { getServiceOptions } from '@feathersjs/feathers'
import { Ajv, addFormats } from '@feathersjs/schema'
import { createApp } from '../src/app'
import { deploymentId } from '../src/database/deployment'
import type { AnyResource, Method } from '../src/declarative/declaration'
import { referencesOf } from '../src/declarative/references'
import { CREATE_ROUTES, LOGOUT_ROUTE, SERVICE_ROUTES } from '../src/http/api-aliases'
import { resources } from '../src/services'
import { created, http, signUp, uniqueEmail, validDoctor, validPatient } from './helpers'
import type { Reply, TestUser } from './helpers'
import { testContext } from './setup'

const HTTP_METHODS: Record<Method, string> = {
  find: 'get',
  get: 'get',
  create: 'post',
  update: 'put',
  patch: 'patch',
  remove: 'delete'
}
const WITH_ID = new Set<Method>(['get', 'update', 'patch', 'remove'])
const TAKES_A_BODY = new Set<Method>(['create', 'update', 'patch'])
const CHANGES_A_RECORD = new Set<Method>(['update', 'patch', 'remove'])
const SUCCESS: Record<Method, number> = {
  find: 200,
  get: 200,
  create: 201,
  update: 200,
  patch: 200,
  remove: 200
}

/** An operation of the document and the statuses it must document, with where they come from. */
interface Expected {
  /** `PATCH /api/patients/{id}` */
  route: string
  statuses: number[]
  anonymous: boolean
  /** What the statuses follow from, for the test's name. */
  from: string
}

/** Whether `method` writes a field that a unique set holds (a 409 when another record has it). */
function writesUnique(resource: AnyResource, method: Method) {
  const written = method === 'patch' ? resource.patchable : TAKES_A_BODY.has(method) ? resource.writable : []
  return (resource.declaration.unique ?? []).some((fields: readonly string[]) =>
    fields.some((field) => written.includes(field))
  )
}

/**
 * The statuses a method of a declared resource answers, from its declaration: every call's query is
 * validated (400), an id may name no record (404), a body may be too large (413), a token is needed
 * unless the method is anonymous (401), a creator rule refuses everyone else's changes (403), a
 * reference may name no record (404 on create), a unique set may be taken (409), a history makes
 * writes and gets conditional (412) and gets answer 304; anything may fail unexpectedly (500) or find the
 * database unavailable (503).
 */
function statusesOf(resource: AnyResource, method: Method): number[] {
  const { declaration, history, authenticated } = resource
  const owner = declaration.owner as { creator?: string }
  const statuses = new Set([SUCCESS[method], 400, 500, 503])
  const add = (condition: unknown, status: number) => condition && statuses.add(status)
  add(authenticated.includes(method), 401)
  add(WITH_ID.has(method), 404)
  add(method === 'create' && referencesOf(resource).length > 0, 404)
  add(TAKES_A_BODY.has(method), 413)
  add(CHANGES_A_RECORD.has(method) && owner.creator, 403)
  add(writesUnique(resource, method), 409)
  add((CHANGES_A_RECORD.has(method) || method === 'get') && history, 412)
  add(method === 'get' && history, 304)
  return [...statuses].sort()
}

/** A history's find and get: read-only, with a token, for a record's id that may name none (404). */
const HISTORY_STATUSES = [200, 400, 401, 404, 500, 503]

/** Every operation a declared resource implies, at its service path and at its `/api` alias. */
function operationsOf(resource: AnyResource): Expected[] {
  const { path, declaration, methods, authenticated, history } = resource
  const operations: Expected[] = []
  const add = (route: string, statuses: number[], anonymous: boolean, from: string) => {
    operations.push({ route, statuses, anonymous, from })
    if (declaration.api) operations.push({ route: route.replace(' /', ' /api/'), statuses, anonymous, from })
  }
  for (const method of methods) {
    if ((declaration.docs?.operations as Record<string, unknown> | undefined)?.[method] === false) continue
    const route = `${HTTP_METHODS[method].toUpperCase()} /${path}${WITH_ID.has(method) ? '/{id}' : ''}`
    operations.push({
      route,
      statuses: statusesOf(resource, method),
      anonymous: !authenticated.includes(method),
      from: `${path}.${method}`
    })
    const findBy = declaration.api?.findBy
    if (declaration.api && !(findBy && method === 'get')) {
      operations.push({ ...operations.at(-1)!, route: route.replace(' /', ' /api/') })
    }
  }
  const findBy = declaration.api?.findBy
  if (findBy && methods.includes('find')) {
    operations.push({
      route: `GET /api/${path}/{id}`,
      statuses: statusesOf(resource, 'find'),
      anonymous: !authenticated.includes('find'),
      from: `${path}.find by ${findBy}`
    })
  }
  if (history) {
    add(`GET /${path}/{id}/history`, HISTORY_STATUSES, false, `${path} history.find`)
    add(`GET /${path}/{id}/history/{version}`, HISTORY_STATUSES, false, `${path} history.get`)
  }
  return operations
}

/**
 * The two services that are no declaration, written out: authentication (a wrong password is a
 * 401, too many failed logins a 429) and sessions.
 */
const NOT_DECLARED: Expected[] = [
  {
    route: 'POST /authentication',
    statuses: [201, 400, 401, 413, 429, 500, 503],
    anonymous: true,
    from: 'authentication.create'
  },
  { route: 'GET /sessions', statuses: [200, 400, 401, 500, 503], anonymous: false, from: 'sessions.find' },
  {
    route: 'DELETE /sessions/{id}',
    statuses: [200, 400, 401, 404, 500, 503],
    anonymous: false,
    from: 'sessions.remove'
  },
  // A refresh is no login: it is never throttled.
  {
    route: 'POST /api/auth/refresh',
    statuses: [201, 400, 401, 413, 500, 503],
    anonymous: true,
    from: 'authentication.create (refresh)'
  },
  {
    route: `POST ${LOGOUT_ROUTE}`,
    statuses: [200, 401, 500, 503],
    anonymous: false,
    from: 'authentication.remove'
  }
]

/** The `/api/auth/...` routes of src/http/api-aliases.ts: each documents what the route it stands for does. */
function authAliases(known: Expected[]): Expected[] {
  const standingFor = (route: string, target: string) => {
    const expected = known.find((operation) => operation.route === target)
    return expected ? [{ ...expected, route }] : []
  }
  return [
    ...Object.entries(CREATE_ROUTES)
      .filter(([route]) => !known.some((operation) => operation.route === `POST ${route}`))
      .flatMap(([route, service]) => standingFor(`POST ${route}`, `POST /${service}`)),
    ...Object.entries(SERVICE_ROUTES).flatMap(([route, service]) => [
      ...standingFor(`GET ${route}`, `GET /${service}`),
      ...standingFor(`DELETE ${route}/{id}`, `DELETE /${service}/{id}`)
    ])
  ]
}

const DECLARED = [...resources.flatMap(operationsOf), ...NOT_DECLARED]
const EXPECTED = [...DECLARED, ...authAliases(DECLARED)]

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

  describe('documents the statuses each declaration implies', () => {
    const operation = (route: string) => {
      const [method, path] = route.split(' ')
      return document.paths[path]?.[method.toLowerCase()]
    }

    for (const { route, statuses, anonymous, from } of EXPECTED) {
      it(`${route} (${from}): ${statuses.join(' ')}${anonymous ? ', no token' : ''}`, () => {
        const documented = operation(route)
        assert.ok(documented, `${route} is not documented`)
        assert.deepEqual(Object.keys(documented.responses).map(Number), statuses)
        assert.deepEqual(documented.security, anonymous ? [] : [{ bearerAuth: [] }])
      })
    }

    // The /fhir routes are the FHIR mappings', checked by test/fhir.test.ts.
    it('and documents no operation beyond those (and the FHIR facade)', () => {
      const documented = Object.entries(document.paths as Record<string, object>)
        .filter(([path]) => !path.startsWith('/fhir/'))
        .flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`))
      const expected = new Set(EXPECTED.map(({ route }) => route))
      assert.equal(expected.size, EXPECTED.length, 'an operation expected twice')
      assert.deepEqual(
        documented.filter((route) => !expected.has(route)),
        []
      )
    })
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
        if (!document.paths[route]?.[HTTP_METHODS[method as Method]]) missing.push(`${servicePath}.${method}`)
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
