import { authenticate } from '@feathersjs/authentication'
import { BadRequest, NotAuthenticated, NotFound } from '@feathersjs/errors'
import type { Paginated, Params } from '@feathersjs/feathers'
import { hooks as schemaHooks } from '@feathersjs/schema'
import { Type } from '@feathersjs/typebox'
import type { Static } from '@feathersjs/typebox'
import { sessionIdOf } from '../authentication-service'
import type { Application } from '../../declarations'
import { serviceDocs } from '../../docs/service-docs'
import { clientAddress } from '../../hooks/audit-trail'
import { isUuid, timestamp, uuid } from '../../declarative/fields'
import { compileQueryValidator } from '../../declarative/validators'
import type { SessionRegistry } from './registry'
import type { SessionRecord } from './store'
import { MAX_OFFSET } from '../../declarative/query'

const nullableText = (maxLength: number, description: string) =>
  Type.Union([Type.String({ maxLength }), Type.Null()], { description })

export const sessionSchema = Type.Object(
  {
    id: uuid(),
    createdAt: timestamp(),
    lastUsedAt: Type.String({ format: 'date-time', description: 'Its last login or refresh' }),
    ip: nullableText(64, 'The address it logged in from'),
    userAgent: nullableText(512, 'The `User-Agent` it logged in with'),
    current: Type.Boolean({ description: 'Whether it is the session of the token of this request' })
  },
  { $id: 'Session', additionalProperties: false }
)

export type Session = Static<typeof sessionSchema>

export const sessionQuerySchema = Type.Object(
  {
    $limit: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_OFFSET })),
    $skip: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_OFFSET }))
  },
  { $id: 'SessionQuery', additionalProperties: false }
)

export type SessionQuery = Static<typeof sessionQuerySchema>

const ENDED_BY_OWNER = { action: 'session-ended', service: 'sessions', reason: 'revoked' } as const

/**
 * The caller's open sessions (`GET /api/auth/sessions`), and ending one of them
 * (`DELETE /api/auth/sessions/:id`): whoever has a user's token sees where else they are logged in
 * and can end it. Someone else's session, an ended or an expired one is a 404.
 */
export class SessionsService {
  constructor(
    private readonly registry: SessionRegistry,
    readonly options: { paginate: { default: number; max: number } }
  ) {}

  private present(record: SessionRecord, params: Params): Session {
    return { ...record, current: record.id === sessionIdOf(params) }
  }

  /** Whose sessions: the caller's, always (an internal call names no one). */
  private callerOf(params: Params): string {
    const userId = params.user?.id
    if (!userId) {
      throw new NotAuthenticated('Not authenticated')
    }
    return userId
  }

  async find(params: Params<SessionQuery>): Promise<Paginated<Session>> {
    const { paginate } = this.options
    const limit = Math.min(params.query?.$limit ?? paginate.default, paginate.max)
    const skip = params.query?.$skip ?? 0
    const { total, data } = await this.registry.store.page(this.callerOf(params), limit, skip)
    return { total, limit, skip, data: data.map((record) => this.present(record, params)) }
  }

  async remove(id: unknown, params: Params): Promise<Session> {
    if (!isUuid(id)) {
      throw new BadRequest('The id must be a UUID')
    }
    const [ended] = await this.registry.end(
      { id: id.toLowerCase(), userId: this.callerOf(params), open: true },
      { ...ENDED_BY_OWNER, ip: clientAddress(params.ip) }
    )
    if (!ended) {
      throw new NotFound(`No record found for id '${id}'`)
    }
    const { userId: _userId, ...record } = ended
    return this.present(record, params)
  }
}

declare module '../../declarations' {
  interface ServiceTypes {
    sessions: SessionsService
  }
}

export const sessionsService = (app: Application) => {
  const service = new SessionsService(app.get('sessionRegistry'), { paginate: app.get('paginate') })
  app.use('sessions', service, {
    methods: ['find', 'remove'],
    // Nothing to publish: an ended session's sockets are logged off instead.
    events: [],
    docs: serviceDocs({
      description: "The caller's open sessions: where else they are logged in, and ending one of them",
      schemas: { sessionSchema, sessionQuerySchema },
      authenticated: 'all',
      docs: {
        operations: {
          find: { summary: 'Your open sessions' },
          remove: { summary: 'End one of your sessions' }
        }
      }
    })
  })
  app.service('sessions').hooks({
    around: { all: [authenticate('jwt')] },
    before: { all: [schemaHooks.validateQuery(compileQueryValidator(sessionQuerySchema))] }
  })
}
