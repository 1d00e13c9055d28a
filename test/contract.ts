import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import type { TSchema } from '@feathersjs/typebox'
import type { AnyResource, Reference } from '../src/declarative/declaration'
import type { Knex } from 'knex'
import { assertError, http, signUp, uniqueEmail } from './helpers'
import type { TestUser } from './helpers'
import { assertSilent, closeSockets, connectSocket } from './sockets'

/**
 * What every declared resource promises, tested from its declaration alone: a resource gets these
 * tests by being declared. Another user's record is a 404 (a shared one a 403 to change), bad
 * input a 400, the owner hears of a change and nobody else does (or every authenticated
 * connection does, when the declaration says so), and calls are audited where declared.
 */

type Json = Record<string, unknown>

const nonNull = (schema: TSchema): TSchema =>
  Array.isArray(schema.anyOf)
    ? (schema.anyOf.find((option: TSchema) => option.type !== 'null') ?? schema)
    : schema

/** A valid value of a field, from its schema. */
function sampleValue(declared: TSchema): unknown {
  const schema = nonNull(declared)
  const values =
    schema.enum ??
    (Array.isArray(schema.anyOf) ? schema.anyOf.map((option: TSchema) => option.const) : undefined)
  if (values?.length) return values[0]
  if (schema.type === 'integer' || schema.type === 'number')
    return schema.minimum ?? Math.min(0, schema.maximum ?? 0)
  if (schema.type === 'boolean') return true
  if (schema.format === 'uuid') return randomUUID()
  if (schema.format === 'date-time') return new Date().toISOString()
  if (schema.format === 'email') return uniqueEmail('contract')
  const text = 'A sample value of a declared field'.padEnd(schema.minLength ?? 0, 'x')
  return text.slice(0, Math.max(schema.maxLength ?? text.length, schema.minLength ?? 1))
}

/** A value of the wrong type for a field. */
const wrongValue = (schema: TSchema) => (nonNull(schema).type === 'string' ? 12345 : 'not of this type')

const referenceOf = (resource: AnyResource, field: string): Reference | undefined =>
  resource.declaration.references?.[field]

/** The server a contract test talks to, and its database (for the audit trail). */
export interface ContractTarget {
  url: string
  db: Knex
}

export class ContractClient {
  constructor(readonly target: () => ContractTarget) {}

  baseUrl() {
    return this.target().url
  }

  async send(method: string, path: string, user: TestUser | undefined, body?: unknown) {
    return http(method, path, { token: user?.token, body, baseUrl: this.baseUrl() })
  }

  /** A valid body for a create of `resource` by `user`: referenced records are created for it first. */
  async sampleData(resource: AnyResource, user: TestUser): Promise<Json> {
    const data: Json = {}
    for (const field of resource.writable) {
      const reference = referenceOf(resource, field)
      data[field] = reference
        ? (await this.record(reference.to, user)).id
        : sampleValue(resource.declaration.fields[field])
    }
    return data
  }

  /**
   * A record of `resource` that `user` may reach: the user itself for users, a new one where the
   * resource is created through the API, else the first the user finds (an audit record).
   */
  async record(resource: AnyResource, user: TestUser): Promise<Json> {
    if ('self' in resource.declaration.owner) {
      return (await this.send('GET', `/${resource.path}/${user.id}`, user)).body
    }
    if (resource.methods.includes('create')) {
      const reply = await this.send('POST', `/${resource.path}`, user, await this.sampleData(resource, user))
      assert.equal(reply.status, 201, JSON.stringify(reply.body))
      return reply.body
    }
    const page = await this.send('GET', `/${resource.path}`, user)
    assert.ok(page.body.data?.length > 0, `${user.name} has no ${resource.path} record`)
    return page.body.data[0]
  }

  signUp(name: string) {
    return signUp(name, this.baseUrl())
  }
}

/** The fields a patch may change that name no other record. */
const plainPatchable = (resource: AnyResource): string[] =>
  resource.patchable.filter((field) => !referenceOf(resource, field))

