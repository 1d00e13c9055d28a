// What the bad-input tables share: one `it` per row, raw socket calls and their errors, and the
// check that a refused request changed nothing.
import assert from 'node:assert/strict'
import type { Socket } from 'socket.io-client'
import { rawSocket } from '../sockets'
import { assertNoLeak, countRows, http, tablesClientsWrite } from '../helpers'
import type { TestUser } from '../helpers'

/** A row of a table: its name is the name of its test. */
export interface Row {
  name: string
}

/** One `it` per row, named by the row: a failing case names itself. */
export function eachRow<R extends Row>(table: readonly R[], check: (row: R) => Promise<void> | void) {
  for (const row of table) {
    it(row.name, () => check(row))
  }
}

const ACK_TIMEOUT_MS = 3000

/** Emits a call and resolves with its acknowledgement; a call left unanswered fails the test. */
export function call(socket: Socket, ...args: unknown[]): Promise<{ error?: any; result?: any }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no answer to ${JSON.stringify(args).slice(0, 80)}`)),
      ACK_TIMEOUT_MS
    )
    socket.emit(args[0] as string, ...args.slice(1), (error: any, result: any) => {
      clearTimeout(timer)
      resolve({ error, result })
    })
  })
}

/** A raw socket logged in with `user`'s access token. */
export async function authenticatedSocket(user: TestUser) {
  const socket = await rawSocket()
  const { error } = await call(socket, 'create', 'authentication', {
    strategy: 'jwt',
    accessToken: user.token
  })
  assert.equal(error, null)
  return socket
}

/** A socket call's error: a Feathers error with this code, and nothing a client should not see. */
export function assertSocketError({ error }: { error?: any }, code: number) {
  assert.ok(error, 'the call succeeded')
  assert.equal(error.code, code, JSON.stringify(error))
  assert.deepEqual(
    Object.keys(error).filter(
      (key) => !['name', 'message', 'code', 'className', 'data', 'errors'].includes(key)
    ),
    []
  )
  assertNoLeak(error)
}

/** Sockets opened by a table's tests, closed after them. */
export function socketPool() {
  const open: Socket[] = []
  after(() => open.forEach((socket) => socket.close()))
  return {
    async anonymous() {
      const socket = await rawSocket()
      open.push(socket)
      return socket
    },
    async as(user: TestUser) {
      const socket = await authenticatedSocket(user)
      open.push(socket)
      return socket
    }
  }
}

/**
 * What a refused request must leave as it was: the number of rows of each table, and the records
 * given (read back through the API as `user`).
 */
export async function unchanged(user: TestUser, records: Array<{ path: string; record: unknown }> = []) {
  const TABLES = tablesClientsWrite()
  const counts = Object.fromEntries(
    await Promise.all(TABLES.map(async (table) => [table, await countRows(table)]))
  )
  return async () => {
    for (const table of TABLES) {
      assert.equal(await countRows(table), counts[table], `rows of ${table}`)
    }
    for (const { path, record } of records) {
      assert.deepEqual((await http('GET', path, { token: user.token })).body, record, path)
    }
  }
}
