/**
 * The API reference, docs/api.md, rendered from the OpenAPI document (`npm run docs:api`, see
 * write-api-reference.ts). Nothing in it is written by hand: a route, a body, a status comes from
 * the declarations (through the document) or it is not there.
 */
export interface Schema {
  type?: string
  format?: string
  description?: string
  minLength?: number
  maxLength?: number
  minimum?: number
  maximum?: number
  enum?: unknown[]
  const?: unknown
  anyOf?: Schema[]
  $ref?: string
  properties?: Record<string, Schema>
  required?: string[]
  items?: Schema
}

interface Parameter {
  in: string
  name: string
}

interface Response {
  $ref?: string
  description?: string
  headers?: Record<string, unknown>
  content?: Record<string, { schema?: Schema; example?: { code?: number } }>
}

interface Operation {
  summary?: string
  description?: string
  tags?: string[]
  security?: unknown[]
  parameters?: Parameter[]
  requestBody?: { content?: Record<string, { schema?: Schema }> }
  responses: Record<string, Response>
}

export interface OpenApiDocument {
  tags?: Array<{ name: string; description?: string }>
  paths: Record<string, Record<string, Operation>>
  components: { schemas: Record<string, Schema>; responses: Record<string, Response> }
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete']

interface Route {
  method: string
  path: string
  operation: Operation
}

const refName = (ref: string) => ref.split('/').pop()!

const code = (text: string) => `\`${text}\``

/** `/api/patients/{id}` as Feathers and Express write it: `/api/patients/:id`. */
const expressPath = (route: string) => route.replace(/\{([^}]+)\}/g, ':$1')

/** Every operation of the document, in its order. */
function routesOf(document: OpenApiDocument): Route[] {
  return Object.entries(document.paths).flatMap(([routePath, item]) =>
    METHODS.filter((method) => item[method]).map((method) => ({
      method,
      path: routePath,
      operation: item[method]
    }))
  )
}

/** The service routes an `/api` route stands for: its description says "The same as `GET /x`". */
function aliasedRoutes(routes: Route[]): Set<string> {
  const aliased = new Set<string>()
  for (const { path: routePath, operation } of routes) {
    const target = /The same as `([A-Z]+) (\/[^`?\s]*)/.exec(operation.description ?? '')
    if (routePath.startsWith('/api/') && target) aliased.add(`${target[1].toLowerCase()} ${target[2]}`)
  }
  return aliased
}

/** The routes the page lists: every `/api` route, and the service routes no `/api` route stands for. */
function listedRoutes(document: OpenApiDocument): Route[] {
  const routes = routesOf(document)
  const aliased = aliasedRoutes(routes)
  return routes.filter(
    ({ method, path: routePath }) => routePath.startsWith('/api/') || !aliased.has(`${method} ${routePath}`)
  )
}

function lengthOf({ minLength, maxLength }: Schema) {
  if (minLength !== undefined && maxLength !== undefined) return `${minLength}–${maxLength} characters`
  if (maxLength !== undefined) return `at most ${maxLength} characters`
  if (minLength !== undefined) return `at least ${minLength} characters`
  return undefined
}

function rangeOf({ minimum, maximum }: Schema) {
  if (minimum !== undefined && maximum !== undefined) return `${minimum}–${maximum}`
  if (minimum !== undefined) return `from ${minimum}`
  if (maximum !== undefined) return `up to ${maximum}`
  return undefined
}

/** One schema in a few words: `text, 1–200 characters`, `integer 0–150`, `uuid or null`. */
export function describeSchema(schema: Schema): string {
  if (schema.$ref) return code(refName(schema.$ref))
  if (schema.anyOf) return schema.anyOf.map(describeSchema).join(' or ')
  if (schema.const !== undefined) return code(JSON.stringify(schema.const))
  if (schema.enum) return `one of ${schema.enum.map((value) => code(String(value))).join(', ')}`
  switch (schema.type) {
    case 'string':
      return [schema.format ?? 'text', lengthOf(schema)].filter(Boolean).join(', ')
    case 'integer':
    case 'number':
      return [schema.type, rangeOf(schema)].filter(Boolean).join(' ')
    case 'array':
      return schema.items ? `a list of ${describeSchema(schema.items)}` : 'a list'
    case 'null':
      return 'null'
    default:
      return schema.type ?? 'any value'
  }
}

const schemaOf = (document: OpenApiDocument, schema: Schema | undefined) =>
  schema?.$ref ? document.components.schemas[refName(schema.$ref)] : schema

/** A body's fields: `name` (text, 1–200 characters), with `required` where it is. */
function bodyLine(document: OpenApiDocument, operation: Operation): string | undefined {
  const reference = operation.requestBody?.content?.['application/json']?.schema
  const schema = schemaOf(document, reference)
  if (!schema?.properties) return undefined
  const required = new Set(schema.required ?? [])
  const fields = Object.entries(schema.properties).map(
    ([name, field]) => `${code(name)} (${describeSchema(field)}${required.has(name) ? ', required' : ''})`
  )
  const name = reference?.$ref ? ` ${code(refName(reference.$ref))}` : ''
  return `Body${name}: ${fields.join(', ') || 'an empty object'}.`
}

