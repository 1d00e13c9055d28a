import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { rawSocket } from './sockets'
import type { Socket } from 'socket.io-client'
import {
  captureLogs,
  assertError,
  assertNoLeak,
  baseUrl,
  countRows,
  created,
  http,
  signUp,
  startOtherDeployment,
  testDatabase,
  validDoctor,
  validPatient,
  assertBareServerError
} from './helpers'
import type { TestUser } from './helpers'
import { AUTHENTICATED_CHANNEL, userChannel } from '../src/realtime/channels'
import { testContext } from './setup'

/** Emits a call and resolves with its acknowledgement; a call left unanswered fails the test. */
function call(socket: Socket, ...args: unknown[]): Promise<{ error?: any; result?: any }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no answer to ${JSON.stringify(args).slice(0, 80)}`)),
      3000
    )
    socket.emit(args[0] as string, ...args.slice(1), (error: any, result: any) => {
      clearTimeout(timer)
      resolve({ error, result })
    })
  })
}

async function authenticatedSocket(user: TestUser) {
  const socket = await rawSocket()
  const { error } = await call(socket, 'create', 'authentication', {
    strategy: 'jwt',
    accessToken: user.token
  })
  assert.equal(error, null)
  return socket
}

/** A socket call's error: a Feathers error with this code, and nothing a client should not see. */
function assertSocketError({ error }: { error?: any }, code: number) {
  assert.ok(error, 'the call succeeded')
  assert.equal(error.code, code, JSON.stringify(error))
  assert.deepEqual(
    Object.keys(error).filter(
      (key) => !['name', 'message', 'code', 'className', 'data', 'errors'].includes(key)
    ),
    []
  )
  assertNoLeak(error)
}

describe('hostile input found by the black-box attack', () => {
  let alice: TestUser
  let patient: any
  let doctor: any
  const sockets: Socket[] = []

  before(async () => {
    alice = await signUp('Alice')
    patient = await created('/api/patients', alice, validPatient())
    doctor = await created('/api/doctors', alice, validDoctor())
  })

  after(() => sockets.forEach((socket) => socket.close()))

  async function anonymous() {
    const socket = await rawSocket()
    sockets.push(socket)
    return socket
  }

  async function asAlice() {
    const socket = await authenticatedSocket(alice)
    sockets.push(socket)
    return socket
  }

  describe('an array where one record belongs is a 400 and changes nothing', () => {
    const bodies = [[{ name: 'x' }, { name: 'y' }], [], [validPatient()]]
    for (const body of bodies) {
      it(`PATCH and PUT /api/patients/:id, /users/:id, /api/doctors/:id and POST with ${JSON.stringify(body).slice(0, 40)}`, async () => {
        const targets = [`/api/patients/${patient.id}`, `/users/${alice.id}`, `/api/doctors/${doctor.id}`]
        for (const path of targets) {
          for (const method of ['PATCH', 'PUT']) {
            const reply = await http(method, path, { token: alice.token, body })
            assert.ok(reply.status === 400 || reply.status === 405, `${method} ${path}: ${reply.status}`)
            assertNoLeak(reply.body)
          }
        }
        const before = await countRows('patients')
        assertError(await http('POST', '/api/patients', { token: alice.token, body }), 400, 'BadRequest')
        assertError(await http('POST', '/api/mappings', { token: alice.token, body }), 400, 'BadRequest')
        assert.equal(await countRows('patients'), before)
        assert.deepEqual(
          (await http('GET', `/api/patients/${patient.id}`, { token: alice.token })).body,
          patient
        )
      })
    }

    it('over a socket too', async () => {
      const socket = await asAlice()
      assertSocketError(
        await call(socket, 'patch', 'patients', patient.id, [{ name: 'x' }, { name: 'y' }], {}),
        400
      )
      assertSocketError(await call(socket, 'patch', 'doctors', doctor.id, [], {}), 400)
      assertSocketError(await call(socket, 'create', 'patients', [validPatient(), validPatient()], {}), 400)
      assert.deepEqual(
        (await http('GET', `/api/patients/${patient.id}`, { token: alice.token })).body,
        patient
      )
    })
  })

  describe('names of Object.prototype in paths are unknown paths or ids, never a 500', () => {
    for (const path of ['/__proto__', '/constructor/x', '/toString', '/hasOwnProperty/x', '/api/__proto__']) {
      it(`GET ${path} is a 404`, async () => {
        assertError(await http('GET', path), 404, 'NotFound')
      })
    }
    for (const path of [
      '/patients/__proto__',
      '/patients/constructor',
      '/api/patients/toString',
      '/api/doctors/__proto__'
    ]) {
      it(`GET ${path} is a 401 without a token and a 400 with one`, async () => {
        assertError(await http('GET', path), 401, 'NotAuthenticated')
        assertError(await http('GET', path, { token: alice.token }), 400, 'BadRequest')
      })
    }

    it('over a socket, anonymous or not: 404 for the path, no stack', async () => {
      for (const socket of [await anonymous(), await asAlice()]) {
        for (const path of ['__proto__', 'constructor', 'toString', '', 42, null]) {
          assertSocketError(await call(socket, 'find', path, {}), 404)
        }
      }
    })
  })

  describe('ids', () => {
    it('a get without an id, or with one that is not a UUID, is a 400 over a socket', async () => {
      const socket = await asAlice()
      assertSocketError(await call(socket, 'get', 'patients'), 400)
      for (const id of [null, 42, { $ne: null }, ['x'], 'constructor', patient.id.toUpperCase() + 'x']) {
        assertSocketError(await call(socket, 'get', 'patients', id, {}), 400)
        assertSocketError(await call(socket, 'remove', 'mappings', id, {}), id === null ? 405 : 400)
      }
    })

    it('malformed percent-encoding in a path is a 400', async () => {
      assertError(await http('GET', '/api/mappings/%ZZ'), 400, 'BadRequest')
      assertError(await http('GET', '/api/mappings/%E0%A4%A', { token: alice.token }), 400, 'BadRequest')
      assertError(await http('GET', '/api/patients/%ZZ', { token: alice.token }), 400, 'BadRequest')
    })
  })

  describe('a socket call that names no method is answered', () => {
    it('with a 404', async () => {
      const socket = await anonymous()
      assertSocketError(await call(socket, 'nope', 'patients', {}), 404)
      assertSocketError(await call(socket, '__proto__', 'patients', {}), 404)
    })
  })

  describe('bodies that do not match their Content-Encoding are a 400 and create nothing', () => {
    for (const encoding of ['gzip', 'br', 'deflate']) {
      it(encoding, async () => {
        const before = await countRows('patients')
        const reply = await http('POST', '/api/patients', {
          token: alice.token,
          rawBody: JSON.stringify(validPatient()),
          headers: { 'content-encoding': encoding }
        })
        assertError(reply, 400, 'BadRequest')
        assert.equal(await countRows('patients'), before)
      })
    }
  })

  describe('huge queries are a 400', () => {
    it('a list of 65,534 or 140,000 items over a socket', async () => {
      const socket = await asAlice()
      for (const length of [101, 65_534, 140_000]) {
        const reply = await call(socket, 'find', 'patients', {
          age: { $in: Array.from({ length }, (_, index) => index % 150) }
        })
        assertSocketError(reply, 400)
      }
    })

    it('nested clauses whose values add up past the limit', async () => {
      const socket = await asAlice()
      const list = { $in: Array.from({ length: 100 }, (_, index) => index) }
      const query = {
        $and: Array.from({ length: 20 }, () => ({ $or: Array.from({ length: 20 }, () => ({ age: list })) }))
      }
      assertSocketError(await call(socket, 'find', 'patients', query), 400)
    })

    it('a list within the limits still works', async () => {
      const socket = await asAlice()
      const { error, result } = await call(socket, 'find', 'patients', {
        age: { $in: Array.from({ length: 100 }, (_, index) => index) }
      })
      assert.equal(error, null)
      assert.deepEqual(
        result.data.map(({ id }: { id: string }) => id),
        [patient.id]
      )
    })
  })
})

describe('hostile input found by the fuzz test', () => {
  let alice: TestUser

  before(async () => {
    alice = await signUp('Alice')
  })

  it('logging out without a session is a 401 over REST and sockets', async () => {
    assertError(await http('DELETE', '/authentication/abc'), 401, 'NotAuthenticated')
    assertError(await http('DELETE', '/authentication/__proto__'), 401, 'NotAuthenticated')
    const socket = await rawSocket()
    try {
      assertSocketError(await call(socket, 'remove', 'authentication', 'abc', {}), 401)
      assertSocketError(await call(socket, 'remove', 'authentication'), 401)
    } finally {
      socket.close()
    }
  })

  it('numbers that are not finite are a 400 in a query and in a body', async () => {
    for (const query of ['$skip=1e309', '$limit=1e309', 'age=Infinity', 'age[$gt]=-1e999']) {
      assertError(await http('GET', `/api/patients?${query}`, { token: alice.token }), 400, 'BadRequest')
    }
    const before = await countRows('doctors')
    const rawBody = '{"name":"A","age":1e999,"specialty":"x"}'
    assertError(await http('POST', '/api/doctors', { token: alice.token, rawBody }), 400, 'BadRequest')
    assert.equal(await countRows('doctors'), before)
  })

  it('a validation error names at most 20 problems, however many there are', async () => {
    const body = Object.fromEntries(Array.from({ length: 8000 }, (_, index) => [`k${index}`, 1]))
    const reply = await http('POST', '/api/patients', { token: alice.token, body })
    assertError(reply, 400, 'BadRequest')
    assert.equal(reply.body.data.length, 20)
  })

  it("Socket.io's own refusals are Feathers errors with the security headers", async () => {
    for (const path of ['/socket.io/x', '/socket.io/?EIO=4&transport=nope']) {
      const reply = await http('GET', path)
      assertError(reply, 400, 'BadRequest')
      assert.equal(reply.headers.get('x-content-type-options'), 'nosniff', path)
    }
    const handshake = await http('GET', '/socket.io/?EIO=4&transport=polling')
    assert.equal(handshake.status, 200)
    assert.match(handshake.headers.get('content-security-policy') ?? '', /default-src 'self'/)
  })

  it('a HEAD that the HTTP parser refuses gets no body', async () => {
    const reply = await fetch(`${baseUrl()}/health`, {
      method: 'HEAD',
      headers: { 'x-big': 'x'.repeat(20_000) }
    })
    assert.equal(reply.status, 431)
    assert.equal(await reply.text(), '')
  })
})

describe('hostile input found by the second attack round', () => {
  let alice: TestUser
  let patient: any
  let socket: Socket

  before(async () => {
    alice = await signUp('Alice')
    patient = await created('/api/patients', alice, validPatient())
    socket = await authenticatedSocket(alice)
  })

  after(() => socket.close())

  it('null or a boolean in a query is a 400 over a socket, as a query string cannot say either', async () => {
    const queries = [
      { $limit: null },
      { age: null },
      { age: true },
      { age: { $in: [false] } },
      { $skip: false }
    ]
    for (const query of queries) {
      assertSocketError(await call(socket, 'find', 'patients', query), 400)
    }
    assertSocketError(await call(socket, 'find', `patients/${patient.id}/history`, { $limit: null }), 400)
    const { error, result } = await call(socket, 'find', 'patients', { age: patient.age, $limit: 5 })
    assert.equal(error, null)
    assert.deepEqual([result.limit, result.data.map(({ id }: { id: string }) => id)], [5, [patient.id]])
  })

  it('a query string that the parser would read as less than it says is a 400, and changes nothing', async () => {
    const url = `/api/patients/${patient.id}`
    const dropped = [
      '$ifMatch[__proto__]=1',
      '__proto__[age]=1',
      'toString=1',
      'age[hasOwnProperty]=1',
      '%5F_proto__=1'
    ]
    for (const query of dropped) {
      assertError(
        await http('PATCH', `${url}?${query}`, { token: alice.token, body: { age: 77 } }),
        400,
        'BadRequest'
      )
      assertError(await http('GET', `/api/patients?${query}`, { token: alice.token }), 400, 'BadRequest')
    }
    // Past the parser's 1,000 parameters (empty ones count), a condition would be dropped unseen.
    const farAway = `${'&'.repeat(1000)}$ifMatch=9`
    assertError(
      await http('PATCH', `${url}?${farAway}`, { token: alice.token, body: { age: 77 } }),
      400,
      'BadRequest'
    )
    assert.deepEqual((await http('GET', url, { token: alice.token })).body, patient)
    assert.equal((await http('GET', '/api/patients?name=constructor', { token: alice.token })).status, 200)
  })

  it('text with half a surrogate pair is a 400 over REST and sockets, and changes nothing', async () => {
    const before = await countRows('patients')
    const rawBody = '{"name":"a\\ud800b","age":40,"disease":"Flu"}'
    assertError(await http('POST', '/api/patients', { token: alice.token, rawBody }), 400, 'BadRequest')
    const patch = '{"name":"a\\udc00"}'
    const url = `/api/patients/${patient.id}`
    assertError(await http('PATCH', url, { token: alice.token, rawBody: patch }), 400, 'BadRequest')
    assertSocketError(
      await call(socket, 'create', 'patients', { ...validPatient(), name: 'a\ud800' }, {}),
      400
    )
    assertSocketError(await call(socket, 'find', 'patients', { name: '\udfff' }), 400)
    assert.equal(await countRows('patients'), before)
    assert.deepEqual((await http('GET', url, { token: alice.token })).body, patient)
    // A whole pair is one character like any other.
    const emoji = await http('PATCH', url, { token: alice.token, body: { name: 'Jane \ud83d\ude00' } })
    assert.deepEqual([emoji.status, emoji.body.name], [200, 'Jane 😀'])
  })
})

describe('database errors that are not mapped on purpose', function () {
  this.timeout(60_000)

  it('a column the code names but the table lacks: a bare 500, its SQLSTATE in the log, nothing written', async () => {
    const other = await startOtherDeployment({ ...testContext().settings, port: 0 })
    try {
      const bob = await signUp('Bob', other.url)
      await other.app.get('postgresqlClient').raw('ALTER TABLE patients RENAME COLUMN disease TO diagnosis')
      let reply: any
      const lines = await captureLogs(async () => {
        reply = await http('POST', '/api/patients', {
          token: bob.token,
          body: validPatient(),
          baseUrl: other.url
        })
      })
      assertBareServerError(reply)
      const logged = lines.find((line) => line.msg === 'Unexpected error')
      assert.equal(logged?.err.code, '42703', JSON.stringify(lines))
      assert.equal((await other.app.get('postgresqlClient')('patients').count({ count: '*' }))[0].count, 0)
    } finally {
      await other.stop()
    }
  })
})

describe('hostile input found by the third attack round', () => {
  let alice: TestUser
  const sockets: Socket[] = []

  before(async () => {
    alice = await signUp('Alice')
  })

  after(() => sockets.forEach((socket) => socket.close()))

  async function asAlice() {
    const socket = await authenticatedSocket(alice)
    sockets.push(socket)
    return socket
  }

  it('a burst of calls on one socket: those beyond the cap are a 429 at once, and the socket and others go on', async () => {
    const [flooding, other] = [await asAlice(), await asAlice()]
    const burst = Array.from({ length: 200 }, () => call(flooding, 'find', 'patients', { $limit: 100 }))
    const meanwhile = call(other, 'find', 'patients', { $limit: 100 })
    const answers = await Promise.all(burst)
    const refused = answers.filter(({ error }) => error)
    assert.ok(refused.length > 0, 'no call was refused')
    refused.forEach((answer) => assertSocketError(answer, 429))
    assert.ok(answers.length - refused.length >= 16, `only ${answers.length - refused.length} answered`)
    assert.equal((await meanwhile).error, null)
    assert.equal((await call(flooding, 'find', 'patients', { $limit: 100 })).error, null)
  })

  it('a socket that disconnects while its login is under way joins no channel and is not tracked', async () => {
    const bob = await signUp('Bob')
    const { app } = testContext().server
    const socket = await rawSocket()
    sockets.push(socket)
    // The socket goes away once its login has begun (emitting and disconnecting at once from the
    // client would have the server drop the call unread).
    const serverSocket = (app as any).io.sockets.sockets.get(socket.id)
    serverSocket.use((_packet: unknown, next: () => void) => {
      next()
      setImmediate(() => serverSocket.disconnect(true))
    })
    socket.emit('create', 'authentication', { strategy: 'local', email: bob.email, password: bob.password })
    // The login goes on without its socket: wait for its session, then for its `login` listeners.
    for (let waited = 0; (await countRows('sessions', { userId: bob.id })) < 2; waited += 20) {
      assert.ok(waited < 3000, 'the login did not happen')
      await sleep(20)
    }
    await sleep(100)
    assert.equal(socket.connected, false)
    const connections = app.channel(userChannel(bob.id), AUTHENTICATED_CHANNEL).connections
    assert.equal(connections.filter((connection) => connection.user?.id === bob.id).length, 0)
    const registry = (app.service('authentication') as any).registry
    const sessions = await testDatabase()('sessions').where({ userId: bob.id }).pluck('id')
    assert.equal(sessions.filter((id: string) => registry.connections.has(id)).length, 0)
  })

  it('a method call with nothing but its ack is a 400, an `error` event a 404: both are answered', async () => {
    const anonymous = await rawSocket()
    sockets.push(anonymous)
    for (const socket of [anonymous, await asAlice()]) {
      for (const method of ['find', 'create', 'get']) {
        assertSocketError(await call(socket, method), 400)
        assertSocketError(await call(socket, method, { path: 'patients' }), 404)
      }
      assertSocketError(await call(socket, 'error'), 404)
      assertSocketError(await call(socket, 'error', 'patients'), 404)
    }
    // Still answering as before.
    assertSocketError(await call(anonymous, 'find', 'doctors', {}), 401)
  })

  it('data over the 100 kB body limit is a 413 over a socket, as over REST', async () => {
    const socket = await asAlice()
    const patient = await created('/api/patients', alice, validPatient())
    const large = validPatient({ disease: 'x'.repeat(150_000) })
    const rest = await http('POST', '/api/patients', { token: alice.token, body: large })
    assertError(rest, 413, 'PayloadTooLarge')
    for (const args of [
      ['create', 'patients', large],
      ['update', 'patients', patient.id, large],
      ['patch', 'patients', patient.id, { disease: large.disease }]
    ]) {
      const answer = await call(socket, ...args)
      assertSocketError(answer, 413)
      assert.deepEqual(answer.error, rest.body)
    }
    // Under the limit, the data is read: too long a disease is the schema's 400.
    assertSocketError(
      await call(socket, 'create', 'patients', validPatient({ disease: 'x'.repeat(90_000) })),
      400
    )
    assert.equal((await call(socket, 'get', 'patients', patient.id)).result.disease, patient.disease)
  })
})
