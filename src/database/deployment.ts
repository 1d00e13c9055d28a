import type { Knex } from 'knex'

/** The id of the deployment this database belongs to (migrations/…_deployment.ts). */
export async function deploymentId(db: Knex): Promise<string> {
  const row: { id: string } | undefined = await db('deployment').first('id')
  if (!row) {
    throw new Error('The database has no deployment id: run the migrations')
  }
  return row.id
}
