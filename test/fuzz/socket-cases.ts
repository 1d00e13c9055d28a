// The classes of socket calls: each listed hostile piece at least once, whatever the seed, then
// calls made at random of every piece. Each class is one test, with a generator of its own.
import { excerptOf } from './failures'
import type { Fixtures } from './fixtures'
import { SOCKET_RANDOM_CASES, range } from './generator'
import type { Random } from './generator'
import {
  HOSTILE_SOCKET_IDS,
  HOSTILE_SOCKET_PATHS,
  HOSTILE_VALUES,
  NON_METHOD_EVENTS,
  SOCKET_METHODS,
  hostileSocketData,
  hostileSocketQueries,
  validBodyFor
} from './pieces'
import { idsFor } from './rest'
import { describePath, randomSocketCall, socketLogsOut } from './sockets'
import type { SocketCall } from './sockets'

export interface SocketClass {
  name: string
  calls: (random: Random, f: Fixtures) => SocketCall[]
}

/** A call on the owner's socket (unless it would log the owner out) or on the anonymous one. */
const call = (event: string, args: unknown[], authenticated: boolean, label: string): SocketCall => ({
  event,
  args,
  authenticated: authenticated && !socketLogsOut(event, args[0]),
  label
})

const excerpt = (value: unknown, length: number) =>
  excerptOf(JSON.stringify(value) ?? String(value)).slice(0, length)

const AUTHENTICATIONS = (f: Fixtures): unknown[] => [
  { strategy: 'jwt' },
  { strategy: 'jwt', accessToken: {} },
  { strategy: 'jwt', accessToken: ['x'] },
  { strategy: 'local', email: [], password: {} },
  { strategy: 'local', email: f.owner.email },
  { strategy: '__proto__' },
  { strategy: 'constructor' },
  { strategy: 'toString', accessToken: 'x' },
  { accessToken: 1 },
  null,
  'x',
  []
]

/** Random calls, in batches of this many: one test each. */
const RANDOM_BATCH = 40

export const SOCKET_CLASSES: SocketClass[] = [
  {
    name: 'paths that name no service, anonymous and as the owner',
    calls: (_random, f) =>
      [false, true].flatMap((authenticated) =>
        HOSTILE_SOCKET_PATHS.flatMap((path) => [
          call('find', [path, {}], authenticated, `emit('find', ${describePath(path)}, {})`),
          call('get', [path, f.patients[0], {}], authenticated, `emit('get', ${describePath(path)}, id, {})`)
        ])
      )
  },
  {
    name: 'every method with no arguments, anonymous and as the owner',
    calls: () =>
      [false, true].flatMap((authenticated) =>
        SOCKET_METHODS.flatMap((method) =>
          ['patients', 'doctors', 'mappings', 'users', 'audit', 'authentication'].map((path) =>
            call(method, [path], authenticated, `emit('${method}', '${path}') with no arguments`)
          )
        )
      )
  },
  {
    name: 'queries of every hostile kind',
    calls: (random, f) =>
      hostileSocketQueries(f).flatMap((query) =>
        ['patients', 'doctors', random.pick(['mappings', 'audit', 'users'])].map((path) =>
          call('find', [path, query], true, `emit('find', '${path}', ${excerpt(query, 60)})`)
        )
      )
  },
  {
    name: 'ids that are not ids, or not the owner’s',
    calls: (random, f) =>
      HOSTILE_SOCKET_IDS(f).flatMap((id) => {
        const [method, path] = random.pick([
          ['get', 'patients'],
          ['remove', 'mappings'],
          ['get', 'users'],
          ['remove', 'doctors'],
          ['get', 'audit']
        ])
        return [
          call(method, [path, id, {}], true, `emit('${method}', '${path}', ${describePath(id)}, {})`),
          call(
            'patch',
            ['patients', id, { name: 'x' }, {}],
            true,
            `emit('patch', 'patients', ${describePath(id)}, data, {})`
          )
        ]
      })
  },
  {
    name: 'data of every wrong shape on create, arrays on patch and update',
    calls: (random, f) =>
      ['patients', 'doctors', 'mappings', 'users'].flatMap((path) => [
        ...range(6).map(() => {
          const data = hostileSocketData(path, f, random)
          return call('create', [path, data, {}], true, `emit('create', '${path}', ${excerpt(data, 50)}, {})`)
        }),
        call(
          'patch',
          [path, idsFor(path, f, 'PATCH')[0], [validBodyFor(path, f, random)], {}],
          true,
          `emit('patch', '${path}', id, [data], {})`
        ),
        call(
          'update',
          [path, idsFor(path, f, 'PUT')[0], [], {}],
          true,
          `emit('update', '${path}', id, [], {})`
        )
      ])
  },
  {
    name: 'logins with access tokens that are not valid',
    calls: (_random, f) =>
      f.invalidTokens.map(({ label, token }) =>
        call(
          'create',
          ['authentication', { strategy: 'jwt', accessToken: token }, {}],
          false,
          `emit('create', 'authentication', { strategy: 'jwt', accessToken: <${label}> })`
        )
      )
  },
  {
    name: 'refreshes with tokens that get nothing, or are not text',
    calls: (_random, f) =>
      [...f.refreshTokens.map(({ token }) => token), ...HOSTILE_VALUES].map((refreshToken) =>
        call(
          'create',
          ['authentication', { strategy: 'refresh', refreshToken }, {}],
          false,
          `emit('create', 'authentication', { strategy: 'refresh', refreshToken: ${excerptOf(JSON.stringify(refreshToken) ?? 'undefined').slice(0, 40)} })`
        )
      )
  },
  {
    name: 'sessions ended with ids that are not the owner’s or no ids',
    calls: (_random, f) =>
      [...HOSTILE_SOCKET_IDS(f), f.otherSessions[0]].map((id) =>
        call('remove', ['sessions', id, {}], true, `emit('remove', 'sessions', ${describePath(id)}, {})`)
      )
  },
  {
    name: 'authentication data of every wrong shape',
    calls: (_random, f) =>
      AUTHENTICATIONS(f).map((data) =>
        call(
          'create',
          ['authentication', data, {}],
          false,
          `emit('create', 'authentication', ${excerptOf(JSON.stringify(data) ?? 'undefined').slice(0, 60)})`
        )
      )
  },
  {
    name: 'events that are no method: the socket answers the next call',
    calls: () =>
      NON_METHOD_EVENTS.map((event) => ({
        event,
        args: ['patients', {}],
        authenticated: true,
        fireAndForget: true,
        label: `emit('${event}')`
      }))
  },
  ...range(SOCKET_RANDOM_CASES / RANDOM_BATCH).map((batch): SocketClass => ({
    name: `random calls ${batch * RANDOM_BATCH + 1}–${(batch + 1) * RANDOM_BATCH}`,
    calls: (random, f) => range(RANDOM_BATCH).map(() => randomSocketCall(random, f))
  }))
]
