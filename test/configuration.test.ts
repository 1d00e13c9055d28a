import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import {
  DEVELOPMENT_SECRET,
  checkConfiguration,
  durationSeconds,
  loadConfiguration
} from '../src/configuration'

describe('configuration', () => {
  it('the test configuration is valid and has its own database', async () => {
    const settings = await loadConfiguration()
    assert.equal(settings.database.embedded.database, 'healthcare_test')
  })

  it('a bad value stops start-up with a message naming the setting', async () => {
    const settings = await loadConfiguration()
    await assert.rejects(
      checkConfiguration({ ...settings, port: 'eighty' }),
      /Invalid configuration: port: must be integer/
    )
    await assert.rejects(
      checkConfiguration({ ...settings, database: { ...settings.database, url: 'mysql://nope' } }),
      /database\.url: must match pattern/
    )
    await assert.rejects(
      checkConfiguration({ ...settings, colour: 'blue' }),
      /must NOT have additional properties 'colour'/
    )
  })

  it('production refuses the development secret and short secrets', async () => {
    const settings = await loadConfiguration()
    const withSecret = (secret: string) => ({
      ...settings,
      database: { ...settings.database, url: 'postgres://api@db.internal:5432/healthcare' },
      authentication: { ...settings.authentication, secret }
    })
    await assert.rejects(
      checkConfiguration(withSecret(DEVELOPMENT_SECRET), 'production'),
      /authentication\.secret/
    )
    await assert.rejects(checkConfiguration(withSecret('too-short'), 'production'), /authentication\.secret/)
    const strong = 'x'.repeat(32)
    assert.equal((await checkConfiguration(withSecret(strong), 'production')).authentication.secret, strong)
  })

  it('production refuses to start without DATABASE_URL: the embedded PostgreSQL is for development', async () => {
    const settings = await loadConfiguration()
    const secret = 'x'.repeat(32)
    const withUrl = (url?: string) => ({
      ...settings,
      database: { ...settings.database, url },
      authentication: { ...settings.authentication, secret }
    })
    await assert.rejects(
      checkConfiguration(withUrl(undefined), 'production'),
      /Invalid configuration: database\.url: set DATABASE_URL in production/
    )
    const url = 'postgres://api@db.internal:5432/healthcare'
    assert.equal((await checkConfiguration(withUrl(url), 'production')).database.url, url)
    assert.equal((await checkConfiguration(withUrl(undefined), 'development')).database.url, undefined)
  })

  it('both token lifetimes are settings, from JWT_EXPIRES_IN and REFRESH_TOKEN_EXPIRES_IN, checked at start', async () => {
    const environment = JSON.parse(
      readFileSync(path.join(__dirname, '..', 'config', 'custom-environment-variables.json'), 'utf8')
    )
    assert.equal(environment.authentication.jwtOptions.expiresIn, 'JWT_EXPIRES_IN')
    assert.equal(environment.authentication.refresh.expiresIn, 'REFRESH_TOKEN_EXPIRES_IN')
    const settings = await loadConfiguration()
    const lifetimes = (access: unknown, refresh: unknown) => ({
      ...settings,
      authentication: {
        ...settings.authentication,
        jwtOptions: { ...settings.authentication.jwtOptions, expiresIn: access },
        refresh: { expiresIn: refresh }
      }
    })
    const valid = await checkConfiguration(lifetimes('3s', 3600))
    assert.deepEqual(
      [valid.authentication.jwtOptions.expiresIn, valid.authentication.refresh.expiresIn].map(
        durationSeconds
      ),
      [3, 3600]
    )
    assert.deepEqual(['15m', '30d', '2h', 900].map(durationSeconds), [900, 2_592_000, 7200, 900])
    // A string without a unit would be milliseconds to jsonwebtoken: refused, as is anything else.
    for (const [access, refresh] of [
      ['900', '30d'],
      ['15m', '2592000'],
      ['15 minutes', '30d'],
      ['15m', '0d'],
      [0, '30d'],
      ['15m', -1]
    ]) {
      await assert.rejects(
        checkConfiguration(lifetimes(access, refresh)),
        /authentication\.(jwtOptions|refresh)\.expiresIn/,
        `${access}, ${refresh}`
      )
    }
  })
})
