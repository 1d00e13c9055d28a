import type { ApplicationConfiguration } from '../configuration'
import { startEmbeddedPostgres } from './embedded-postgres'

export interface DatabaseServer {
  connectionString: string
  /** 'external' for DATABASE_URL, 'embedded' for the cluster this process started. */
  kind: 'external' | 'embedded'
  stop(): Promise<void>
}

/** The database named by DATABASE_URL, or else an embedded cluster started for this process. */
export async function startDatabase(settings: ApplicationConfiguration['database']): Promise<DatabaseServer> {
  if (settings.url) {
    return { connectionString: settings.url, kind: 'external', stop: async () => {} }
  }
  const embedded = await startEmbeddedPostgres(settings.embedded)
  return { connectionString: embedded.connectionString, kind: 'embedded', stop: embedded.stop }
}
