import assert from 'node:assert/strict'
import { queryString } from '../../src/http/query-string'

// The query-string guard: a query string that qs would read as less than it says is a 400 before
// anything reads it; any other goes on untouched.

/** Runs the guard on `querystring`: whether it let the request go on. */
async function passes(querystring: string) {
  let next = false
  await queryString()({ querystring } as any, async () => {
    next = true
  })
  return next
}

const parameters = (count: number) => Array.from({ length: count }, (_, index) => `k${index}=1`).join('&')

describe('unit: the query-string guard', () => {
  const accepted: Array<[string, string]> = [
    ['no query string', ''],
    ['plain parameters', 'name=x&age=1'],
    ['brackets', 'age[$gt]=1&$sort[name]=-1'],
    ['a prototype name as a value', 'name=constructor'],
    ['a prototype name inside a longer name', 'toStringy=1'],
    ['a prototype name with different case', 'Constructor=1'],
    ['1,000 parameters, the most there may be', parameters(1000)],
    ['malformed percent-encoding in a name (left to the parser)', '%ZZ=1'],
    ['a parameter without a value', 'flag']
  ]
  for (const [name, querystring] of accepted) {
    it(`lets ${name} through`, async () => {
      assert.equal(await passes(querystring), true)
    })
  }

  const TOO_MANY = { name: 'BadRequest', message: 'A query string holds at most 1000 parameters' }
  const named = (part: string) => ({
    name: 'BadRequest',
    message: `A query parameter may not be named '${part}'`
  })
  const refused: Array<[string, string, object]> = [
    ['1,001 parameters', parameters(1001), TOO_MANY],
    ['a condition past 1,000 empty parameters', `${'&'.repeat(1000)}$ifMatch=9`, TOO_MANY],
    ['__proto__ as a name', '__proto__=1', named('__proto__')],
    ['__proto__ with brackets', '__proto__[age]=1', named('__proto__')],
    ['__proto__ inside brackets', '$ifMatch[__proto__]=1', named('__proto__')],
    ['toString', 'toString=1', named('toString')],
    ['hasOwnProperty inside brackets', 'age[hasOwnProperty]=1', named('hasOwnProperty')],
    ['constructor deeper inside brackets', 'a[constructor][b]=1', named('constructor')],
    ['valueOf after a harmless parameter', 'name=x&valueOf=1', named('valueOf')],
    ['__proto__ percent-encoded', '%5F_proto__=1', named('__proto__')],
    ['__proto__ with its brackets percent-encoded', '__proto__%5Bx%5D=1', named('__proto__')],
    ['__defineGetter__', '__defineGetter__=1', named('__defineGetter__')],
    ['isPrototypeOf', 'isPrototypeOf=1', named('isPrototypeOf')]
  ]
  for (const [name, querystring, error] of refused) {
    it(`refuses ${name} with a 400 naming why`, async () => {
      await assert.rejects(passes(querystring), error)
    })
  }
})
