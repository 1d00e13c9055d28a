import type {
  Application as FeathersBaseApplication,
  HookContext as FeathersHookContext,
  NextFunction,
  ServiceInterface
} from '@feathersjs/feathers'
import type { Application as FeathersApplication } from '@feathersjs/koa'
import type { ServiceSwaggerOptions } from 'feathers-swagger'
import type { Knex } from 'knex'
import type { ApplicationConfiguration } from './configuration'
import type { Drain } from './http/drain'
import type { Logger } from './logger'
import type { RedisClient } from './database/redis'
import type { AuditStamp } from './declarative/runtime/audit-records'

export type { NextFunction }

/** A conditional request header, as Node names it. */
export type ConditionHeader = 'if-match' | 'if-none-match'

export interface Configuration extends ApplicationConfiguration {
  postgresqlClient: Knex
  drain: Drain
  /** Set when REDIS_URL is: the one Redis client (login counts, events out). */
  redis?: RedisClient
}

// Each service adds itself here with `declare module '../../declarations'`.
export interface ServiceTypes {}

export type Application = FeathersApplication<ServiceTypes, Configuration>

/**
 * The app, where a service's path is known only at run time (a declaration's, a reference's): every
 * path names an `S`, by default a service of records the compiler does not know.
 */
export type ApplicationByPath<S = ServiceInterface<unknown>> = Application &
  FeathersBaseApplication<Record<string, S>, Configuration>

/** A hook's context; `S`, the service, when the hook needs more of it than its path and method. */
export type HookContext<S = ServiceInterface<unknown>> = FeathersHookContext<Application, S>

declare module '@feathersjs/feathers' {
  interface Params {
    /** The client's address, from the HTTP request or the socket's handshake. */
    ip?: string
    requestId?: string
    /** The logger of the request or socket connection the call came from (its id in every line). */
    logger?: Logger
    /** Set by the audit hook: a RecordService write then writes its audit record in the same statement. */
    audit?: AuditStamp
    /**
     * The versions a write may change the record at (`If-Match` over REST, `$ifMatch` in the query
     * on any transport; src/hooks/if-match.ts): any other is a 412, checked in the write statement.
     */
    ifMatch?: readonly number[]
    /**
     * The versions a write may not change the record at, or `*` for any (`If-None-Match` over
     * REST): a 412 as well. On a get, a 304 when it names the record's version.
     */
    ifNoneMatch?: readonly number[] | '*'
  }

  // Each service documents itself in its registration: `app.use(path, service, { docs })`.
  // (An augmentation repeats the interface's type parameters, used or not.)
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  interface ServiceOptions<MethodTypes = string> {
    docs?: ServiceSwaggerOptions
    /**
     * The conditional headers each method evaluates: a REST request that sends another (an
     * `If-Match` anywhere, an `If-None-Match` on a write) is refused before it runs (src/http/methods.ts).
     */
    conditions?: Readonly<Record<string, readonly ConditionHeader[]>>
    /**
     * The methods besides `find` and `create` the service answers at its path without an id
     * (`DELETE /authentication` logs out); an adapter says it with its `multi` option instead.
     */
    methodsWithoutId?: readonly string[]
  }
}