/** A valid patch of every plain patchable field. */
const patchOf = (resource: AnyResource): Json =>
  Object.fromEntries(
    plainPatchable(resource).map((field) => [field, sampleValue(resource.declaration.fields[field])])
  )

/**
 * A change of a record that publishes an event, a patch of a plain field or else a create, made
 * ready first (a create's referenced records are made then, with events of their own).
 */
async function changeOf(client: ContractClient, resource: AnyResource, user: TestUser, record: Json) {
  const patch = resource.methods.includes('patch') && plainPatchable(resource).length > 0
  const [method, path, body, event, status] = patch
    ? ['PATCH', `/${resource.path}/${record.id}`, patchOf(resource), 'patched', 200]
    : ['POST', `/${resource.path}`, await client.sampleData(resource, user), 'created', 201]
  return async () => {
    const reply = await client.send(method as string, path as string, user, body)
    assert.equal(reply.status, status, JSON.stringify(reply.body))
    return { event: `${resource.path} ${event}`, body: reply.body }
  }
}

const isOwned = (resource: AnyResource) => !('none' in resource.declaration.owner)

const canChange = (resource: AnyResource) =>
  resource.methods.includes('patch') || resource.authenticated.includes('create')

/** The contract tests of one declared resource, against the server `target()` names. */
export function contractTests(resource: AnyResource, target: () => ContractTarget) {
  const client = new ContractClient(target)
  const baseUrl = () => target().url
  const audited = () => target().db('audit').where({ service: resource.path })
  const path = `/${resource.path}`
  const { declaration } = resource

  describe(`${resource.path} (from its declaration)`, () => {
    let owner: TestUser
    let other: TestUser
    let record: Json

    before(async () => {
      owner = await client.signUp('Owner')
      other = await client.signUp('Other')
      record = await client.record(resource, owner)
    })

    afterEach(closeSockets)

    it('answers with exactly the fields it declares visible', async () => {
      const reply = await client.send('GET', `${path}/${record.id}`, owner)
      assert.equal(reply.status, 200, JSON.stringify(reply.body))
      const embedded = Object.values<Reference | undefined>(declaration.references ?? {}).flatMap(
        (reference) => (reference?.embed ? [reference.embed] : [])
      )
      assert.deepEqual(
        Object.keys(reply.body).sort(),
        [...Object.keys(resource.visible.properties), ...embedded].sort()
      )
    })

    if (isOwned(resource)) {
      it("another user's record answers 404 to every method, and stays as it was", async () => {
        for (const method of (['get', 'update', 'patch', 'remove'] as const).filter((name) =>
          resource.methods.includes(name)
        )) {
          const body =
            method === 'update'
              ? await client.sampleData(resource, other)
              : method === 'patch'
                ? patchOf(resource)
                : undefined
          const verb = { get: 'GET', update: 'PUT', patch: 'PATCH', remove: 'DELETE' }[method]
          assertError(await client.send(verb, `${path}/${record.id}`, other, body), 404, 'NotFound')
        }
        // A query naming the record finds nothing of it: the scope replaces whatever the query says.
        const find = await client.send('GET', `${path}?id=${record.id}`, other)
        assert.equal(find.status, 200)
        assert.ok(!find.body.data.some(({ id }: Json) => id === record.id), JSON.stringify(find.body))
        assert.deepEqual((await client.send('GET', `${path}/${record.id}`, owner)).body, record)
      })
    } else {
      it('another user reads the record; only its creator may change it (403)', async () => {
        assert.equal((await client.send('GET', `${path}/${record.id}`, other)).status, 200)
        if ('creator' in declaration.owner && resource.methods.includes('patch')) {
          assertError(await client.send('PATCH', `${path}/${record.id}`, other, {}), 403, 'Forbidden')
        }
      })
    }

    it('bad input answers 400: an unknown field, a value of the wrong type, an unknown query, an id that is not a UUID', async () => {
      assertError(await client.send('GET', `${path}?notAField=1`, owner), 400, 'BadRequest')
      assertError(await client.send('GET', `${path}/not-a-uuid`, owner), 400, 'BadRequest')
      if (!resource.methods.includes('create')) return
      const user = resource.authenticated.includes('create') ? owner : undefined
      const valid = await client.sampleData(resource, owner)
      assertError(await client.send('POST', path, user, { ...valid, notAField: 1 }), 400, 'BadRequest')
      for (const field of resource.writable) {
        const body = { ...valid, [field]: wrongValue(declaration.fields[field]) }
        assertError(await client.send('POST', path, user, body), 400, 'BadRequest')
      }
    })

    if (canChange(resource)) {
      it(`a change is heard by ${declaration.publish === 'authenticated' ? 'every authenticated connection' : declaration.publish === 'owner' ? 'its owner only' : 'nobody'}`, async () => {
        const change = await changeOf(client, resource, owner, record)
        const [ownerSocket, otherSocket, anonymous] = await Promise.all([
          connectSocket(owner.token, baseUrl()),
          connectSocket(other.token, baseUrl()),
          connectSocket(undefined, baseUrl())
        ])
        const { event, body } = await change()
        if (declaration.publish === 'owner' || declaration.publish === 'authenticated') {
          assert.deepEqual(await ownerSocket.delivered(event), body)
        }
        if (declaration.publish === 'authenticated') {
          assert.deepEqual(await otherSocket.delivered(event), body)
          await assertSilent(anonymous)
        } else {
          await assertSilent(
            otherSocket,
            anonymous,
            ...(declaration.publish === 'owner' ? [] : [ownerSocket])
          )
        }
      })
    }

    if (resource.history) {
      historyContract(client, resource, () => ({ owner, other }))
    }

    it(declaration.audit ? 'writes an audit record of every call' : 'writes no audit record', async () => {
      const count = async () => Number((await audited().count({ count: '*' }))[0].count)
      const before = await count()
      const reply = await client.send('GET', `${path}/${record.id}`, owner)
      assert.equal(reply.status, 200)
      if (declaration.audit) {
        const [latest] = await audited().where({ userId: owner.id }).orderBy('createdAt', 'desc').limit(1)
        assert.deepEqual([latest?.action, latest?.recordId], ['get', record.id])
      } else {
        assert.equal(await count(), before)
      }
    })
  })
}

