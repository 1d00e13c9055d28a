// HTTP by the letter at the edges (issue 21), enumerated from what the app registers: every
// path's methods and its 405s' `Allow`, every odd request Node or Socket.io would answer itself,
// conditional headers on every method of every service, and the per-instance socket caps.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { randomBytes, randomUUID } from 'node:crypto'
import { request } from 'node:http'
import type { IncomingHttpHeaders } from 'node:http'
import net from 'node:net'
import { getServiceOptions } from '@feathersjs/feathers'
import type { Socket } from 'socket.io-client'
import { DOCS_PAGES } from '../src/docs/openapi'
import { CREATE_ROUTES, LOGOUT_ROUTE, SERVICE_ROUTES, apiRoutesOf } from '../src/http/api-aliases'
import { HEALTH_PATH } from '../src/http/health'
import { securityHeaders } from '../src/http/security-headers'
import { resources } from '../src/services'
import { startServer } from '../src/server'
import type { RunningServer } from '../src/server'
import { testContext } from './setup'
import { logIn, signUp, testDatabase, uniqueEmail, validPatient } from './helpers'
import type { TestUser } from './helpers'
import { ContractClient } from './contract'
import { closeSockets, connectSocket, rawSocket } from './sockets'
import type { TestSocket } from './sockets'

/**
 * The app as it is, on a server of its own: other test files register services of their own on
 * the shared test server, and the enumerations here are of what the app registers.
 */
let edges: RunningServer
const edgesUrl = () => edges.url

interface Answer {
  status: number
  headers: IncomingHttpHeaders
  body: any
}

interface SendOptions {
  token?: string
  headers?: Record<string, string>
  body?: unknown
  url?: string
}

/** One request with any method (fetch refuses some), on a connection of its own. */
function send(method: string, path: string, options: SendOptions = {}): Promise<Answer> {
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body)
  const headers: Record<string, string> = {
    ...(payload !== undefined && { 'content-type': 'application/json' }),
    ...(options.token && { authorization: `Bearer ${options.token}` }),
    ...options.headers
  }
  return new Promise((resolve, reject) => {
    const req = request(`${options.url ?? edgesUrl()}${path}`, { method, headers, agent: false }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (text += chunk))
      res.on('end', () => {
        let body: any = text === '' ? undefined : text
        try {
          body = text === '' ? undefined : JSON.parse(text)
        } catch {
          // not JSON: left as text for the assertion to show
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body })
      })
    })
    req.on('error', reject)
    req.end(payload)
  })
}

interface RawAnswer {
  status: number
  headers: Map<string, string>
  body: string
}

/** The body of a chunked answer at the start of `rest`, and its length on the wire. */
function chunked(rest: string): { body: string; length: number } {
  let body = ''
  let at = 0
  for (;;) {
    const lineEnd = rest.indexOf('\r\n', at)
    const size = parseInt(rest.slice(at, lineEnd), 16)
    at = lineEnd + 2
    if (size === 0) return { body, length: at + 2 }
    body += rest.slice(at, at + size)
    at += size + 2
  }
}

/** Parses the answers in `text`, in order: 1xx interim answers are skipped. */
function rawAnswers(text: string): RawAnswer[] {
  const answers: RawAnswer[] = []
  let rest = text
  while (rest.startsWith('HTTP/')) {
    const end = rest.indexOf('\r\n\r\n')
    assert.ok(end > 0, `an incomplete answer: ${JSON.stringify(rest)}`)
    const [statusLine, ...lines] = rest.slice(0, end).split('\r\n')
    const status = Number(statusLine.split(' ')[1])
    const headers = new Map(
      lines.map((line) => [
        line.slice(0, line.indexOf(':')).toLowerCase(),
        line.slice(line.indexOf(':') + 1).trim()
      ])
    )
    rest = rest.slice(end + 4)
    const { body, length } =
      headers.get('transfer-encoding') === 'chunked'
        ? chunked(rest)
        : (() => {
            const length = Number(headers.get('content-length') ?? (status < 200 ? 0 : rest.length))
            return { body: rest.slice(0, length), length }
          })()
    rest = rest.slice(length)
    if (status >= 200) answers.push({ status, headers, body })
  }
  assert.equal(rest, '', 'bytes after the last answer')
  return answers
}

/**
 * Writes `text` on a connection of its own and collects what comes back until the server closes
 * the connection, or `until` holds of what came (then the connection is closed here).
 */
function rawExchange(
  text: string | Buffer,
  { url = edgesUrl(), until }: { url?: string; until?: (received: string) => boolean } = {}
): Promise<string> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    let received = ''
    const socket = net.connect(Number(port), hostname, () => socket.write(text))
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => {
      received += chunk
      if (until?.(received)) socket.destroy()
    })
    socket.on('error', reject)
    socket.on('close', () => resolve(received))
  })
}

