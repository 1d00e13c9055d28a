import assert from 'node:assert/strict'
import type { Browser } from 'playwright-core'
import { baseUrl, created, signUp, validPatient } from '../helpers'
import type { TestUser } from '../helpers'
import { assertNoProblems, checkedPage, launchChromium } from './browser'

describe('Swagger UI at /docs, in Chromium', () => {
  let browser: Browser
  let alice: TestUser
  let patient: { id: string; name: string }

  before(async () => {
    browser = await launchChromium()
    alice = await signUp('Alice')
    patient = await created('/api/patients', alice, validPatient({ name: `Docs Patient ${Date.now()}` }))
  })

  after(async () => {
    await browser?.close()
  })

  it('lists the patients operations, authorizes with a token and runs GET /api/patients', async () => {
    const checked = await checkedPage(browser, baseUrl())
    const { page } = checked
    const response = await page.goto(`${baseUrl()}/docs`)
    assert.equal(new URL(page.url()).pathname, '/docs/')
    assert.match(response?.headers()['content-security-policy'] ?? '', /script-src 'self'(;|$)/)

    const patients = page.locator('#operations-tag-patients')
    await patients.waitFor()
    const findPatients = page.locator('.opblock-get', {
      has: page.locator('.opblock-summary-path[data-path="/api/patients"]')
    })
    await findPatients.waitFor()
    const patientPaths = await page
      .locator('.opblock-summary-path')
      .evaluateAll((spans) =>
        spans.map((span) => span.getAttribute('data-path')).filter((path) => path?.includes('patients'))
      )
    assert.deepEqual([...new Set(patientPaths)].sort(), [
      '/api/patients',
      '/api/patients/{id}',
      '/api/patients/{id}/history',
      '/api/patients/{id}/history/{version}',
      '/patients',
      '/patients/{id}',
      '/patients/{id}/history',
      '/patients/{id}/history/{version}'
    ])

    await page.locator('.auth-wrapper .authorize').click()
    await page.locator('.auth-container input').fill(alice.token)
    await page.locator('.auth-btn-wrapper .authorize').click()
    await page.locator('.auth-btn-wrapper .btn-done').click()

    const sent = page.waitForRequest((request) => new URL(request.url()).pathname === '/api/patients')
    await findPatients.locator('.opblock-summary').first().click()
    await findPatients.locator('.try-out__btn').click()
    await findPatients.locator('.execute').click()
    assert.equal((await sent).headers().authorization, `Bearer ${alice.token}`)

    const status = findPatients.locator('.live-responses-table .response .response-col_status')
    await status.waitFor()
    assert.equal((await status.textContent())?.trim(), '200')
    const body = JSON.parse(
      (await findPatients
        .locator('.live-responses-table .response .response-col_description pre')
        .first()
        .textContent()) ?? ''
    )
    assert.equal(body.total, 1)
    assert.deepEqual(
      body.data.map((record: { id: string }) => record.id),
      [patient.id]
    )
    assertNoProblems(checked)
  })
})
