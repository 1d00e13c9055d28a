import assert from 'node:assert/strict'
import { DEVELOPMENT_SECRET, checkConfiguration, loadConfiguration } from '../src/configuration'

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
})
