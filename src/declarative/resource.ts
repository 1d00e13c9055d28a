import { resolve } from '@feathersjs/schema'
import { Type } from '@feathersjs/typebox'
import type { TProperties } from '@feathersjs/typebox'
import { currentUserId, ownerOnly } from '../hooks/owner-scope'
import { ALL_METHODS } from './declaration'
import type { Declaration, OwnerRule, Reference, Resource } from './declaration'
import { ilike, now, required, shapeOf, timestamp, uuid } from './fields'
import { querySyntaxFor } from './query'
import { compileQueryValidator, compileValidator, dataValidator } from './validators'
import { versionSchema } from './versions'

const capitalised = (word: string) => word.charAt(0).toUpperCase() + word.slice(1)

const singular = (path: string) => capitalised(path.endsWith('s') ? path.slice(0, -1) : path)

function ownerFieldOf(owner: OwnerRule): string | undefined {
  if ('through' in owner) return owner.field ?? 'userId'
  if ('field' in owner) return owner.field
  if ('self' in owner) return 'id'
  return undefined
}

const nullableUuid = () => Type.Union([uuid(), Type.Null()])

function historyOf(declaration: Declaration, table: string) {
  const { history } = declaration
  if (!history) return undefined
  return { table: (typeof history === 'object' && history.table) || `${table}_history` }
}

/** A declaration that cannot be made into a safe service stops the server here, naming what is wrong. */
function checkDeclaration(declaration: Declaration) {
  const where = `The declaration of '${declaration.path}'`
  const owner = declaration.owner as Record<string, unknown> | undefined
  const rules = ['field', 'self', 'through', 'none'].filter((rule) => owner && rule in owner)
  if (rules.length === 0) {
    throw new Error(
      `${where} has no owner rule: say whose records they are (owner: { field }, { self }, { through } or { none })`
    )
  }
  if (rules.length > 1 && !(rules.length === 2 && rules.includes('through') && rules.includes('field'))) {
    throw new Error(`${where} has more than one owner rule: ${rules.join(', ')}`)
  }
  const fields = Object.keys(declaration.fields)
  const listed = [
    ...(declaration.writable ?? []),
    ...(declaration.patchable ?? []),
    ...(declaration.writeOnly ?? []),
    ...(declaration.search ?? []),
    ...Object.keys(declaration.references ?? {})
  ]
  const unknown = listed.filter((field) => !fields.includes(field))
  if (unknown.length > 0) {
    throw new Error(`${where} names fields it does not declare: ${[...new Set(unknown)].join(', ')}`)
  }
  for (const [field, schema] of Object.entries(declaration.fields)) {
    const shape = shapeOf(schema)
    if (shape.optional && !shape.nullable && !shape.default) {
      throw new Error(
        `${where}: the field '${field}' may be left out but not be null, yet a field left out is stored as NULL: declare it optional(…) (null clears it) or give it a default`
      )
    }
  }
  if (declaration.history && 'version' in declaration.fields) {
    throw new Error(
      `${where} keeps a history, whose records carry the server's 'version': no field may be named so`
    )
  }
  if (declaration.publish === 'owner' && !ownerFieldOf(declaration.owner)) {
    throw new Error(`${where} publishes to the owner, but its records have none (owner: { none })`)
  }
  if ('through' in declaration.owner) {
    const through = declaration.owner.through
    const target = declaration.references?.[through]?.to
    if (!target?.ownerField) {
      throw new Error(
        `${where} is owned through '${through}', which must be a reference to an owned resource`
      )
    }
  }
}

function recordProperties(declaration: Declaration): TProperties {
  const { owner, fields, writeOnly = [] } = declaration
  const ownerField = ownerFieldOf(owner)
  const properties: TProperties = { id: uuid() }
  for (const [name, schema] of Object.entries(fields)) {
    // A record carries every field (null when an optional one is empty), except write-only ones,
    // which are taken but never read back.
    properties[name] = writeOnly.includes(name) ? Type.Optional(schema) : required(schema)
  }
  if (ownerField && ownerField !== 'id') properties[ownerField] = fields[ownerField] ?? uuid()
  if ('creator' in owner && owner.creator) properties[owner.creator] = nullableUuid()
  if (declaration.history) properties.version = versionSchema()
  properties.createdAt = timestamp()
  if (declaration.updatedAt !== false) properties.updatedAt = timestamp()
  return properties
}