const ERROR_FIELDS = ['className', 'code', 'message', 'name']

let expectedSecurityHeaders: ReadonlyArray<readonly [string, string]>

/** The security headers every answer carries, with helmet's values. */
function assertSecurityHeaders(headers: Map<string, string> | IncomingHttpHeaders, what: string) {
  for (const [name, value] of expectedSecurityHeaders) {
    const sent = headers instanceof Map ? headers.get(name.toLowerCase()) : headers[name.toLowerCase()]
    assert.equal(sent, value, `${what}: ${name}`)
  }
}

/** A Feathers JSON error with this status: `{ name, message, code, className }` (and `data`, if any). */
function assertErrorShape(body: any, code: number, name: string, what: string) {
  assert.equal(typeof body, 'object', `${what}: ${JSON.stringify(body)}`)
  assert.deepEqual(
    Object.keys(body)
      .filter((key) => key !== 'data')
      .sort(),
    ERROR_FIELDS,
    what
  )
  assert.equal(body.code, code, what)
  assert.equal(body.name, name, what)
  assert.equal(typeof body.message, 'string', what)
}

/** Creates a record on this file's server and returns it. */
async function created(path: string, user: TestUser, body: unknown) {
  const answer = await send('POST', path, { token: user.token, body })
  assert.equal(answer.status, 201, JSON.stringify(answer.body))
  return answer.body
}

before(async () => {
  expectedSecurityHeaders = await securityHeaders()
  assert.ok(expectedSecurityHeaders.length >= 5)
})

/** The methods a path may serve; any other (a WebDAV method, TRACE) must be a 405 everywhere. */
const PROBED = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']
const ODD_METHODS = ['TRACE', 'PROPFIND']

/** The services' paths as registered, with a UUID for each route parameter, and each one's record path. */
function servicePaths() {
  const app = edges.app
  return Object.keys(app.services).flatMap((path) => {
    const collection = `/${path.replace(/:[A-Za-z]+/g, () => randomUUID())}`
    return [collection, `${collection}/${randomUUID()}`]
  })
}

/** Every `/api` route of the alias table and the declarations, with UUIDs for ids. */
function apiPaths() {
  const id = () => randomUUID()
  return [
    ...Object.keys(CREATE_ROUTES),
    LOGOUT_ROUTE,
    ...Object.keys(SERVICE_ROUTES).flatMap((route) => [route, `${route}/${id()}`]),
    ...apiRoutesOf(resources).flatMap(({ service, history }) => [
      `/api/${service}`,
      `/api/${service}/${id()}`,
      ...(history ? [`/api/${service}/${id()}/history`, `/api/${service}/${id()}/history/1`] : [])
    ])
  ]
}

/** What answers each probed method on `path` (anonymous: nothing is written). */
async function probe(path: string) {
  const answers = new Map<string, Answer>()
  for (const method of PROBED) {
    const body = ['POST', 'PUT', 'PATCH'].includes(method) ? {} : undefined
    answers.set(method, await send(method, path, { body }))
  }
  return answers
}

