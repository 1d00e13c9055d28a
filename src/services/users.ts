import { passwordHash } from '@feathersjs/authentication-local'
import { BadRequest } from '@feathersjs/errors'
import { Type } from '@feathersjs/typebox'
import type { HookContext } from '../declarations'
import { MAX_EMAIL_LENGTH, normalisedEmail, text } from '../declarative/fields'
import { defineResource } from '../declarative/resource'
import type { RecordOfResource } from '../declarative/declaration'

const MAX_PASSWORD_BYTES = 72 // what the password may be at most, in UTF-8 bytes

async function hashValidPassword(password: string | undefined, data: unknown, context: HookContext) {
  if (password !== undefined && Buffer.byteLength(password) > MAX_PASSWORD_BYTES) {
    throw new BadRequest(`must NOT have more than ${MAX_PASSWORD_BYTES} bytes`)
  }
  return passwordHash({ strategy: 'local' })(password, data, context)
}

/** Emails are stored trimmed and lower-cased; this runs before validation so ' A@b.org' is valid. */
async function normaliseEmail(context: HookContext) {
  const data = context.data as Record<string, unknown> | undefined
  if (data && typeof data.email === 'string') {
    data.email = normalisedEmail(data.email)
  }
}

/** Registration (anyone), then each user reaches only their own record. */
export const users = defineResource({
  path: 'users',
  description: "Registration (anyone) and the caller's own user record",
  fields: {
    name: text(100),
    email: Type.String({ format: 'email', maxLength: MAX_EMAIL_LENGTH }),
    password: Type.String({ minLength: 8, maxLength: MAX_PASSWORD_BYTES })
  },
  owner: { self: true },
  anonymous: ['create'],
  methods: ['find', 'get', 'create', 'patch', 'remove'],
  // A user may change their name and password, nothing else.
  patchable: ['name', 'password'],
  // The hash never leaves the server, by any transport.
  writeOnly: ['password'],
  search: ['name'],
  unique: [['email']],
  // Emails are compared case-insensitively: the API stores them trimmed and lower-cased.
  checks: { email_normalised: 'email = lower(btrim(email))' },
  // The instances poll for the users changed lately (src/auth/sessions/registry.ts).
  indexes: [{ fields: ['updatedAt'] }],
  publish: 'owner',
  resolve: { data: { password: hashValidPassword }, patch: { password: hashValidPassword } },
  hooks: { before: { create: [normaliseEmail] } },
  docs: { operations: { create: { summary: 'Register' } } }
})

export type User = RecordOfResource<typeof users>

declare module '@feathersjs/feathers' {
  interface Params {
    /** The authenticated caller (set by the `jwt` and `local` strategies). */
    user?: User
  }
}
