import assert from 'node:assert/strict'
import path from 'node:path'
import type { Browser } from 'playwright-core'
import { baseUrl, created, signUp, validPatient } from '../helpers'
import type { TestUser } from '../helpers'
import { assertNoProblems, checkedPage, HELMET_DEFAULT_CSP, launchChromium } from './browser'

const PAGE_DIR = path.join(__dirname, 'realtime-page')
const modulePath = (request: string) => require.resolve(request)

/** The page's files, served by the test on the API's origin (the server does not serve them). */
const PAGE_FILES: Record<string, string> = {
  'index.html': path.join(PAGE_DIR, 'index.html'),
  'app.js': path.join(PAGE_DIR, 'app.js'),
  'socket.io.js': modulePath('socket.io-client/dist/socket.io.js'),
  'feathers.js': modulePath('@feathersjs/client/dist/feathers.js')
}

describe('the Feathers browser client, in Chromium', () => {
  let browser: Browser
  let alice: TestUser
  let bob: TestUser

  before(async () => {
    browser = await launchChromium()
    alice = await signUp('Alice')
    bob = await signUp('Bob')
  })

  after(async () => {
    await browser?.close()
  })

  it('logs in over Socket.io and receives `patients created` for its own patients only', async () => {
    const checked = await checkedPage(browser, baseUrl())
    const { page } = checked
    await page.route(`${baseUrl()}/browser-client/*`, (route) =>
      route.fulfill({
        path: PAGE_FILES[path.basename(new URL(route.request().url()).pathname)],
        headers: { 'content-security-policy': HELMET_DEFAULT_CSP }
      })
    )
    await page.goto(`${baseUrl()}/browser-client/index.html`)
    const user = await page.evaluate(([email, password]) => (window as any).logIn(email, password), [alice.email, alice.password])
    assert.equal(user.id, alice.id)
    assert.equal(await page.locator('#status').textContent(), `logged in as ${alice.email}`)

    await created('/api/patients', bob, validPatient({ name: "Bob's patient" }))
    const patient = await created('/api/patients', alice, validPatient({ name: 'Live Patient', age: 37, disease: 'Asthma' }))

    // Events need the channels of src/channels.ts (realtime).
    await page.locator('#patients li').first().waitFor({ timeout: 10_000 })
    assert.deepEqual(await page.locator('#patients li').allTextContents(), ['Live Patient (37): Asthma'])
    assert.deepEqual(await page.evaluate(() => (window as any).receivedPatients), [patient])
    assertNoProblems(checked)
  })
})