describe('HTTP at the edges', () => {
  before(async () => {
    edges = await startServer(testContext().settings)
  })
  after(() => edges?.stop())

  describe('405 with Allow, on every path, from the registered services and the alias table', () => {
    const served = new Map<string, string[]>()

    before(async function () {
      this.timeout(120_000)
      for (const path of [...servicePaths(), ...apiPaths(), HEALTH_PATH, ...DOCS_PAGES]) {
        const answers = await probe(path)
        served.set(
          path,
          PROBED.filter((method) => answers.get(method)!.status !== 405)
        )
        for (const [method, answer] of answers) {
          assertSecurityHeaders(answer.headers, `${method} ${path}`)
          if (answer.status !== 405) continue
          // Exactly the methods that did not answer 405, and OPTIONS.
          assert.equal(
            answer.headers.allow,
            [...served.get(path)!, 'OPTIONS'].join(', '),
            `${method} ${path}: Allow`
          )
          // An answer to HEAD has no body.
          if (method === 'HEAD') assert.equal(answer.body, undefined, `HEAD ${path}`)
          else assertErrorShape(answer.body, 405, 'MethodNotAllowed', `${method} ${path}`)
        }
      }
    })

    it('every path serves something, and each 405 names exactly what it serves', () => {
      assert.ok(served.size >= 40, `only ${served.size} paths`)
      for (const [path, methods] of served) {
        assert.ok(methods.length > 0, `${path} serves nothing: not a path of ours`)
        // HEAD is answered wherever GET is, and only there.
        assert.equal(methods.includes('HEAD'), methods.includes('GET'), path)
      }
    })

    it("each declared resource's paths serve exactly its declared methods, at the service path and under /api", () => {
      const paths = [...served.keys()]
      for (const resource of resources) {
        const { methods, path } = resource
        const api = apiRoutesOf(resources).find(({ service }) => service === path)
        const has = (method: string) => (methods as readonly string[]).includes(method)
        const reads = (method: string) => (has(method) ? ['GET', 'HEAD'] : [])
        const writes = [has('update') && 'PUT', has('patch') && 'PATCH', has('remove') && 'DELETE']
        const recordMethods = [...reads('get'), ...writes]
        const collection = [...reads('find'), has('create') && 'POST']
        const expected = (list: Array<string | false>) => PROBED.filter((method) => list.includes(method))
        const item = new RegExp(`^/${path}/[0-9a-f-]{36}$`)
        assert.deepEqual(served.get(`/${path}`), expected(collection), `/${path}`)
        assert.deepEqual(
          served.get(paths.find((p) => item.test(p))!),
          expected(recordMethods),
          `/${path}/:id`
        )
        if (!api) continue
        assert.deepEqual(served.get(`/api/${path}`), expected(collection), `/api/${path}`)
        // `findBy`: GET /api/<path>/:value is the find.
        const apiRecord = api.findBy ? [...reads('find'), ...writes] : recordMethods
        const apiItem = new RegExp(`^/api/${path}/[0-9a-f-]{36}$`)
        assert.deepEqual(
          served.get(paths.find((p) => apiItem.test(p))!),
          expected(apiRecord),
          `/api/${path}/:id`
        )
      }
    })

    it('OPTIONS answers 204 with the same Allow; TRACE and PROPFIND are 405s with it', async () => {
      for (const [path, methods] of served) {
        const allow = [...methods, 'OPTIONS'].join(', ')
        const options = await send('OPTIONS', path)
        assert.equal(options.status, 204, `OPTIONS ${path}`)
        assert.equal(options.headers.allow, allow, `OPTIONS ${path}`)
        assertSecurityHeaders(options.headers, `OPTIONS ${path}`)
        for (const method of ODD_METHODS) {
          const answer = await send(method, path)
          assert.equal(answer.status, 405, `${method} ${path}`)
          assert.equal(answer.headers.allow, allow, `${method} ${path}`)
          assertErrorShape(answer.body, 405, 'MethodNotAllowed', `${method} ${path}`)
        }
      }
    })

    it('a path that is not ours is a 404 for every method, OPTIONS too, without Allow', async () => {
      for (const path of ['/nowhere', '/api/nowhere', '/api/audit/' + randomUUID() + '/history']) {
        for (const method of [...PROBED, 'OPTIONS', ...ODD_METHODS]) {
          const answer = await send(method, path)
          assert.equal(answer.status, 404, `${method} ${path}`)
          assert.equal(answer.headers.allow, undefined, `${method} ${path}`)
        }
      }
    })

    it('a 405 comes before authentication and before the body is read', async () => {
      const answer = await send('DELETE', '/audit', {
        headers: { 'content-type': 'application/json', authorization: 'Bearer nonsense' },
        body: undefined
      })
      assert.equal(answer.status, 405)
      const malformed = await new Promise<Answer>((resolve, reject) => {
        const req = request(`${edgesUrl()}/api/audit`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          agent: false
        })
        req.on('response', (res) => {
          res.resume()
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: undefined }))
        })
        req.on('error', reject)
        req.end('{ not json')
      })
      assert.equal(malformed.status, 405)
      assert.equal(malformed.headers.allow, 'GET, HEAD, OPTIONS')
    })
  })

  describe('odd requests: every answer has its status, the security headers and the JSON error shape', () => {
    let timeouts: RunningServer
    before(async () => {
      const { settings } = testContext()
      timeouts = await startServer({
        ...settings,
        http: { ...settings.http, headersTimeoutMs: 300, requestTimeoutMs: 600 }
      })
    })
    after(() => timeouts?.stop())

    const json = 'Content-Type: application/json\r\n'
    const login = JSON.stringify({ email: uniqueEmail(), password: 'not the password' })
    const loginHead = `POST /api/auth/login HTTP/1.1\r\nHost: x\r\n${json}Content-Length: ${login.length}\r\n`

    interface OddCase {
      name: string
      text: () => string
      status: number
      /** The error's name, or the body of a success. */
      answer: string | ((body: any) => void)
      head?: boolean
      url?: () => string
    }

    const health = (body: any) => assert.deepEqual(body, { status: 'ok' })
    const cases: OddCase[] = [
      {
        name: 'Expect: something-else on GET /health',
        text: () => 'GET /health HTTP/1.1\r\nHost: x\r\nExpect: something-else\r\nConnection: close\r\n\r\n',
        status: 417,
        answer: 'ExpectationFailed'
      },
      {
        name: 'Expect: 200-ok on GET /health',
        text: () => 'GET /health HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nConnection: close\r\n\r\n',
        status: 417,
        answer: 'ExpectationFailed'
      },
      {
        name: 'Expect: foo on HEAD /health (no body)',
        text: () => 'HEAD /health HTTP/1.1\r\nHost: x\r\nExpect: foo\r\nConnection: close\r\n\r\n',
        status: 417,
        answer: 'ExpectationFailed',
        head: true
      },
      {
        name: 'Expect: foo on POST /api/auth/login with a body',
        text: () => `${loginHead}Expect: foo\r\nConnection: close\r\n\r\n${login}`,
        status: 417,
        answer: 'ExpectationFailed'
      },
      {
        name: 'Expect: foo on a path that is not ours',
        text: () => 'GET /nowhere HTTP/1.1\r\nHost: x\r\nExpect: foo\r\nConnection: close\r\n\r\n',
        status: 417,
        answer: 'ExpectationFailed'
      },
      {
        name: 'Expect: 100-continue on GET /health (served, after the 100)',
        text: () => 'GET /health HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n',
        status: 200,
        answer: health
      },
      {
        name: 'Upgrade: h2c on GET /health (what curl --http2 sends)',
        text: () =>
          'GET /health HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings, close\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n',
        status: 200,
        answer: health
      },
      {
        name: 'Upgrade: foo/1 on GET /health',
        text: () => 'GET /health HTTP/1.1\r\nHost: x\r\nConnection: upgrade, close\r\nUpgrade: foo/1\r\n\r\n',
        status: 200,
        answer: health
      },
      {
        name: 'Upgrade: h2c on POST /api/auth/login with a body',
        text: () => `${loginHead}Connection: Upgrade, close\r\nUpgrade: h2c\r\n\r\n${login}`,
        status: 401,
        answer: 'NotAuthenticated'
      },
      {
        name: 'Upgrade: websocket on a path that is not Socket.io’s',
        text: () =>
          'GET /health HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, close\r\nUpgrade: websocket\r\n\r\n',
        status: 200,
        answer: health
      },
      {
        name: 'Upgrade: h2c on DELETE /audit (a 405 as usual)',
        text: () => 'DELETE /audit HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, close\r\nUpgrade: h2c\r\n\r\n',
        status: 405,
        answer: 'MethodNotAllowed'
      },
      {
        name: 'Upgrade: websocket on Socket.io’s path without a key (refused by ws)',
        text: () =>
          'GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n',
        status: 400,
        answer: 'BadRequest'
      },
      {
        name: 'Upgrade: websocket on Socket.io’s path with an unknown transport (refused by engine.io)',
        text: () =>
          `GET /socket.io/?EIO=4&transport=nope HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n\r\n`,
        status: 400,
        answer: 'BadRequest'
      },
      {
        name: 'a Socket.io poll of a session that does not exist (refused by engine.io)',
        text: () =>
          'GET /socket.io/?EIO=4&transport=polling&sid=nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
        status: 400,
        answer: 'BadRequest'
      },
      {
        name: 'a Socket.io handshake by POST (refused by engine.io)',
        text: () =>
          'POST /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n',
        status: 400,
        answer: 'BadRequest'
      },
      {
        name: 'the HTTP/2 preface (curl --http2-prior-knowledge)',
        text: () => 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
        status: 400,
        answer: 'BadRequest'
      },
      {
        name: 'CONNECT (no proxy here)',
        text: () => 'CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n',
        status: 501,
        answer: 'NotImplemented'
      },
      {
        name: 'garbage',
        text: () => 'NOT HTTP AT ALL\r\n\r\n',
        status: 400,
        answer: 'BadRequest'
      },
      {
        name: 'oversized headers',
        text: () => `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'x'.repeat(20_000)}\r\n\r\n`,
        status: 431,
        answer: 'RequestHeaderFieldsTooLarge'
      },
      {
        name: 'oversized headers on HEAD (no body)',
        text: () => `HEAD /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'x'.repeat(20_000)}\r\n\r\n`,
        status: 431,
        answer: 'RequestHeaderFieldsTooLarge',
        head: true
      },
      {
        name: 'headers that never end (timeout)',
        text: () => 'GET /health HTTP/1.1\r\nHost: x\r\n',
        status: 408,
        answer: 'RequestTimeout',
        url: () => timeouts.url
      },
      {
        name: 'a body that never ends (timeout)',
        text: () => `${loginHead}\r\n{"email":`,
        status: 408,
        answer: 'RequestTimeout',
        url: () => timeouts.url
      }
    ]

    for (const odd of cases) {
      it(odd.name, async () => {
        const text = await rawExchange(odd.text(), { url: odd.url?.() })
        const answers = rawAnswers(text)
        assert.equal(answers.length, 1, text)
        const [{ status, headers, body }] = answers
        assert.equal(status, odd.status, text)
        assertSecurityHeaders(headers, odd.name)
        if (odd.head) {
          assert.equal(body, '', 'an answer to HEAD has no body')
          return
        }
        assert.match(headers.get('content-type') ?? '', /^application\/json/)
        const parsed = JSON.parse(body)
        if (typeof odd.answer === 'function') {
          odd.answer(parsed)
        } else {
          assertErrorShape(parsed, odd.status, odd.answer, odd.name)
        }
      })
    }

    it('an upgrade that is not Socket.io’s keeps the connection for the next request', async () => {
      const text = await rawExchange(
        'GET /health HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: foo/1\r\n\r\n' +
          'GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
      )
      const answers = rawAnswers(text)
      assert.deepEqual(
        answers.map(({ status }) => status),
        [200, 404]
      )
      answers.forEach(({ headers }) => assertSecurityHeaders(headers, 'pipelined'))
      assertErrorShape(JSON.parse(answers[1].body), 404, 'NotFound', 'the second request')
    })

    it('Upgrade: h2c on Socket.io’s polling handshake is served by Socket.io as a plain request', async () => {
      const text = await rawExchange(
        'GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, close\r\nUpgrade: h2c\r\n\r\n'
      )
      const [answer] = rawAnswers(text)
      assert.equal(answer.status, 200)
      assertSecurityHeaders(answer.headers, 'polling handshake')
      assert.match(answer.body, /^0\{"sid":/)
    })

    it('a real Socket.io WebSocket handshake is switched (101) with the security headers', async () => {
      const text = await rawExchange(
        `GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n\r\n`,
        { until: (received) => received.includes('\r\n\r\n') }
      )
      assert.match(text, /^HTTP\/1\.1 101 /)
      const head = text.slice(0, text.indexOf('\r\n\r\n'))
      const headers = new Map(
        head
          .split('\r\n')
          .slice(1)
          .map((line) => [
            line.slice(0, line.indexOf(':')).toLowerCase(),
            line.slice(line.indexOf(':') + 1).trim()
          ])
      )
      assertSecurityHeaders(headers, '101')
    })
  })

  describe('conditional requests: never ignored', () => {
    let alice: TestUser

    before(async () => {
      alice = await signUp('Alice', edgesUrl())
      for (const resource of resources) {
        const record = (await contract.record(resource, alice)) as { id: string }
        records[resource.path] = record
        const data = resource.methods.includes('create')
          ? await contract.sampleData(resource, alice)
          : undefined
        fixtures[resource.path] = { id: () => record.id, create: data, update: data, patch: data }
        if (resource.history) fixtures[`${resource.path}/:id/history`] = { id: () => '1' }
      }
    })

    const contract = new ContractClient(() => ({ url: edgesUrl(), db: testDatabase() }))

    /** Records reached by Alice, per declared resource: each record's id and a write's body, from the declarations. */
    const records: Record<string, { id: string }> = {}

    /** Per service path: a record id, and a body each write would otherwise take (the services no declaration makes by hand). */
    const fixtures: Record<string, { id?: () => string } & Partial<Record<string, unknown>>> = {
      authentication: {},
      sessions: { id: () => alice.sessionId }
    }

    const recordOf = (path: string) => records[path]

    /** The REST request of `method` on the service at `path`, as the Feathers REST client makes it. */
    function restCall(path: string, method: string) {
      const fixture = fixtures[path]
      assert.ok(fixture, `no fixture for the service ${path}: add one`)
      const base = `/${path.replace(/^(\w+)\/:id/, (_match, parent: string) => `${parent}/${recordOf(parent).id}`)}`
      const item = () => `${base}/${fixture.id!()}`
      const body =
        path === 'authentication' && method === 'create'
          ? { strategy: 'local', email: alice.email, password: alice.password }
          : fixture[method]
      switch (method) {
        case 'find':
          return { verb: 'GET', url: base }
        case 'get':
          return { verb: 'GET', url: item() }
        case 'create':
          return { verb: 'POST', url: base, body }
        case 'update':
          return { verb: 'PUT', url: item(), body }
        case 'patch':
          return { verb: 'PATCH', url: item(), body }
        case 'remove':
          return { verb: 'DELETE', url: path === 'authentication' ? base : item() }
      }
      throw new Error(`no REST call for ${path}.${method}`)
    }

    /** Every table's rows (but `except`), one fingerprint each: to prove that a refused request changed nothing. */
    async function fingerprint(except: string[] = []) {
      const db = testDatabase()
      const tables: Array<{ name: string }> = (
        await db.raw(
          "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1"
        )
      ).rows
      const prints: Record<string, unknown> = {}
      for (const { name } of tables.filter(({ name }) => !except.includes(name))) {
        const [row] = (
          await db.raw(
            `SELECT count(*)::int AS rows, md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS hash FROM ?? t`,
            [name]
          )
        ).rows
        prints[name] = row
      }
      return prints
    }

    /** Every (service, method) as registered, with the conditions each evaluates. */
    function serviceMethods() {
      const app = edges.app
      return Object.entries(app.services).flatMap(([path, service]) => {
        const { methods = [], conditions = {} } = getServiceOptions(service)
        return methods.map((method) => ({ path, method, evaluates: conditions[method] ?? [] }))
      })
    }

    const WRITES = new Set(['create', 'update', 'patch', 'remove'])

    it('only the versioned resources evaluate conditions: get, update, patch and remove of each record', () => {
      const evaluating = serviceMethods()
        .filter(({ evaluates }) => evaluates.length > 0)
        .map(({ path, method, evaluates }) => `${path}.${method}: ${evaluates.join(' ')}`)
      const expected = resources
        .filter(({ history }) => history)
        .flatMap(({ path, methods }) =>
          methods
            .filter((method) => ['get', 'update', 'patch', 'remove'].includes(method))
            .map((method) => `${path}.${method}: if-match if-none-match`)
        )
      assert.ok(expected.length >= 8)
      assert.deepEqual(evaluating.sort(), expected.sort())
    })

    it('If-Match on any method, If-None-Match on any write, that nothing evaluates: a 400 that changes nothing', async function () {
      this.timeout(120_000)
      let refused = 0
      for (const { path, method, evaluates } of serviceMethods()) {
        for (const header of ['if-match', 'if-none-match'] as const) {
          if (evaluates.includes(header) || (header === 'if-none-match' && !WRITES.has(method))) continue
          const { verb, url, body } = restCall(path, method)
          const before = await fingerprint()
          const answer = await send(verb, url, { token: alice.token, body, headers: { [header]: '"1"' } })
          const what = `${verb} ${url} (${path}.${method}) with ${header}`
          assert.equal(answer.status, 400, `${what}: ${JSON.stringify(answer.body)}`)
          assertErrorShape(answer.body, 400, 'BadRequest', what)
          assert.match(answer.body.message, /keeps no versions and takes no conditions/, what)
          assert.deepEqual(answer.body.data, { header: header === 'if-match' ? 'If-Match' : 'If-None-Match' })
          assert.deepEqual(await fingerprint(), before, `${what} changed something`)
          refused++
        }
      }
      assert.ok(refused >= 20, `only ${refused} refusals`)
      // The same session still works: logging out with If-Match did not log out.
      assert.equal((await send('GET', '/sessions', { token: alice.token })).status, 200)
    })

    it('the /api routes are refused alike, before authentication, and /health too', async () => {
      const cases: Array<[string, string, unknown?]> = [
        ['PATCH', `/users/${randomUUID()}`, { name: 'x' }],
        ['POST', '/api/auth/login', { email: alice.email, password: alice.password }],
        ['POST', '/api/auth/logout'],
        ['DELETE', `/api/auth/sessions/${randomUUID()}`],
        ['DELETE', `/api/mappings/${randomUUID()}`],
        ['POST', '/api/patients', validPatient()],
        ['GET', '/api/patients'],
        ['GET', `/api/patients/${randomUUID()}/history`],
        ['GET', '/health']
      ]
      for (const [verb, url, body] of cases) {
        const answer = await send(verb, url, { body, headers: { 'if-match': '*' } })
        assert.equal(answer.status, 400, `${verb} ${url}: ${JSON.stringify(answer.body)}`)
        assertErrorShape(answer.body, 400, 'BadRequest', `${verb} ${url}`)
      }
    })

    it('a read of anything with If-None-Match is answered (the condition holds: no version to match)', async () => {
      for (const { path, method, evaluates } of serviceMethods()) {
        if (WRITES.has(method) || evaluates.length > 0) continue
        const { url } = restCall(path, method)
        const answer = await send('GET', url, { token: alice.token, headers: { 'if-none-match': '"1"' } })
        assert.equal(answer.status, 200, `GET ${url} with If-None-Match: ${JSON.stringify(answer.body)}`)
      }
    })

    it('the versioned resources evaluate them on every method that takes them', async () => {
      for (const resource of resources.filter(({ history }) => history)) {
        const api = `/api/${resource.path}`
        const body = await contract.sampleData(resource, alice)
        const record = await created(api, alice, body)
        const url = `${api}/${record.id}`
        const headers = (value: Record<string, string>) => ({ token: alice.token, headers: value })
        // get: 304 at the version named, 412 at another, a 400 for what names none
        assert.equal((await send('GET', url, headers({ 'if-none-match': '"1"' }))).status, 304)
        assert.equal((await send('GET', url, headers({ 'if-match': '"1"' }))).status, 200)
        const stale = await send('GET', url, headers({ 'if-match': '"2"' }))
        assertErrorShape(stale.body, 412, 'PreconditionFailed', `GET ${url}`)
        assert.equal((await send('GET', url, headers({ 'if-match': 'one' }))).status, 400)
        // writes: another version is a 412 that changes nothing, the version named goes through
        const patched = { token: alice.token, body: { name: 'Changed' } }
        assert.equal((await send('PATCH', url, { ...patched, headers: { 'if-match': '"2"' } })).status, 412)
        assert.equal(
          (await send('PATCH', url, { ...patched, headers: { 'if-none-match': '"1"' } })).status,
          412
        )
        assert.equal((await send('PUT', url, { ...headers({ 'if-match': '"3"' }), body })).status, 412)
        assert.equal((await send('DELETE', url, headers({ 'if-match': '"5"' }))).status, 412)
        assert.equal((await send('GET', url, { token: alice.token })).body.version, 1)
        const written = await send('PATCH', url, { ...patched, headers: { 'if-match': '"1"' } })
        assert.equal(written.status, 200)
        assert.equal(written.body.version, 2)
        assert.equal((await send('DELETE', url, headers({ 'if-match': '"2"' }))).status, 200)
      }
    })

    it('over a socket, $ifMatch in the query of anything that takes no condition is a 400', async () => {
      const socket = await rawSocket(edgesUrl())
      try {
        const call = (...args: unknown[]) =>
          new Promise<any>((resolve) => socket.emit(...(args as [string]), (error: any) => resolve(error)))
        const login = await call(
          'create',
          'authentication',
          { strategy: 'jwt', accessToken: alice.token },
          {}
        )
        assert.equal(login, null)
        // A call on an audited service is audited, refused or not (as `<method>-failed`).
        const before = await fingerprint(['audit'])
        const trail = new Set(
          (await testDatabase()('audit').select('id')).map(({ id }: { id: string }) => id)
        )
        let calls = 0
        for (const { path, method } of serviceMethods()) {
          if (
            ['update', 'patch', 'remove'].includes(method) &&
            resources.some((r) => r.history && r.path === path)
          ) {
            continue
          }
          const fixture = fixtures[path]
          assert.ok(fixture, `no fixture for ${path}`)
          const route = /^(\w+)\/:id/.exec(path)
          const params = { $ifMatch: 1 }
          const servicePath = route ? path.replace(':id', recordOf(route[1]).id) : path
          const id = path === 'authentication' ? null : fixture.id?.()
          const data =
            path === 'authentication' ? { strategy: 'jwt', accessToken: alice.token } : fixture[method]
          const args =
            method === 'find'
              ? [params]
              : method === 'get' || method === 'remove'
                ? [id, params]
                : method === 'create'
                  ? [data ?? {}, params]
                  : [id, data ?? {}, params]
          const error = await call(method, servicePath, ...args)
          assert.equal(error?.code, 400, `${path}.${method} with $ifMatch: ${JSON.stringify(error)}`)
          assert.equal(error?.name, 'BadRequest')
          calls++
        }
        assert.ok(calls >= 15, `only ${calls} calls`)
        assert.deepEqual(await fingerprint(['audit']), before)
        const audited: Array<{ id: string; action: string }> = (
          await testDatabase()('audit').select('id', 'action', 'service')
        ).filter(({ id }: { id: string }) => !trail.has(id))
        assert.ok(audited.length > 0)
        assert.deepEqual(
          audited.filter(({ action }) => !action.endsWith('-failed')),
          [],
          'a refused call audited as done'
        )
      } finally {
        socket.disconnect()
      }
    })
  })
})

