import { resolve } from '@feathersjs/schema'
import { BadRequest } from '@feathersjs/errors'
import { Type } from '@feathersjs/typebox'
import type { Static } from '@feathersjs/typebox'
import { passwordHash } from '@feathersjs/authentication-local'
import type { HookContext } from '../../declarations'
import { compileQueryValidator, compileValidator, dataValidator } from '../../validators'
import { querySyntaxFor } from '../../schemas/query'
import { ownerOnly } from '../../hooks/owner-scope'
import { ilike } from '../../schemas/common'
import type { UserService } from './users.class'

const MAX_PASSWORD_BYTES = 72 // what the password may be at most, in UTF-8 bytes

const passwordSchema = Type.String({ minLength: 8, maxLength: MAX_PASSWORD_BYTES })

export const userSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    name: Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' }),
    email: Type.String({ format: 'email', maxLength: 254 }),
    password: Type.Optional(passwordSchema),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' })
  },
  { $id: 'User', additionalProperties: false }
)
export type User = Static<typeof userSchema>
// What responses and events carry (documentation only: never compiled, so its $id is free).
export const userResponseSchema = Type.Omit(userSchema, ['password'], {
  $id: 'User',
  additionalProperties: false
})
export const userValidator = compileValidator(userSchema, dataValidator)
export const userResolver = resolve<User, HookContext<UserService>>({})

export const userExternalResolver = resolve<User, HookContext<UserService>>({
  // The hash never leaves the server, by any transport.
  password: async () => undefined
})

async function hashValidPassword(password: string | undefined, data: any, context: HookContext<UserService>) {
  if (password !== undefined && Buffer.byteLength(password) > MAX_PASSWORD_BYTES) {
    throw new BadRequest(`must NOT have more than ${MAX_PASSWORD_BYTES} bytes`)
  }
  return passwordHash({ strategy: 'local' })(password, data, context)
}

// Registration: name, email and password; everything else is the server's.
export const userDataSchema = Type.Object(
  {
    name: userSchema.properties.name,
    email: userSchema.properties.email,
    password: passwordSchema
  },
  { $id: 'UserData', additionalProperties: false }
)
export type UserData = Static<typeof userDataSchema>
export const userDataValidator = compileValidator(userDataSchema, dataValidator)
export const userDataResolver = resolve<User, HookContext<UserService>>({
  password: hashValidPassword
})

// A user may change their name and password, nothing else.
export const userPatchSchema = Type.Partial(Type.Pick(userSchema, ['name', 'password']), {
  $id: 'UserPatch',
  additionalProperties: false
})
export type UserPatch = Static<typeof userPatchSchema>
export const userPatchValidator = compileValidator(userPatchSchema, dataValidator)
export const userPatchResolver = resolve<User, HookContext<UserService>>({
  password: hashValidPassword,
  updatedAt: async () => new Date().toISOString()
})

export const userQueryProperties = Type.Pick(userSchema, ['id', 'name', 'email', 'createdAt', 'updatedAt'])
export const userQuerySchema = querySyntaxFor(userQueryProperties, { name: ilike() })
export type UserQuery = Static<typeof userQuerySchema>
export const userQueryValidator = compileQueryValidator(userQuerySchema)
export const userQueryResolver = resolve<UserQuery, HookContext<UserService>>({
  // An outside caller only ever reaches their own record, whatever the query says.
  id: ownerOnly
})
