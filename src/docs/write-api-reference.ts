/**
 * `npm run docs:api`: writes docs/api.md from the OpenAPI document of the app (api-reference.ts
 * renders it); test/api-reference.test.ts fails when the page is not current. A command, so the one
 * file of src/docs/ that builds the app.
 */
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { createApp } from '../app'
import { loadConfiguration } from '../configuration'
import { createKnex } from '../database/knex'
import { apiRoutesOf } from '../http/api-aliases'
import { resources } from '../services'
import { apiReferenceOf } from './api-reference'
import type { OpenApiDocument } from './api-reference'
import { withApiAliases } from './openapi'
import type { Paths } from './alias-paths'

export const API_REFERENCE_PATH = path.join(__dirname, '..', '..', 'docs', 'api.md')

/**
 * The document of an app built with the settings of `config/` (Redis aside) on a database it never
 * connects to: the services document themselves as they are registered, and the `/api` routes are
 * added as when the app is set up.
 */
export async function openApiDocumentOfApp(): Promise<OpenApiDocument> {
  const { redisUrl: _notNeeded, ...settings } = await loadConfiguration()
  const db = createKnex('postgres://api-reference@127.0.0.1:1/none', settings.database)
  try {
    const { docs } = createApp(settings, db, 'api-reference') as unknown as { docs: OpenApiDocument }
    return {
      ...docs,
      paths: withApiAliases(docs.paths as Paths, apiRoutesOf(resources)) as OpenApiDocument['paths']
    }
  } finally {
    await db.destroy()
  }
}

if (require.main === module) {
  openApiDocumentOfApp().then(
    (document) => {
      writeFileSync(API_REFERENCE_PATH, apiReferenceOf(document))
      console.log(`Wrote ${path.relative(process.cwd(), API_REFERENCE_PATH)}`)
    },
    (error) => {
      console.error(error)
      process.exitCode = 1
    }
  )
}
