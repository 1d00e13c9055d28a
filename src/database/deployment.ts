import type { Knex } from 'knex'
import { deployment } from '../services/deployment-table'

/** The id of the deployment this database belongs to (src/services/deployment-table.ts). */
export async function deploymentId(db: Knex): Promise<string> {
  const row: { id: string } | undefined = await db(deployment.table).first('id')
  if (!row) {
    throw new Error('The database has no deployment id: run the migrations')
  }
  return row.id
}
