import type { HookContext, NextFunction } from '../declarations'

type Row = Record<string, any>

export interface Relation {
  /** The service that holds the related records. */
  service: string
  /** The field of this record that holds the related record's id. */
  foreignKey: string
}

function recordsOf(result: unknown): Row[] {
  if (Array.isArray(result)) return result
  if (result && typeof result === 'object') {
    const page = result as { data?: unknown }
    return Array.isArray(page.data) ? page.data : [result as Row]
  }
  return []
}

async function attach(context: HookContext, records: Row[], property: string, { service, foreignKey }: Relation) {
  const ids = [...new Set(records.map((record) => record[foreignKey]).filter((id) => id !== undefined && id !== null))]
  const related: Row[] = ids.length
    ? await (context.app.service(service as any) as any)._find({ query: { id: { $in: ids }, $limit: ids.length }, paginate: false })
    : []
  const byId = new Map(related.map((record) => [record.id, record]))
  for (const record of records) {
    record[property] = byId.get(record[foreignKey]) ?? null
  }
}

/**
 * Adds related records to every result (single, array or page) with one query per relation,
 * however many records there are.
 */
export const includeRelated = (relations: Record<string, Relation>) => async (context: HookContext, next: NextFunction) => {
  await next()
  const records = recordsOf(context.result)
  if (records.length > 0) {
    await Promise.all(Object.entries(relations).map(([property, relation]) => attach(context, records, property, relation)))
  }
}
