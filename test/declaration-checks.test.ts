import assert from 'node:assert/strict'
import { Type } from '@feathersjs/typebox'
import { defineResource } from '../src/declarative/resource'
import { optional, person, text, uuid } from '../src/declarative/fields'
import { patients } from '../src/services/patients'

/**
 * What the compiler catches in a declaration (test/types/declarations.ts) is refused at startup
 * too, for declarations it does not see: built at run time, or spread from another with `as any`.
 * Each refusal is one message naming the resource, the option and the name.
 */
const base = {
  path: 'checked',
  description: 'A declaration with one mistake at a time',
  fields: { ...person({ minimum: 0, maximum: 150 }), note: optional(text(100)), patientId: uuid() },
  owner: { field: 'userId' },
  references: { patientId: { to: patients, notFound: 'Patient not found', onDelete: 'cascade' } }
} as const

let accepted = 0

const refusal = (changes: Record<string, unknown>) => {
  try {
    // The schemas' $ids are registered once each: every declaration accepted here needs its own.
    defineResource({ ...base, name: `Checked${++accepted}`, ...changes } as any)
  } catch (error) {
    return (error as Error).message
  }
  return 'accepted'
}

describe('a declaration that names a field it does not have', () => {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['writable', { writable: ['nmae'] }, /writable names 'nmae', which is not one of its fields/],
    ['patchable', { patchable: ['agee'] }, /patchable names 'agee', which is not one of its fields/],
    ['writeOnly', { writeOnly: ['pasword'] }, /writeOnly names 'pasword', which is not one of its fields/],
    ['search', { search: ['nam'] }, /search names 'nam', which is not one of its text fields/],
    ['search (not text)', { search: ['age'] }, /search names 'age', which is not one of its text fields/],
    [
      'queryable',
      { queryable: ['creatdAt'] },
      /queryable names 'creatdAt', which is not a name of its records/
    ],
    ['sort', { sort: { createAt: -1 } }, /sort names 'createAt', which is not a name of its records/],
    ['unique', { unique: [['emial']] }, /unique names 'emial', which is not a name of its records/],
    [
      'api.findBy',
      { methods: ['find'], api: { findBy: 'naem' } },
      /api\.findBy names 'naem', which is not a name of its records/
    ],
    [
      'references',
      { references: { patientID: { to: patients, notFound: 'x', onDelete: 'cascade' } } },
      /references names 'patientID', which is not one of its fields/
    ],
    ['resolve.data', { resolve: { data: { nmae: async () => 'x' } } }, /resolve\.data names 'nmae'/],
    ['resolve.patch', { resolve: { patch: { nmae: async () => 'x' } } }, /resolve\.patch names 'nmae'/],
    ['indexes', { indexes: [{ fields: ['stauts'] }] }, /indexes names 'stauts', which is not a name/],
    [
      'owner.through',
      { owner: { through: 'patient' } },
      /owner\.through names 'patient', which is not one of its fields/
    ]
  ]
  for (const [option, changes, message] of cases) {
    it(`is refused for ${option}, naming the resource, the option and the name`, () => {
      const refused = refusal(changes)
      assert.match(refused, /^The declaration of 'checked': /)
      assert.match(refused, message)
    })
  }

  it('is refused when a hidden field is made queryable or sortable', () => {
    const hidden = { fields: { ...base.fields, secret: Type.String() }, writeOnly: ['secret'] }
    assert.match(
      refusal({ ...hidden, queryable: ['secret'] }),
      /queryable names 'secret', which is not a name of its records that a client may see/
    )
    assert.match(refusal({ ...hidden, sort: { secret: 1 } }), /sort names 'secret'/)
  })

  it('is refused when an embedded record would take a name the record has', () => {
    const references = { patientId: { to: patients, notFound: 'x', onDelete: 'cascade', embed: 'name' } }
    assert.match(
      refusal({ references }),
      /references embed a record as 'name', a name its records already have/
    )
  })

  it('is refused when api.findBy would take the route of its own get, unless it says so', () => {
    assert.match(
      refusal({ api: { findBy: 'patientId' } }),
      /api\.findBy 'patientId' would take GET \/api\/checked\/:id from its own get: say `replacesGet: true`/
    )
    assert.equal(refusal({ api: { findBy: 'patientId', replacesGet: true } }), 'accepted')
    assert.equal(refusal({ methods: ['find', 'create'], api: { findBy: 'patientId' } }), 'accepted')
  })

  it('is refused when records nobody owns keep owner counts', () => {
    assert.match(
      refusal({ owner: { none: 'a directory' }, ownerCounts: 'checked_counts' }),
      /ownerCounts 'checked_counts' counts by owner, but its records have none/
    )
  })

  it('is refused when a field may be left out but not be null', () => {
    assert.match(
      refusal({ fields: { ...base.fields, nickname: Type.Optional(text(40)) } }),
      /the field 'nickname' may be left out but not be null, .* declare it optional\(…\) .* or give it a default/
    )
  })

  it('accepts the same declaration spelt right, and lists every mistake at once', () => {
    assert.equal(
      refusal({ queryable: ['name', 'id', 'createdAt', 'userId'], sort: { createdAt: -1 } }),
      'accepted'
    )
    const both = refusal({ writable: ['nmae'], sort: { createAt: -1 } })
    assert.match(both, /writable names 'nmae'.*; sort names 'createAt'/)
  })
})
