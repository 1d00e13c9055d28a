import { resources } from '../src/services'
import { contractTests } from './contract'
import { testContext } from './setup'

// Every declared resource of the app keeps the contract, from its declaration alone.
const target = () => ({ url: testContext().server.url, db: testContext().server.app.get('postgresqlClient') })

describe('declared resources keep the contract', () => {
  for (const resource of resources) {
    contractTests(resource, target)
  }
})