function parametersLine(operation: Operation, where: string, label: string) {
  const names = (operation.parameters ?? []).filter((parameter) => parameter.in === where)
  return names.length ? `${label}: ${names.map(({ name }) => code(name)).join(', ')}.` : undefined
}

/** What a success carries: a record, a page of records, or a list. */
function answerOf(document: OpenApiDocument, response: Response) {
  const schema = response.content?.['application/json']?.schema
  const named = schema?.$ref ? refName(schema.$ref) : undefined
  const page = named ? document.components.schemas[named]?.properties?.data : undefined
  const items = page && schemaOf(document, page)?.items
  const carried = items?.$ref ? `a page of ${code(refName(items.$ref))}` : named ? code(named) : undefined
  const headers = Object.keys(response.headers ?? {}).map(code)
  return [response.description, carried && `(${carried})`, headers.length ? `with ${headers.join(', ')}` : '']
    .filter(Boolean)
    .join(' ')
}

function answersLine(document: OpenApiDocument, operation: Operation) {
  const successes = Object.entries(operation.responses).filter(([status]) => status < '400')
  return `Answers: ${successes.map(([status, response]) => `${code(status)} ${answerOf(document, response)}`).join('; ')}.`
}

function errorsLine(operation: Operation) {
  const errors = Object.keys(operation.responses).filter((status) => status >= '400')
  return `Errors: ${errors.map(code).join(', ')}.`
}

function routeSection(document: OpenApiDocument, { method, path: routePath, operation }: Route) {
  const token = operation.security?.length ? '*Token*.' : 'No token.'
  const about = [operation.summary && `${operation.summary}.`, token, operation.description]
    .filter(Boolean)
    .join(' ')
  const items = [
    bodyLine(document, operation),
    parametersLine(operation, 'query', 'Query'),
    parametersLine(operation, 'header', 'Headers'),
    answersLine(document, operation),
    errorsLine(operation)
  ].filter(Boolean)
  const heading = `### ${code(`${method.toUpperCase()} ${expressPath(routePath)}`)}`
  return `${heading}\n\n${about}\n\n${items.map((item) => `- ${item}`).join('\n')}\n`
}

/** The records the listed routes answer with, in the order they first appear. */
function recordsOf(document: OpenApiDocument, routes: Route[]) {
  const names = new Set<string>()
  for (const { operation } of routes) {
    for (const [status, response] of Object.entries(operation.responses)) {
      const schema = response.content?.['application/json']?.schema
      if (status >= '400' || !schema?.$ref) continue
      const name = refName(schema.$ref)
      const items = schemaOf(document, document.components.schemas[name]?.properties?.data)?.items
      names.add(items?.$ref ? refName(items.$ref) : name)
    }
  }
  return [...names]
}

function recordsTable(document: OpenApiDocument, routes: Route[]) {
  const rows = recordsOf(document, routes).map((name) => {
    const properties = Object.keys(document.components.schemas[name]?.properties ?? {})
    return `| ${code(name)} | ${properties.map(code).join(', ')} |`
  })
  return ['| record | fields |', '| --- | --- |', ...rows].join('\n')
}

function errorsTable(document: OpenApiDocument) {
  const rows = Object.entries(document.components.responses).map(([name, response]) => {
    const status = response.content?.['application/json']?.example?.code
    return `| ${code(String(status))} | ${code(name)} | ${response.description ?? ''} |`
  })
  return ['| status | name | when |', '| --- | --- | --- |', ...rows].join('\n')
}

const INTRO = `Every \`/api\` route, and the routes only reachable at a Feathers service path, grouped by
service: the body each takes, what it answers and the errors it documents. Every service is also at
its Feathers path (\`/patients\` for \`/api/patients\`), for REST and Socket.io clients.
\`GET /openapi.json\` (and Swagger UI at \`/docs\`) is the same document with the full schemas.
Routes marked *Token* need \`Authorization: Bearer <accessToken>\`. Errors have the shape described
under [Errors](using-the-api.md#errors); a page is \`{ total, limit, skip, data }\`, see
[Finding records](using-the-api.md#finding-records).`

/** docs/api.md: the OpenAPI document as a page. */
export function apiReferenceOf(document: OpenApiDocument): string {
  const routes = listedRoutes(document)
  const tags = document.tags ?? []
  const sections = tags.flatMap(({ name, description }) => {
    const tagged = routes.filter(({ operation }) => operation.tags?.[0] === name)
    if (tagged.length === 0) return []
    const heading = `## ${code(name)}\n\n${description ? `${description}.\n` : ''}`
    return [heading, ...tagged.map((route) => routeSection(document, route))]
  })
  return [
    '# API reference',
    '<!-- Written by `npm run docs:api` (src/docs/write-api-reference.ts) from the OpenAPI document: do not edit it by hand. Change the declarations (src/services/) or src/docs/, then run it; test/api-reference.test.ts fails when this page is not current. -->',
    INTRO,
    '## Records',
    recordsTable(document, routes),
    '## Errors',
    errorsTable(document),
    ...sections
  ]
    .join('\n\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()
    .concat('\n')
}
