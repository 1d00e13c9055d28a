import assert from 'node:assert/strict'
import { checkConfiguration, durationSeconds } from '../../src/configuration'
import { testContext } from '../setup'

// Lifetimes (JWT_EXPIRES_IN, REFRESH_TOKEN_EXPIRES_IN): whole seconds, or digits and a unit.

describe('unit: durationSeconds', () => {
  const rows: Array<[number | string, number]> = [
    [900, 900],
    [1, 1],
    ['1s', 1],
    ['90s', 90],
    ['15m', 900],
    ['2h', 7200],
    ['1d', 86_400],
    ['30d', 2_592_000],
    ['999999999d', 999_999_999 * 86_400]
  ]
  for (const [value, seconds] of rows) {
    it(`${JSON.stringify(value)} is ${seconds} s`, () => {
      assert.equal(durationSeconds(value), seconds)
    })
  }
})

describe('unit: what a lifetime setting accepts', () => {
  /** The test server's settings with this access-token lifetime, checked as at start-up. */
  const withLifetime = (expiresIn: unknown) => {
    const settings = structuredClone(testContext().settings) as any
    settings.authentication.jwtOptions.expiresIn = expiresIn
    return checkConfiguration(settings, 'test')
  }

  for (const value of [900, '15m', '1s', '30d', '999999999d']) {
    it(`accepts ${JSON.stringify(value)}`, async () => {
      const settings = await withLifetime(value)
      assert.equal((settings.authentication.jwtOptions as any).expiresIn, value)
    })
  }

  const refused: Array<[string, unknown]> = [
    ['digits without a unit (jsonwebtoken would read milliseconds)', '900'],
    ['zero seconds', 0],
    ['zero with a unit', '0m'],
    ['a leading zero', '015m'],
    ['a fraction', '1.5h'],
    ['a fraction of a second as a number', 0.5],
    ['a unit of weeks', '2w'],
    ['an upper-case unit', '15M'],
    ['a space before the unit', '15 m'],
    ['ten digits', '1000000000d'],
    ['a negative number', -1],
    ['words', 'fifteen minutes']
  ]
  for (const [name, value] of refused) {
    it(`refuses ${name}: ${JSON.stringify(value)}`, async () => {
      await assert.rejects(
        withLifetime(value),
        /^ConfigurationError: Invalid configuration: authentication\.jwtOptions\.expiresIn/
      )
    })
  }
})
