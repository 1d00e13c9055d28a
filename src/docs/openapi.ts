import { getServiceOptions } from '@feathersjs/feathers'
import swagger from 'feathers-swagger'
import type { Application, HookContext, NextFunction } from '../declarations'
import type { ApiRoute } from '../http/api-aliases'
import { apiAliasPaths } from './alias-paths'
import type { Paths } from './alias-paths'
import { operationGenerators } from './operations'
import { errorResponses, errorSchema } from './schemas'
import { toOpenApiSchema } from './service-docs'

export const OPENAPI_PATH = '/openapi.json'
export const DOCS_PATH = '/docs'

/**
 * The paths feathers-swagger answers whatever the method (the document, the UI's redirect and its
 * script): GET and HEAD only (src/http/methods.ts). The UI's files are koa-static's, GET and HEAD.
 */
export const DOCS_PAGES = [OPENAPI_PATH, DOCS_PATH, `${DOCS_PATH}/swagger-initializer.js`] as const

// Served as a file (never inline), so the page works under a `script-src 'self'` policy.
const SWAGGER_UI_INITIALIZER = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: ${JSON.stringify(OPENAPI_PATH)},
    dom_id: '#swagger-ui',
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: 'StandaloneLayout'
  })
})
`

// The version of the API's contract, not of the package.
const API_VERSION = '1.0.0'

const specs = () => ({
  openapi: '3.1.0',
  info: {
    title: 'Healthcare API',
    version: API_VERSION,
    description:
      'Clinicians register, log in, keep their patients, share a directory of doctors and assign doctors to their patients. ' +
      'The `/api/...` routes are the REST interface; the same services are at their Feathers paths (`/patients`, …) ' +
      'for REST and Socket.io clients. Authorize with the `accessToken` from `POST /api/auth/login`.'
  },
  components: {
    securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
    schemas: { Error: toOpenApiSchema(errorSchema) },
    responses: errorResponses()
  },
  security: [{ bearerAuth: [] }]
})

/** The paths of the services and, listed first, the `/api/...` routes that stand for them. */
export const withApiAliases = (paths: Paths, routes: ApiRoute[]): Paths => ({
  ...apiAliasPaths(paths, routes),
  ...paths
})

/** Once every service is registered: the `/api/...` routes, listed first. */
const documentApiAliases =
  (app: Application, routes: ApiRoute[]) => async (_context: HookContext, next: NextFunction) => {
    const document = (app as Application & { docs: { paths: Paths } }).docs
    document.paths = withApiAliases(document.paths, routes)
    await next()
  }

/**
 * `GET /openapi.json`, the OpenAPI document made from the `docs` option of each service
 * registration (see serviceDocs), and `GET /docs`, Swagger UI from the swagger-ui-dist package.
 * Configure it before the services: it documents each one as it is registered.
 */
export const openApi = (routes: ApiRoute[]) => (app: Application) => {
  app.configure(
    swagger({
      specs: specs(),
      docsJsonPath: OPENAPI_PATH,
      // The document is kept as `app.docs`: the /api routes and the /fhir ones (src/fhir/openapi.ts) are added there.
      appProperty: 'docs',
      idType: 'string',
      // Only services that declare their docs (a service without schemas would document nothing).
      ignore: { filter: (service) => !getServiceOptions(service)?.docs },
      ui: swagger.swaggerUI({
        docsPath: DOCS_PATH,
        getSwaggerInitializerScript: () => SWAGGER_UI_INITIALIZER
      }),
      defaults: { operationGenerators }
    })
  )
  app.hooks({ setup: [documentApiAliases(app, routes)] })
}
