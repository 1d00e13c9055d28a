import assert from 'node:assert/strict'
import { once } from 'node:events'
import { readFile } from 'node:fs/promises'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Browser } from 'playwright-core'
import ts from 'typescript'
import { startServer } from '../../src/server'
import type { RunningServer } from '../../src/server'
import { testContext } from '../setup'
import { baseUrl, created, logIn, signUp, validPatient } from '../helpers'
import type { TestUser } from '../helpers'
import { assertNoProblems, checkedPage, HELMET_DEFAULT_CSP, launchChromium } from './browser'

const PAGE_DIR = path.join(__dirname, 'realtime-page')
const modulePath = (request: string) => require.resolve(request)

/** src/client/sessions.ts as an ES module without its types: what a bundler would make of it. */
async function sessionClientModule() {
  const source = await readFile(path.join(__dirname, '..', '..', 'src', 'client', 'sessions.ts'), 'utf8')
  return ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ES2020, target: ts.ScriptTarget.ES2020 }
  }).outputText
}

/** The page's files: a front end of its own, served by the test on another port. */
const PAGE_FILES: Record<string, () => Promise<string | Buffer>> = {
  'index.html': () => readFile(path.join(PAGE_DIR, 'index.html')),
  'app.js': () => readFile(path.join(PAGE_DIR, 'app.js')),
  'session-client.js': sessionClientModule,
  'socket.io.js': () => readFile(modulePath('socket.io-client/dist/socket.io.js')),
  'feathers.js': () => readFile(modulePath('@feathersjs/client/dist/feathers.js'))
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8'
}

/** Serves the page under helmet's default CSP, allowing connections to the API as well. */
async function servePage(api: string) {
  const { host } = new URL(api)
  const csp = HELMET_DEFAULT_CSP.replace(
    "default-src 'self'",
    `default-src 'self';connect-src 'self' ws://${host} ${api}`
  )
  const server = http.createServer(async (request, response) => {
    const name = path.basename(new URL(request.url ?? '/', 'http://page').pathname)
    const file = Object.hasOwn(PAGE_FILES, name) ? PAGE_FILES[name] : undefined
    if (!file) {
      response.writeHead(404).end()
      return
    }
    response.writeHead(200, {
      'content-type': CONTENT_TYPES[path.extname(name)],
      'content-security-policy': csp
    })
    response.end(await file())
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return { server, url: `http://127.0.0.1:${port}/index.html?api=${encodeURIComponent(api)}` }
}

describe('the Feathers browser client, in Chromium', () => {
  let browser: Browser
  let alice: TestUser
  let bob: TestUser
  let page: Awaited<ReturnType<typeof servePage>>

  before(async () => {
    page = await servePage(baseUrl())
    browser = await launchChromium()
    alice = await signUp('Alice')
    bob = await signUp('Bob')
  })

  after(async () => {
    await browser?.close()
    page?.server.close()
  })

  it('logs in over Socket.io and receives `patients created` for its own patients only', async () => {
    const checked = await checkedPage(browser)
    await checked.page.goto(page.url)
    const user = await checked.page.evaluate(
      ([email, password]) => (window as any).logIn(email, password),
      [alice.email, alice.password]
    )
    assert.equal(user.id, alice.id)
    assert.equal(await checked.page.locator('#status').textContent(), `logged in as ${alice.email}`)

    await created('/api/patients', bob, validPatient({ name: "Bob's patient" }))
    const patient = await created(
      '/api/patients',
      alice,
      validPatient({ name: 'Live Patient', age: 37, disease: 'Asthma' })
    )

    // Events need the channels of src/realtime/channels.ts (realtime).
    await checked.page.locator('#patients li').first().waitFor({ timeout: 10_000 })
    assert.deepEqual(await checked.page.locator('#patients li').allTextContents(), [
      'Live Patient (37): Asthma'
    ])
    assert.deepEqual(await checked.page.evaluate(() => (window as any).receivedPatients), [patient])
    assertNoProblems(checked)
  })

  it('stays logged in past the expiry of its access token (3 s here) and keeps receiving', async function () {
    this.timeout(60_000)
    const { settings } = testContext()
    const shortLived: RunningServer = await startServer({
      ...settings,
      port: 0,
      authentication: {
        ...settings.authentication,
        jwtOptions: { ...settings.authentication.jwtOptions, expiresIn: '3s' }
      }
    })
    const shortPage = await servePage(shortLived.url)
    try {
      const carol = await signUp('Carol', shortLived.url)
      const checked = await checkedPage(browser)
      await checked.page.goto(shortPage.url)
      await checked.page.evaluate(
        ([email, password]) => (window as any).logIn(email, password),
        [carol.email, carol.password]
      )
      const create = async (name: string) => {
        const { token } = await logIn(carol, shortLived.url)
        const reply = await fetch(`${shortLived.url}/api/patients`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify(validPatient({ name, age: 37, disease: 'Asthma' }))
        })
        assert.equal(reply.status, 201)
      }
      await create('Before Expiry')
      await checked.page.locator('#patients li').first().waitFor({ timeout: 10_000 })
      await sleep(7000) // two lifetimes of its access token
      await create('After Expiry')
      await checked.page.locator('#patients li').nth(1).waitFor({ timeout: 10_000 })
      assert.deepEqual(await checked.page.locator('#patients li').allTextContents(), [
        'Before Expiry (37): Asthma',
        'After Expiry (37): Asthma'
      ])
      assertNoProblems(checked)
    } finally {
      shortPage.server.close()
      await shortLived.stop()
    }
  })
})
