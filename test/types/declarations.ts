/**
 * Compiled by `npm run typecheck`, never run: each `@ts-expect-error` line below is a misspelt name
 * in one option of a declaration, which must not compile (the directive fails the typecheck when
 * the line under it compiles). The first declaration, spelt right, must compile.
 */
import { Type } from '@feathersjs/typebox'
import { defineResource } from '../../src/declarative/resource'
import { oneOf, optional, person, text, uuid } from '../../src/declarative/fields'
import { patients } from '../../src/services/patients'

const fields = {
  ...person({ minimum: 0, maximum: 150 }),
  note: optional(text(100)),
  status: oneOf(['a', 'b'])
}
const owned = { field: 'userId' } as const

export const rightlySpelt = defineResource({
  path: 'types-right',
  description: 'Every option that names a field, each spelt right',
  fields: { ...fields, patientId: uuid(), secret: Type.String() },
  owner: { through: 'patientId' },
  references: {
    patientId: { to: patients, notFound: 'No such patient', onDelete: 'cascade', embed: 'patient' }
  },
  writable: ['name', 'age', 'patientId', 'secret'],
  patchable: ['name'],
  writeOnly: ['secret'],
  queryable: ['name', 'id', 'createdAt', 'updatedAt'],
  search: ['name', 'note'],
  unique: [['userId', 'name']],
  sort: { createdAt: -1, id: -1 },
  api: { findBy: 'patientId', replacesGet: true },
  resolve: { data: { name: async (value: string) => value }, patch: { note: async () => null } },
  indexes: [{ fields: ['status', 'createdAt'] }],
  ownerCounts: 'types_right_counts',
  history: true
})

defineResource({
  path: 'types-writable',
  description: 'x',
  fields,
  owner: owned,
  // @ts-expect-error 'nmae' is not a field
  writable: ['nmae']
})

defineResource({
  path: 'types-patchable',
  description: 'x',
  fields,
  owner: owned,
  // @ts-expect-error 'agee' is not a field
  patchable: ['agee']
})

defineResource({
  path: 'types-write-only',
  description: 'x',
  fields,
  owner: owned,
  // @ts-expect-error 'pasword' is not a field
  writeOnly: ['pasword']
})

defineResource({
  path: 'types-queryable',
  description: 'x',
  fields,
  owner: owned,
  // @ts-expect-error 'creatdAt' is not a name of the record
  queryable: ['name', 'creatdAt']
})

defineResource({
  path: 'types-queryable-hidden',
  description: 'x',
  fields: { ...fields, secret: Type.String() },
  owner: owned,
  writeOnly: ['secret'],
  // @ts-expect-error a write-only field is never queried
  queryable: ['secret']
})

defineResource({
  path: 'types-search',
  description: 'x',
  fields,
  owner: owned,
  // @ts-expect-error 'nam' is not a field
  search: ['nam']
})

defineResource({
  path: 'types-search-text',
  description: 'x',
  fields,
  owner: owned,
  // @ts-expect-error `age` is no text: it takes no $ilike
  search: ['age']
})

defineResource({
  path: 'types-unique',
  description: 'x',
  fields,
  owner: owned,
  // @ts-expect-error 'emial' is not a field
  unique: [['emial']]
})

defineResource({
  path: 'types-sort',
  description: 'x',
  fields,
  owner: owned,
  // @ts-expect-error 'createAt' is not a name of the record
  sort: { createAt: -1 }
})

defineResource({
  path: 'types-sort-updated',
  description: 'x',
  fields,
  owner: owned,
  updatedAt: false,
  // @ts-expect-error records without updatedAt cannot be sorted by it
  sort: { updatedAt: -1 }
})

defineResource({
  path: 'types-find-by',
  description: 'x',
  fields,
  owner: owned,
  methods: ['find'],
  // @ts-expect-error 'naem' is not a name of the record
  api: { findBy: 'naem' }
})

defineResource({
  path: 'types-find-by-get',
  description: 'x',
  fields,
  owner: owned,
  // @ts-expect-error findBy on a resource that offers `get` takes its route: `replacesGet: true` must say so
  api: { findBy: 'name' }
})

defineResource({
  path: 'types-references',
  description: 'x',
  fields: { ...fields, patientId: uuid() },
  owner: owned,
  references: {
    // @ts-expect-error 'patientID' is not a field
    patientID: { to: patients, notFound: 'x', onDelete: 'cascade' }
  }
})

defineResource({
  path: 'types-embed',
  description: 'x',
  fields: { ...fields, patientId: uuid() },
  owner: owned,
  references: {
    // @ts-expect-error the embedded record would take the field `name`
    patientId: { to: patients, notFound: 'x', onDelete: 'cascade', embed: 'name' }
  }
})

defineResource({
  path: 'types-through',
  description: 'x',
  fields: { ...fields, patientId: uuid() },
  // @ts-expect-error 'patient' is not a field
  owner: { through: 'patient' },
  references: { patientId: { to: patients, notFound: 'x', onDelete: 'cascade' } }
})

defineResource({
  path: 'types-resolve-data',
  description: 'x',
  fields,
  owner: owned,
  // @ts-expect-error 'nmae' is not a name of the record
  resolve: { data: { nmae: async (value: string) => value } }
})

defineResource({
  path: 'types-resolve-patch',
  description: 'x',
  fields,
  owner: owned,
  // @ts-expect-error 'nmae' is not a name of the record
  resolve: { patch: { nmae: async (value: string) => value } }
})

defineResource({
  path: 'types-indexes',
  description: 'x',
  fields,
  owner: owned,
  // @ts-expect-error 'stauts' is not a name of the record
  indexes: [{ fields: ['stauts'] }]
})

defineResource({
  path: 'types-counts',
  description: 'x',
  fields,
  owner: { none: 'a directory' },
  // @ts-expect-error records nobody owns have no owner to count by
  ownerCounts: 'types_counts'
})
