// A fuzz test of our own: generated hostile paths, ids, query strings, bodies and headers over REST,
// and raw Socket.io calls (hostile events, paths, ids, argument lists, queries), from a seeded
// generator (test/fuzz/). Every answer must arrive, be below 500, show no stack, SQL, schema name or
// file path and (REST) carry the security headers; a write that was refused must change no row.
//
// Each class of cases is a test of its own: every listed hostile piece of a kind (paths, ids,
// query pieces, bodies, tokens, …), then random requests in batches. Deterministic for a seed:
// FUZZ_SEED=<integer> replays a run (the seed is in every failure message, and each class draws
// from a generator of its own, so `--grep '<class>'` replays one class alone); FUZZ_TRACE=1 prints
// every call and its answer. A class's failures are collected and reported once, deduplicated and
// grouped by answer. To run this file alone:
//   DATABASE_URL=… NODE_ENV=test npx mocha --no-config --require tsx/cjs --require test/setup.ts test/fuzz.test.ts
import assert from 'node:assert/strict'
import { Failures, excerptOf } from './fuzz/failures'
import { createFixtures, mayChange, snapshot, unexplainedChanges } from './fuzz/fixtures'
import type { Fixtures } from './fuzz/fixtures'
import { SEED, TRACE, randomFor } from './fuzz/generator'
import { leakRules, readSchemaNames } from './fuzz/leaks'
import type { LeakRule } from './fuzz/leaks'
import { REST_CLASSES } from './fuzz/rest-cases'
import { acceptedIds } from './fuzz/fixtures'
import { agent, checkRestAnswer, parseJson, send } from './fuzz/rest'
import type { RestCase } from './fuzz/rest'
import { SOCKET_CLASSES } from './fuzz/socket-cases'
import { RawSocket, checkAck, checkAlive, checkSockets, runSocketCall } from './fuzz/sockets'
import type { SocketCall } from './fuzz/sockets'

describe(`fuzz: hostile input over REST and sockets (FUZZ_SEED=${SEED})`, function () {
  this.timeout(120_000)
  let f: Fixtures
  let rules: LeakRule[]
  /** Table and column names that are also API words: never cut out of an answer as an "echo". */
  let keep: Set<string>

  before(async () => {
    f = await createFixtures()
    const names = await readSchemaNames()
    rules = leakRules(names)
    keep = new Set(names.identifiers.filter((name) => !name.includes('_')))
  })

  after(() => agent.destroy())

  /** One class of requests, one at a time: the answers (and what each write leaves) depend on the seed alone. */
  async function sendAll(requests: RestCase[]) {
    assert.ok(requests.length > 0, 'no requests in this class')
    const failures = new Failures()
    const accepted = mayChange(f)
    const before = await snapshot()
    for (const request of requests) {
      const answer = await send(request)
      if (TRACE)
        console.log(
          `${request.who}: ${request.method} ${request.path.slice(0, 120)} → ${answer.status ?? answer.error} ${excerptOf(answer.text)}`
        )
      checkRestAnswer(request, answer, rules, keep, failures)
      if (
        answer.status !== undefined &&
        answer.status < 300 &&
        !['GET', 'HEAD', 'OPTIONS'].includes(request.method)
      ) {
        acceptedIds(parseJson(answer.text), accepted)
      }
    }
    for (const { where, row } of unexplainedChanges(before, await snapshot(), accepted)) {
      failures.add('a refused request changed a row', where, '', row)
    }
    failures.assertNone('REST answers')
  }

  /** One class of socket calls, on an anonymous socket and one of the owner's, each checked. */
  async function emitAll(calls: SocketCall[]) {
    assert.ok(calls.length > 0, 'no calls in this class')
    const sockets = { anonymous: new RawSocket(), owner: new RawSocket(f.owner.token) }
    const failures = new Failures()
    const accepted = mayChange(f)
    const before = await snapshot()
    try {
      for (const call of calls) {
        const ack = await runSocketCall(call, sockets, accepted)
        if (call.fireAndForget) checkAlive(call, ack, failures)
        else checkAck(call, ack, rules, keep, failures)
      }
    } finally {
      sockets.anonymous.close()
      sockets.owner.close()
    }
    checkSockets(sockets, rules, keep, failures)
    if (TRACE)
      console.log(
        `events: ${sockets.owner.events.length} to the owner, ${sockets.anonymous.events.length} to the anonymous socket`
      )
    for (const { where, row } of unexplainedChanges(before, await snapshot(), accepted)) {
      failures.add('a refused request changed a row', where, '', row)
    }
    failures.assertNone('socket calls')
  }

  describe('REST: no 5xx, no leak, security headers on every answer, refused writes change nothing', () => {
    for (const { name, cases } of REST_CLASSES) {
      it(name, () => sendAll(cases(randomFor(`rest: ${name}`), f)))
    }
  })

  describe('sockets: every call acknowledged, no 5xx, no leak, refused writes change nothing', () => {
    for (const { name, calls } of SOCKET_CLASSES) {
      it(name, () => emitAll(calls(randomFor(`sockets: ${name}`), f)))
    }
  })
})
