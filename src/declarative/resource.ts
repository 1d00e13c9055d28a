import { resolve } from '@feathersjs/schema'
import { Type } from '@feathersjs/typebox'
import type { TProperties, TSchema } from '@feathersjs/typebox'
import { currentUserId, ownerOnly } from '../hooks/owner-scope'
import { ALL_METHODS } from './declaration'
import type { AnyRecord, Declaration, OwnerRule, Reference, Resource, TypedDeclaration } from './declaration'
import type { HookContext } from '../declarations'
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

/**
 * Service paths no real declaration may take: tests invent services and resources under it
 * (`fake-appointments`), so that a resource added later can never meet one of theirs. Outside the
 * tests (NODE_ENV=test) such a declaration does not start.
 */
export const FAKE_PATH_PREFIX = 'fake-'

function historyOf(declaration: Declaration, table: string) {
  const { history } = declaration
  if (!history) return undefined
  return { table: (typeof history === 'object' && history.table) || `${table}_history` }
}

/** Every name a record has: its fields and the server's. */
function namesOfRecord(declaration: Declaration): string[] {
  const { owner } = declaration
  return [
    ...Object.keys(declaration.fields),
    'id',
    'createdAt',
    ...(declaration.updatedAt === false ? [] : ['updatedAt']),
    ...(declaration.history ? ['version'] : []),
    ...[ownerFieldOf(owner), 'creator' in owner ? owner.creator : undefined].filter(
      (name): name is string => name !== undefined && name !== 'id'
    )
  ]
}

const isText = (schema: TSchema) => {
  const { base } = shapeOf(schema)
  return base.type === 'string' || Array.isArray(base.enum)
}

/**
 * What the types of a declaration catch at compile time, checked again for declarations they do
 * not see (built at run time, or spread from another): each option that names a field, by name.
 */
function misnamedFields(declaration: Declaration): string[] {
  const fields = Object.keys(declaration.fields)
  const names = namesOfRecord(declaration)
  const hidden = hiddenFields(declaration)
  const visible = names.filter((name) => !hidden.includes(name))
  const problems: string[] = []
  const check = (option: string, named: readonly string[] | undefined, allowed: string[], what: string) => {
    for (const name of new Set(named ?? [])) {
      if (!allowed.includes(name)) problems.push(`${option} names '${name}', which is not ${what}`)
    }
  }
  const ofFields = 'one of its fields'
  const ofRecord = `a name of its records (${names.join(', ')})`
  const ofVisible = `a name of its records that a client may see (${visible.join(', ')})`
  check('writable', declaration.writable, fields, ofFields)
  check('patchable', declaration.patchable, fields, ofFields)
  check('writeOnly', declaration.writeOnly, fields, ofFields)
  check('references', Object.keys(declaration.references ?? {}), fields, ofFields)
  check('renamed', Object.keys(declaration.renamed ?? {}), fields, ofFields)
  check(
    'search',
    declaration.search,
    fields.filter((field) => isText(declaration.fields[field])),
    'one of its text fields'
  )
  check('queryable', declaration.queryable, visible, ofVisible)
  check('sort', Object.keys(declaration.sort ?? {}), visible, ofVisible)
  check('unique', declaration.unique?.flat(), names, ofRecord)
  check('api.findBy', declaration.api?.findBy ? [declaration.api.findBy] : [], visible, ofVisible)
  check('resolve.data', Object.keys(declaration.resolve?.data ?? {}), names, ofRecord)
  check('resolve.patch', Object.keys(declaration.resolve?.patch ?? {}), names, ofRecord)
  check(
    'indexes',
    declaration.indexes?.flatMap((index) => index.fields),
    names,
    ofRecord
  )
  if ('through' in declaration.owner) {
    check('owner.through', [declaration.owner.through], fields, ofFields)
  }
  const embeds = Object.values<Reference | undefined>(declaration.references ?? {}).flatMap((reference) =>
    reference?.embed ? [reference.embed] : []
  )
  for (const embed of embeds.filter(
    (embed, index) => names.includes(embed) || embeds.indexOf(embed) < index
  )) {
    problems.push(`references embed a record as '${embed}', a name its records already have`)
  }
  const methods = declaration.methods ?? ALL_METHODS
  if (declaration.api?.findBy && methods.includes('get') && !declaration.api.replacesGet) {
    problems.push(
      `api.findBy '${declaration.api.findBy}' would take GET /api/${declaration.path}/:id from its own get: say \`replacesGet: true\` to mean it (the get stays at /${declaration.path}/:id and on sockets), or leave get out of \`methods\``
    )
  }
  if (declaration.ownerCounts && ('none' in declaration.owner || 'self' in declaration.owner)) {
    problems.push(`ownerCounts '${declaration.ownerCounts}' counts by owner, but its records have none`)
  }
  return problems
}

/** A declaration that cannot be made into a safe service stops the server here, naming what is wrong. */
function checkDeclaration(declaration: Declaration) {
  const where = `The declaration of '${declaration.path}'`
  if (declaration.path.startsWith(FAKE_PATH_PREFIX) && process.env.NODE_ENV !== 'test') {
    throw new Error(
      `${where}: paths starting with '${FAKE_PATH_PREFIX}' are kept for services that tests invent`
    )
  }
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
  const misnamed = misnamedFields(declaration)
  if (misnamed.length > 0) {
    throw new Error(`${where}: ${misnamed.join('; ')}`)
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
export function defineResource<const D extends Declaration>(
  declaration: D & NoInfer<TypedDeclaration<D>>
): Resource<D> {
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
      data: resolve<AnyRecord, HookContext>({ ...declaration.resolve?.data, ...ownerData }),
      patch: resolve<AnyRecord, HookContext>({ ...declaration.resolve?.patch, ...stamped }),
      query: scopeField ? resolve<AnyRecord, HookContext>({ [scopeField]: ownerOnly }) : undefined,
      external: resolve<AnyRecord, HookContext>(
        Object.fromEntries(hidden.map((field) => [field, async () => undefined]))
      )
    }
  }
}
