import assert from 'node:assert/strict'
import { DEMO_PASSWORD, demoMappings, demoUsers } from '../src/seed/demo-data'
import { demoLogins, seed } from '../src/seed/seed'
import { countRows, http } from './helpers'
import { testContext } from './setup'

describe('npm run seed', () => {
  const silent = () => {}

  it('creates the demo data once; a second run creates nothing', async () => {
    const { app } = testContext().server
    const first = await seed(app, silent)
    assert.deepEqual(first, { created: 12, existing: 0 })
    const mappings = await countRows('mappings')
    assert.deepEqual(await seed(app, silent), { created: 0, existing: 12 })
    assert.equal(await countRows('mappings'), mappings)
  })

  it('prints progress', async () => {
    const lines: string[] = []
    await seed(testContext().server.app, (line) => lines.push(line))
    assert.deepEqual(
      lines.filter((line) => !line.startsWith('  exists')),
      ['Users', 'Doctors', 'Patients', 'Mappings']
    )
    assert.equal(lines.length, 4 + 12)
  })

  it('gives demo users that log in and see their own patients and mappings', async () => {
    const login = await http('POST', '/api/auth/login', {
      body: { email: demoUsers.ada.email, password: DEMO_PASSWORD }
    })
    assert.equal(login.status, 201)
    const token = login.body.accessToken
    const patients = await http('GET', '/api/patients?$sort[name]=1', { token })
    assert.deepEqual(
      patients.body.data.map((patient: { name: string }) => patient.name),
      ['Jane Roe', 'John Doe']
    )
    const jane = patients.body.data[0]
    const janesDoctors = await http('GET', `/api/mappings/${jane.id}`, { token })
    assert.equal(janesDoctors.status, 200)
    assert.deepEqual(
      janesDoctors.body.data.map((mapping: { doctor: { name: string } }) => mapping.doctor.name).sort(),
      ['Dr. Gregory House', 'Dr. Michaela Quinn']
    )
    assert.equal(demoMappings.filter(({ patient }) => patient === 'jane').length, 2)
  })

  it('names the demo password only where it logs in: a demo email registered with another password is said so', async () => {
    const { app } = testContext().server
    await seed(app, silent)
    const everyDemoUser = Object.values(demoUsers).map(({ email }) => ({ email, password: DEMO_PASSWORD }))
    assert.deepEqual(await demoLogins(app), everyDemoUser)

    // As when someone registered ada@example.org with a password of their own before seeding.
    const [ada] = await app.service('users').find({ query: { email: demoUsers.ada.email }, paginate: false })
    await app.service('users').patch(ada.id, { password: 'a-password-of-their-own' })
    try {
      await seed(app, silent)
      assert.deepEqual(
        await demoLogins(app),
        everyDemoUser.map((login) =>
          login.email === demoUsers.ada.email ? { ...login, password: undefined } : login
        )
      )
      const withDemoPassword = await http('POST', '/api/auth/login', {
        body: { email: demoUsers.ada.email, password: DEMO_PASSWORD }
      })
      assert.equal(withDemoPassword.status, 401)
    } finally {
      await app.service('users').patch(ada.id, { password: DEMO_PASSWORD })
    }
  })
})