describe('socket caps (per instance)', () => {
  const PER_USER = 3
  // Above what the per-user tests hold unauthenticated from 127.0.0.1 at once, with what the
  // previous test left closing; the per-address test has addresses of its own (X-Forwarded-For).
  const PER_ADDRESS = 8
  let server: RunningServer

  before(async () => {
    const { settings } = testContext()
    server = await startServer({
      ...settings,
      http: { ...settings.http, trustProxy: true },
      sockets: { perUser: PER_USER, unauthenticatedPerAddress: PER_ADDRESS }
    })
  })
  after(async () => {
    closeSockets()
    await server?.stop()
  })
  afterEach(closeSockets)

  /** Closes `socket` and waits until the server has seen it go. */
  async function disconnected(socket: TestSocket | Socket) {
    const gone = once(server.app, 'disconnect')
    if ('client' in socket) socket.close()
    else socket.disconnect()
    await gone
  }

  const address = () => `10.${[1, 2, 3].map(() => Math.floor(Math.random() * 250) + 1).join('.')}`
  const fromAddress = (ip: string) => rawSocket(server.url, { 'X-Forwarded-For': ip })

  it(`a user may have ${PER_USER} sockets authenticated; one more is refused (429, naming the cap) and not counted`, async () => {
    const alice = await signUp('Alice', server.url)
    const sockets = await Promise.all(
      Array.from({ length: PER_USER }, () => connectSocket(alice.token, server.url))
    )
    const extra = await connectSocket(undefined, server.url)
    await assert.rejects(extra.authenticate(alice.token), (error: any) => {
      assert.equal(error.code, 429)
      assert.equal(error.name, 'TooManyRequests')
      assert.match(error.message, new RegExp(`at most ${PER_USER} at once`))
      assert.deepEqual(error.data, { limit: PER_USER })
      return true
    })
    // Refused with the user's own password too, before a session opens.
    const sessions = await testDatabase()('sessions').where({ userId: alice.id }).count({ count: '*' })
    await assert.rejects(
      extra.client.authenticate({ strategy: 'local', email: alice.email, password: alice.password }),
      { code: 429 }
    )
    assert.deepEqual(
      await testDatabase()('sessions').where({ userId: alice.id }).count({ count: '*' }),
      sessions
    )
    // Another user is not affected.
    const bob = await signUp('Bob', server.url)
    await connectSocket(bob.token, server.url)
    // One closes: the refused socket takes its place, and the cap holds again.
    await disconnected(sockets[0])
    await extra.authenticate(alice.token)
    const late = await connectSocket(undefined, server.url)
    await assert.rejects(late.authenticate(alice.token), { code: 429 })
  })

  it('a socket that logs out, or whose session ends, counts down', async () => {
    const alice = await signUp('Alice', server.url)
    const logins = await Promise.all(Array.from({ length: PER_USER }, () => logIn(alice, server.url)))
    const sockets = await Promise.all(logins.map(({ token }) => connectSocket(token, server.url)))
    const extra = await connectSocket(undefined, server.url)
    await assert.rejects(extra.authenticate(alice.token), { code: 429 })
    // Logging out ends that socket's session; the socket stays, unauthenticated, and counts no more.
    await sockets[0].client.logout()
    assert.ok(sockets[0].socket.connected)
    await extra.authenticate(alice.token)
    await assert.rejects((await connectSocket(undefined, server.url)).authenticate(alice.token), {
      code: 429
    })
    // Another socket's session is ended elsewhere: that socket is logged off and counts no more.
    const ended = await send('DELETE', `/api/auth/sessions/${logins[1].sessionId}`, {
      token: alice.token,
      url: server.url
    })
    assert.equal(ended.status, 200, JSON.stringify(ended.body))
    assert.equal(await sockets[1].disconnectReason(), 'io server disconnect')
    await (await connectSocket(undefined, server.url)).authenticate(alice.token)
  })

  it('a socket authenticating at the handshake (Authorization header) past the cap gets connect_error', async () => {
    const alice = await signUp('Alice', server.url)
    await Promise.all(Array.from({ length: PER_USER }, () => connectSocket(alice.token, server.url)))
    await assert.rejects(rawSocket(server.url, { Authorization: `Bearer ${alice.token}` }), (error: any) => {
      assert.match(error.message, new RegExp(`at most ${PER_USER} at once`))
      return true
    })
  })

  it(`an address may hold ${PER_ADDRESS} unauthenticated sockets; one more is refused at the handshake`, async () => {
    const ip = address()
    const sockets = await Promise.all(Array.from({ length: PER_ADDRESS }, () => fromAddress(ip)))
    try {
      await assert.rejects(fromAddress(ip), (error: any) => {
        assert.match(error.message, new RegExp(`at most ${PER_ADDRESS} at once`))
        assert.equal(error.data.code, 429)
        assert.equal(error.data.name, 'TooManyRequests')
        assert.deepEqual(error.data.data, { limit: PER_ADDRESS })
        return true
      })
      // Another address (the client's, behind the trusted proxy) is not affected.
      const other = await fromAddress(address())
      other.disconnect()
      // One closes: a new one connects, and the cap holds again.
      await disconnected(sockets.pop()!)
      sockets.push(await fromAddress(ip))
      await assert.rejects(fromAddress(ip))
      // An authenticated socket is its user's, no longer its address's.
      const alice = await signUp('Alice', server.url)
      const login = await new Promise<any>((resolve) =>
        sockets[0].emit('create', 'authentication', { strategy: 'jwt', accessToken: alice.token }, resolve)
      )
      assert.equal(login, null)
      sockets.push(await fromAddress(ip))
      await assert.rejects(fromAddress(ip))
    } finally {
      sockets.forEach((socket) => socket.disconnect())
    }
  })
})