const etagOf = (reply: { headers: Headers }) => reply.headers.get('etag')

/**
 * What a declaration with `history` promises: records carry `version` and their ETag, a write at
 * another version (If-Match, or $ifMatch over any transport) is a 412 that changes nothing, and
 * every version is kept and read by whoever may read the record, audited, also after a remove.
 */
function historyContract(
  client: ContractClient,
  resource: AnyResource,
  users: () => { owner: TestUser; other: TestUser }
) {
  const path = `/${resource.path}`
  const canPatch = resource.methods.includes('patch') && plainPatchable(resource).length > 0
  const history = (id: unknown, user: TestUser, suffix = '') =>
    client.send('GET', `${path}/${id}/history${suffix}`, user)

  it('a record carries version 1 and its ETag; each change counts it up, and its history keeps every version, newest first', async () => {
    const { owner } = users()
    const record = await client.record(resource, owner)
    assert.equal(record.version, 1)
    const read = await client.send('GET', `${path}/${record.id}`, owner)
    assert.equal(etagOf(read), '"1"')
    const versions = [read.body]
    if (canPatch) {
      const patched = await client.send('PATCH', `${path}/${record.id}`, owner, patchOf(resource))
      assert.deepEqual([patched.status, patched.body.version, etagOf(patched)], [200, 2, '"2"'])
      versions.unshift(patched.body)
    }
    if (resource.methods.includes('remove')) {
      const removed = await client.send('DELETE', `${path}/${record.id}`, owner)
      const last = versions[0].version as number
      assert.deepEqual(
        [removed.status, removed.body.version, etagOf(removed)],
        [200, last + 1, `"${last + 1}"`]
      )
      versions.unshift(removed.body)
    }
    const page = await history(record.id, owner)
    assert.equal(page.status, 200, JSON.stringify(page.body))
    assert.deepEqual(
      {
        ...page.body,
        data: page.body.data.map(({ version, action, userId, data }: Json) => ({
          version,
          action,
          userId,
          data
        }))
      },
      {
        total: versions.length,
        limit: 10,
        skip: 0,
        data: versions.map((data, index) => ({
          version: versions.length - index,
          action:
            index === versions.length - 1
              ? 'create'
              : index === 0 && resource.methods.includes('remove')
                ? 'remove'
                : 'patch',
          userId: owner.id,
          data
        }))
      }
    )
    const one = await history(record.id, owner, '/1')
    assert.deepEqual([one.status, one.body.version, one.body.data], [200, 1, versions.at(-1)])
  })

  if (canPatch) {
    it('a write at another version than If-Match names answers 412 and changes nothing; a malformed If-Match is a 400; without one the write goes through', async () => {
      const { owner } = users()
      const record = await client.record(resource, owner)
      const patch = (headers: Record<string, string>) =>
        http('PATCH', `${path}/${record.id}`, {
          token: owner.token,
          body: patchOf(resource),
          headers,
          baseUrl: client.baseUrl()
        })
      assertError(await patch({ 'if-match': '"2"' }), 412, 'PreconditionFailed')
      assertError(await patch({ 'if-match': 'version one' }), 400, 'BadRequest')
      assert.deepEqual((await client.send('GET', `${path}/${record.id}`, owner)).body, record)
      assert.equal((await history(record.id, owner)).body.total, 1)
      const matching = await patch({ 'if-match': '"1"' })
      assert.deepEqual([matching.status, matching.body.version], [200, 2])
      const unconditional = await patch({})
      assert.deepEqual([unconditional.status, unconditional.body.version], [200, 3])
    })

    it('over a socket, $ifMatch makes the same check, and the patched event carries the new version', async () => {
      const { owner } = users()
      const record = await client.record(resource, owner)
      const socket = await connectSocket(owner.token, client.baseUrl())
      const service = socket.client.service(resource.path as any) as any
      await assert.rejects(service.patch(record.id, patchOf(resource), { query: { $ifMatch: 2 } }), {
        code: 412,
        name: 'PreconditionFailed'
      })
      const patched = await service.patch(record.id, patchOf(resource), { query: { $ifMatch: 1 } })
      assert.equal(patched.version, 2)
      if (resource.declaration.publish === 'owner' || resource.declaration.publish === 'authenticated') {
        assert.equal((await socket.delivered(`${resource.path} patched`)).version, 2)
      }
    })
  }

  it(`its history is read by ${'none' in resource.declaration.owner ? 'every user' : 'its owner only (404 for anyone else)'}, also after a remove, and every read is audited`, async () => {
    const { owner, other } = users()
    const record = await client.record(resource, owner)
    if (resource.methods.includes('remove')) {
      assert.equal((await client.send('DELETE', `${path}/${record.id}`, owner)).status, 200)
    }
    assert.equal((await history(record.id, owner)).status, 200)
    assert.equal((await history(record.id, owner, '/1')).status, 200)
    if ('none' in resource.declaration.owner) {
      assert.equal((await history(record.id, other)).status, 200)
    } else {
      assertError(await history(record.id, other), 404, 'NotFound')
      assertError(await history(record.id, other, '/1'), 404, 'NotFound')
    }
    const [latest] = await client
      .target()
      .db('audit')
      .where({ service: resource.path, userId: owner.id })
      .orderBy('createdAt', 'desc')
      .limit(1)
    assert.deepEqual([latest?.action, latest?.recordId], ['history', record.id])
  })
}