function hiddenFields(declaration: Declaration): string[] {
  const ownerKept = 'through' in declaration.owner ? [ownerFieldOf(declaration.owner)!] : []
  return [...ownerKept, ...(declaration.writeOnly ?? [])]
}

const withoutKeys = (properties: TProperties, keys: readonly string[]) =>
  Object.fromEntries(Object.entries(properties).filter(([key]) => !keys.includes(key)))

const pick = (properties: TProperties, keys: readonly string[]) =>
  Object.fromEntries(Object.entries(properties).filter(([key]) => keys.includes(key)))

function responseSchema(declaration: Declaration, name: string, properties: TProperties, hidden: string[]) {
  const embedded = Object.values<Reference | undefined>(declaration.references ?? {}).flatMap((reference) =>
    reference?.embed ? [[reference.embed, Type.Ref(reference.to.schemas.response)] as const] : []
  )
  return Type.Object(
    { ...withoutKeys(properties, hidden), ...Object.fromEntries(embedded) },
    { $id: name, additionalProperties: false }
  )
}

function ownerResolvers(declaration: Declaration) {
  const { owner } = declaration
  const data: Record<string, typeof currentUserId> = {}
  const setOnCreate =
    'through' in owner || 'field' in owner
      ? ownerFieldOf(owner)
      : 'creator' in owner
        ? owner.creator
        : undefined
  if (setOnCreate) data[setOnCreate] = currentUserId
  const scopeField = 'none' in owner ? undefined : ownerFieldOf(owner)
  return { data, scopeField }
}

/**
 * Makes a resource of a declaration: its schemas, validators and resolvers. Registering it
 * (register.ts) makes the service. Throws when the declaration is not safe to serve.
 */
export function defineResource<const D extends Declaration>(declaration: D): Resource<D> {
  checkDeclaration(declaration)
  const name = declaration.name ?? singular(declaration.path)
  const methods = declaration.methods ?? ALL_METHODS
  const properties = recordProperties(declaration)
  const hidden = hiddenFields(declaration)
  const fieldNames = Object.keys(declaration.fields)
  const writable = [...(declaration.writable ?? fieldNames)]
  const patchable = [...(declaration.patchable ?? writable)]
  const record = Type.Object(properties, { $id: `${name}Record`, additionalProperties: false })
  // A field with a default may be left out of a create even when its schema is not Optional.
  const fieldsSchema = Type.Object(
    Object.fromEntries(
      Object.entries(declaration.fields).map(([field, schema]) => [
        field,
        shapeOf(schema).optional ? Type.Optional(schema) : schema
      ])
    )
  )
  const data = Type.Pick(fieldsSchema, writable, { $id: `${name}Data`, additionalProperties: false })
  const patch = Type.Partial(Type.Pick(fieldsSchema, patchable), {
    $id: `${name}Patch`,
    additionalProperties: false
  })
  // Hidden fields are not the client's to query; the scope is written into the query after validation.
  const visible = withoutKeys(properties, hidden)
  const queryable = declaration.queryable ? pick(visible, declaration.queryable) : visible
  const search = Object.fromEntries((declaration.search ?? []).map((field) => [field, ilike()]))
  const query = querySyntaxFor(Type.Object(queryable), search)
  const { data: ownerData, scopeField } = ownerResolvers(declaration)
  const stamped = declaration.updatedAt === false ? {} : { updatedAt: now }
  const table = declaration.table ?? declaration.path
  return {
    declaration,
    path: declaration.path,
    table,
    name,
    methods,
    authenticated: methods.filter((method) => !declaration.anonymous?.includes(method)),
    writable,
    patchable,
    scopeField,
    ownerField: ownerFieldOf(declaration.owner),
    hidden,
    history: historyOf(declaration, table),
    columns: Object.keys(properties),
    visible: Type.Object(visible),
    schemas: { record, response: responseSchema(declaration, name, properties, hidden), data, patch, query },
    validators: {
      data: compileValidator(data, dataValidator),
      patch: compileValidator(patch, dataValidator),
      query: compileQueryValidator(query)
    },
    resolvers: {
      data: resolve({ ...declaration.resolve?.data, ...ownerData }),
      patch: resolve({ ...declaration.resolve?.patch, ...stamped }),
      query: scopeField ? resolve({ [scopeField]: ownerOnly }) : undefined,
      external: resolve(Object.fromEntries(hidden.map((field) => [field, async () => undefined])))
    }
  }
}
