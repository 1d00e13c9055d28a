import assert from 'node:assert/strict'
import { chromium } from 'playwright-core'
import type { Browser, Page } from 'playwright-core'

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run'
]

/**
 * helmet's default Content-Security-Policy. Pages are checked under it: the server's own policy
 * when it sends one (with koa-helmet), this one when it does not.
 */
export const HELMET_DEFAULT_CSP = [
  "default-src 'self'",
  "base-uri 'self'",
  "font-src 'self' https: data:",
  "form-action 'self'",
  "frame-ancestors 'self'",
  "img-src 'self' data:",
  "object-src 'none'",
  "script-src 'self'",
  "script-src-attr 'none'",
  "style-src 'self' https: 'unsafe-inline'",
  'upgrade-insecure-requests'
].join(';')

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
}

export interface CheckedPage {
  page: Page
  /** CSP violations and uncaught page errors seen so far. */
  problems: string[]
}

/**
 * A page that records every CSP violation and uncaught error, so a test can assert there were
 * none. With `withCspFrom`, responses from that origin carry a CSP: the server's, or helmet's
 * default when it sends none. (Intercepted responses have no network address, so Chromium's
 * local network checks would block a WebSocket from such a page: pages that open one are served
 * by a real server instead.)
 */
export async function checkedPage(browser: Browser, withCspFrom?: string): Promise<CheckedPage> {
  const context = await browser.newContext()
  const page = await context.newPage()
  const problems: string[] = []
  if (withCspFrom) {
    await page.route(`${withCspFrom}/**`, async (route) => {
      const response = await route.fetch({ maxRedirects: 0 })
      const headers = response.headers()
      headers['content-security-policy'] ??= HELMET_DEFAULT_CSP
      await route.fulfill({ response, headers })
    })
  }
  await page.exposeFunction('reportProblem', (problem: string) => problems.push(problem))
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      ;(window as any).reportProblem(`CSP violation: ${event.violatedDirective} ${event.blockedURI}`)
    })
  })
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`)
  })
  return { page, problems }
}

export function assertNoProblems({ problems }: CheckedPage) {
  assert.deepEqual(problems, [])
}
