import { Type } from '@feathersjs/typebox'
import { users } from '../services/users'

// Documentation only: the strategies check their own input.
export const authenticationDataSchema = Type.Object(
  {
    strategy: Type.Optional(
      Type.Union([Type.Literal('local'), Type.Literal('jwt'), Type.Literal('refresh')], {
        description: 'Required at /authentication; POST /api/auth/login defaults it to `local`'
      })
    ),
    email: Type.Optional(Type.String({ format: 'email', description: 'With `local`' })),
    password: Type.Optional(Type.String({ description: 'With `local`' })),
    accessToken: Type.Optional(Type.String({ description: 'With `jwt`' })),
    refreshToken: Type.Optional(Type.String({ description: 'With `refresh`' }))
  },
  { $id: 'AuthenticationData', examples: [{ email: 'ada@example.org', password: 'correct horse battery' }] }
)

export const refreshDataSchema = Type.Object(
  { refreshToken: Type.String({ description: 'The refresh token of the last login or refresh' }) },
  { $id: 'RefreshData', examples: [{ refreshToken: 'Jd0l1m4y3nQp-8y2s9K0c7b5Vx6Wz1Aa3Bb5Cc7Dd9E' }] }
)

export const authenticationSchema = Type.Object(
  {
    accessToken: Type.String({
      description: 'Send as `Authorization: Bearer <accessToken>`; valid 15 minutes by default'
    }),
    refreshToken: Type.Optional(
      Type.String({
        description:
          'For `POST /api/auth/refresh`, once; valid 30 days by default. Not sent when a socket logs in with its access token'
      })
    ),
    authentication: Type.Object({
      strategy: Type.String(),
      accessToken: Type.Optional(Type.String()),
      payload: Type.Optional(
        Type.Object(
          { sid: Type.Optional(Type.String({ format: 'uuid', description: 'The session' })) },
          { additionalProperties: true }
        )
      )
    }),
    user: Type.Ref(users.schemas.response)
  },
  { $id: 'Authentication' }
)
