import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { AUTHENTICATED_CHANNEL, userChannel } from '../src/realtime/channels'
import { startServer } from '../src/server'
import { testContext } from './setup'
import { assertNoSecret, created, http, logIn, signUp, validDoctor, validPatient } from './helpers'
import type { TestUser } from './helpers'
import { assertSilent, closeSockets, connectSocket } from './sockets'

const USER_FIELDS = ['createdAt', 'email', 'id', 'name', 'updatedAt']
const MAPPING_FIELDS = ['createdAt', 'doctor', 'doctorId', 'id', 'patient', 'patientId']

const send = async (method: string, path: string, user: TestUser, body?: unknown) => {
  const reply = await http(method, path, { token: user.token, body })
  assert.equal(reply.status, method === 'POST' ? 201 : 200, JSON.stringify(reply.body))
  return reply.body
}

const rename = (user: { id: string; token: string }, name: string) =>
  http('PATCH', `/users/${user.id}`, { token: user.token, body: { name } })

describe('realtime', () => {
  afterEach(closeSockets)

  describe('channels and publishers', () => {
    it("a user's event reaches all of their sockets, and no other user's or anonymous socket", async () => {
      const alice = await signUp('Alice')
      const bob = await signUp('Bob')
      const [aliceOne, aliceTwo, bobSocket, anonymous] = await Promise.all([
        connectSocket(alice.token),
        connectSocket(alice.token),
        connectSocket(bob.token),
        connectSocket()
      ])

      const reply = await rename(alice, 'Alice A.')
      assert.equal(reply.status, 200)

      assert.deepEqual(await aliceOne.delivered('users patched'), reply.body)
      assert.deepEqual(await aliceTwo.delivered('users patched'), reply.body)
      await assertSilent(bobSocket, anonymous)
    })

    it('payloads pass the external resolvers: no password and no hash', async () => {
      const alice = await signUp('Alice')
      const socket = await connectSocket(alice.token)
      const newPassword = 'a brand new passphrase'

      const reply = await http('PATCH', `/users/${alice.id}`, {
        token: alice.token,
        body: { password: newPassword }
      })
      assert.equal(reply.status, 200)

      const payload = await socket.delivered('users patched')
      assert.deepEqual(Object.keys(payload).sort(), USER_FIELDS)
      assertNoSecret(payload, newPassword)
    })

    it('an event for a user with no connection leaves no channel behind', async () => {
      const { app } = testContext().server
      const carol = await signUp('Carol')
      await rename(carol, 'Carol C.')
      assert.ok(!app.channels.includes(userChannel(carol.id)))

      const socket = await connectSocket(carol.token)
      assert.ok(app.channels.includes(userChannel(carol.id)))
      socket.close()
      await socket.disconnectReason()
      await sleep(50)
      assert.ok(!app.channels.includes(userChannel(carol.id)))
    })

    it('internal calls publish from the record too', async () => {
      const alice = await signUp('Alice')
      const bob = await signUp('Bob')
      const [aliceSocket, bobSocket] = await Promise.all([
        connectSocket(alice.token),
        connectSocket(bob.token)
      ])

      await testContext().server.app.service('users').patch(alice.id, { name: 'Renamed inside' })

      const payload = await aliceSocket.delivered('users patched')
      assert.equal(payload.name, 'Renamed inside')
      assertNoSecret(payload)
      await assertSilent(bobSocket)
    })

    it("patient events reach only the owner's sockets: created, updated, patched, removed", async () => {
      const alice = await signUp('Alice')
      const bob = await signUp('Bob')
      const [aliceSocket, bobSocket, anonymous] = await Promise.all([
        connectSocket(alice.token),
        connectSocket(bob.token),
        connectSocket()
      ])
      const fromTypedClient: unknown[] = []
      aliceSocket.client.service('patients').on('created', (patient) => fromTypedClient.push(patient))

      const patient = await send('POST', '/api/patients', alice, validPatient())
      const updated = await send(
        'PUT',
        `/api/patients/${patient.id}`,
        alice,
        validPatient({ name: 'Jane Updated' })
      )
      const patched = await send('PATCH', `/api/patients/${patient.id}`, alice, { age: 43 })
      const removed = await send('DELETE', `/api/patients/${patient.id}`, alice)

      assert.deepEqual(await aliceSocket.delivered('patients created'), patient)
      assert.deepEqual(await aliceSocket.delivered('patients updated'), updated)
      assert.deepEqual(await aliceSocket.delivered('patients patched'), patched)
      assert.deepEqual(await aliceSocket.delivered('patients removed'), removed)
      assert.deepEqual(fromTypedClient, [patient])
      await assertSilent(bobSocket, anonymous)
    })

    it('doctor events reach every authenticated socket and no anonymous one', async () => {
      const alice = await signUp('Alice')
      const bob = await signUp('Bob')
      const [aliceSocket, bobSocket, anonymous] = await Promise.all([
        connectSocket(alice.token),
        connectSocket(bob.token),
        connectSocket()
      ])

      const doctor = await send('POST', '/api/doctors', bob, validDoctor())
      const patched = await send('PATCH', `/api/doctors/${doctor.id}`, bob, { specialty: 'Nephrology' })

      for (const socket of [aliceSocket, bobSocket]) {
        assert.deepEqual(await socket.delivered('doctors created'), doctor)
        assert.deepEqual(await socket.delivered('doctors patched'), patched)
      }
      await assertSilent(anonymous)
    })

    it("mapping events reach only the patient's owner, with doctor and patient and no owner field", async () => {
      const alice = await signUp('Alice')
      const bob = await signUp('Bob')
      const doctor = await created('/api/doctors', bob, validDoctor())
      const patient = await created('/api/patients', alice, validPatient())
      const [aliceSocket, bobSocket, anonymous] = await Promise.all([
        connectSocket(alice.token),
        connectSocket(bob.token),
        connectSocket()
      ])

      const mapping = await send('POST', '/api/mappings', alice, {
        patientId: patient.id,
        doctorId: doctor.id
      })
      const removed = await send('DELETE', `/api/mappings/${mapping.id}`, alice)

      const createdEvent = await aliceSocket.delivered('mappings created')
      assert.deepEqual(Object.keys(createdEvent).sort(), MAPPING_FIELDS)
      assert.deepEqual(createdEvent, mapping)
      assert.deepEqual(await aliceSocket.delivered('mappings removed'), removed)
      // Bob created the doctor, not the patient: the mapping is none of his business.
      await assertSilent(bobSocket, anonymous)
    })

    it("a socket that logs in again as another user leaves the first user's channel", async () => {
      const alice = await signUp('Alice')
      const bob = await signUp('Bob')
      const socket = await connectSocket(alice.token)
      const bobWitness = await connectSocket(bob.token)
      await socket.authenticate(bob.token)

      await rename(bob, 'Bob B.')
      await socket.delivered('users patched', (user) => user.id === bob.id)
      await bobWitness.delivered('users patched')
      await rename(alice, 'Alice A.')
      const aliceWitness = await connectSocket(alice.token)
      await rename(alice, 'Alice C.')
      await aliceWitness.delivered('users patched', (user) => user.name === 'Alice C.')
      await sleep(100)

      assert.deepEqual(
        socket.events().map(({ payload }) => payload.id),
        [bob.id]
      )
    })
  })

  describe('the same rules over the socket as over REST', () => {
    it("another user's patient is 404 over the socket; another creator's doctor is 403", async () => {
      const alice = await signUp('Alice')
      const bob = await signUp('Bob')
      const patient = await created('/api/patients', alice, validPatient())
      const doctor = await created('/api/doctors', alice, validDoctor())
      const { client } = await connectSocket(bob.token)
      const patients = client.service('patients')

      await assert.rejects(patients.get(patient.id), { name: 'NotFound', code: 404 })
      await assert.rejects(patients.patch(patient.id, { age: 1 }), { name: 'NotFound', code: 404 })
      await assert.rejects(patients.update(patient.id, validPatient()), { name: 'NotFound', code: 404 })
      await assert.rejects(patients.remove(patient.id), { name: 'NotFound', code: 404 })
      const page: any = await patients.find({ query: { userId: alice.id } as any })
      assert.deepEqual(page.data, [])
      await assert.rejects(
        client.service('mappings').create({ patientId: patient.id, doctorId: doctor.id }),
        { name: 'NotFound', code: 404 }
      )
      await assert.rejects(client.service('doctors').patch(doctor.id, { age: 60 }), {
        name: 'Forbidden',
        code: 403
      })
      assert.deepEqual(await client.service('doctors').get(doctor.id), doctor)
      assert.deepEqual(
        await http('GET', `/api/patients/${patient.id}`, { token: alice.token }).then((reply) => reply.body),
        patient
      )
    })

    it('the owner works on their patients over the socket, with the same answers as REST', async () => {
      const alice = await signUp('Alice')
      const socket = await connectSocket(alice.token)
      const patients = socket.client.service('patients')

      const patient = await patients.create(validPatient())
      assert.equal(patient.userId, alice.id)
      assert.deepEqual(await socket.delivered('patients created'), patient)
      assert.deepEqual(
        (await http('GET', `/api/patients/${patient.id}`, { token: alice.token })).body,
        patient
      )
      await assert.rejects(patients.create({ ...validPatient(), userId: alice.id } as any), {
        name: 'BadRequest',
        code: 400
      })
      await assert.rejects(patients.get('not-a-uuid'), { name: 'BadRequest', code: 400 })
    })

    it("another user's record is 404 over the socket, as over REST", async () => {
      const alice = await signUp('Alice')
      const bob = await signUp('Bob')
      const { client } = await connectSocket(alice.token)
      const users = client.service('users')

      await assert.rejects(users.get(bob.id), { name: 'NotFound', code: 404 })
      await assert.rejects(users.patch(bob.id, { name: 'Hijacked' }), { name: 'NotFound', code: 404 })
      await assert.rejects(users.remove(bob.id), { name: 'NotFound', code: 404 })
      // As over REST, the owner field of the query is overwritten: Alice's record, never Bob's.
      const page: any = await users.find({ query: { id: bob.id } })
      assert.deepEqual(
        { ...page, data: page.data.map((user: { id: string }) => user.id) },
        { total: 1, limit: 10, skip: 0, data: [alice.id] }
      )

      const own = await users.get(alice.id)
      assert.deepEqual(Object.keys(own).sort(), USER_FIELDS)
      assertNoSecret(own, alice.password)
    })

    it('an anonymous socket is 401 where REST is, and may register', async () => {
      const alice = await signUp('Alice')
      const { client } = await connectSocket()
      const users = client.service('users')

      await assert.rejects(users.get(alice.id), { name: 'NotAuthenticated', code: 401 })
      await assert.rejects(users.find(), { name: 'NotAuthenticated', code: 401 })
      const created = await users.create({
        name: 'Carol',
        email: `carol-${alice.id}@example.org`,
        password: 'long enough pass'
      })
      assert.deepEqual(Object.keys(created).sort(), USER_FIELDS)
      assertNoSecret(created, 'long enough pass')
    })

    it('bad input over the socket is a 400, never a 500, and shows no SQL', async () => {
      const alice = await signUp('Alice')
      const { client } = await connectSocket(alice.token)
      const users = client.service('users')

      await assert.rejects(
        users.get('not-a-uuid'),
        (error: any) => error.code === 400 && !/select|where/i.test(error.message)
      )
      await assert.rejects(users.patch(alice.id, { email: 'x@example.org' } as any), {
        name: 'BadRequest',
        code: 400
      })
      await assert.rejects(users.find({ query: { password: 'x' } as any }), { name: 'BadRequest', code: 400 })
    })

    it('the first login on a fresh instance, before any channel exists, joins its channels', async function () {
      this.timeout(60_000)
      const alice = await signUp('Alice')
      const fresh = await startServer({ ...testContext().settings, port: 0 })
      try {
        assert.deepEqual(fresh.app.channels, [])
        const socket = await connectSocket(alice.token, fresh.url)
        assert.deepEqual(fresh.app.channels.sort(), [AUTHENTICATED_CHANNEL, userChannel(alice.id)].sort())

        const reply = await http('PATCH', `/users/${alice.id}`, {
          token: alice.token,
          body: { name: 'Fresh' },
          baseUrl: fresh.url
        })
        assert.deepEqual(await socket.delivered('users patched'), reply.body)
      } finally {
        closeSockets()
        await fresh.stop()
      }
    })

    it('local login over the socket joins the channel like a JWT does', async () => {
      const alice = await signUp('Alice')
      const socket = await connectSocket()
      const result = await socket.client.authenticate({
        strategy: 'local',
        email: alice.email,
        password: alice.password
      })
      assert.equal(result.user.id, alice.id)
      assertNoSecret(result.user, alice.password)

      const reply = await rename(alice, 'Alice L.')
      assert.deepEqual(await socket.delivered('users patched'), reply.body)
    })
  })

  describe('log-off', () => {
    it('after logout a socket receives nothing of its user; the user’s other sessions go on', async () => {
      const alice = await signUp('Alice')
      const elsewhere = await logIn(alice)
      const [loggedOut, witness] = await Promise.all([
        connectSocket(alice.token),
        connectSocket(elsewhere.token)
      ])
      await loggedOut.client.logout()

      await rename({ id: alice.id, token: elsewhere.token }, 'Alice O.')
      await witness.delivered('users patched')
      await assertSilent(loggedOut)
    })

    it('when the token expires the server closes the socket; it receives nothing until it authenticates again', async function () {
      this.timeout(15_000)
      const { app } = testContext().server
      const alice = await signUp('Alice')
      const shortLived = await app
        .service('authentication')
        .createAccessToken({ sub: alice.id, sid: alice.sessionId }, { expiresIn: '3s' })
      const expiring = await connectSocket(shortLived)
      const witness = await connectSocket(alice.token)

      await rename(alice, 'Before expiry')
      await expiring.delivered('users patched', (user) => user.name === 'Before expiry')
      assert.equal(app.channel(userChannel(alice.id)).length, 2)

      assert.equal(await expiring.disconnectReason(), 'io server disconnect')
      assert.equal(app.channel(userChannel(alice.id)).length, 1)
      await rename(alice, 'After expiry')
      await witness.delivered('users patched', (user) => user.name === 'After expiry')
      await sleep(100)
      assert.deepEqual(
        expiring.events('users patched').map(({ payload }) => payload.name),
        ['Before expiry']
      )

      expiring.socket.connect()
      await expiring.connected()
      await expiring.authenticate(alice.token)
      await rename(alice, 'Authenticated again')
      await expiring.delivered('users patched', (user) => user.name === 'Authenticated again')
    })

    it('a removed user gets the removed event, then their sockets are logged off at once', async () => {
      const { app } = testContext().server
      const alice = await signUp('Alice')
      const bob = await signUp('Bob')
      const [aliceOne, aliceTwo, bobSocket] = await Promise.all([
        connectSocket(alice.token),
        connectSocket(alice.token),
        connectSocket(bob.token)
      ])
      const aliceConnections = [...app.channel(userChannel(alice.id)).connections]
      assert.equal(aliceConnections.length, 2)

      const reply = await http('DELETE', `/users/${alice.id}`, { token: alice.token })
      assert.equal(reply.status, 200)

      for (const socket of [aliceOne, aliceTwo]) {
        const payload = await socket.delivered('users removed')
        assert.deepEqual(payload, reply.body)
        assertNoSecret(payload, alice.password)
        assert.equal(await socket.disconnectReason(), 'io server disconnect')
      }
      assert.ok(!app.channels.includes(userChannel(alice.id)))
      const authenticated = app.channel(AUTHENTICATED_CHANNEL).connections
      assert.ok(aliceConnections.every((connection) => !authenticated.includes(connection)))

      await send('POST', '/api/doctors', bob, validDoctor())
      await bobSocket.delivered('doctors created')
      await sleep(100)
      assert.deepEqual(
        [...aliceOne.events(), ...aliceTwo.events()].map(({ event }) => event),
        ['users removed', 'users removed']
      )
    })

    it('a user removing themselves over the socket gets the answer before the socket closes', async () => {
      const alice = await signUp('Alice')
      const socket = await connectSocket(alice.token)

      const removed = await socket.client.service('users').remove(alice.id)

      assert.equal(removed.id, alice.id)
      assert.deepEqual(await socket.delivered('users removed'), removed)
      assert.equal(await socket.disconnectReason(), 'io server disconnect')
    })
  })
})
