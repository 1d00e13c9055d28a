import type { Given, Paging } from './request'

/** A FHIR resource as the facade sends it. */
export type FhirResource = { resourceType: string; id?: string } & Record<string, unknown>

interface Link {
  relation: 'self' | 'next' | 'previous'
  url: string
}

/**
 * `self`, `next` while matches follow and `previous` past the first page: `url` with the
 * parameters applied (as given, in order) and always `_count` and `_offset`.
 */
export function pageLinks(url: string, given: Given, { count, offset }: Paging, total: number): Link[] {
  const applied = given.filter(([name]) => name !== '_count' && name !== '_offset')
  const at = (from: number) => {
    const query = new URLSearchParams([
      ...applied.map(([name, value]) => [name, value]),
      ['_count', String(count)],
      ['_offset', String(from)]
    ])
    // URLSearchParams writes a space as `+`; `%20` reads the same everywhere.
    return `${url}?${query.toString().replace(/\+/g, '%20')}`
  }
  const links: Link[] = [{ relation: 'self', url: at(offset) }]
  if (count > 0 && offset + count < total) links.push({ relation: 'next', url: at(offset + count) })
  if (offset > 0) links.push({ relation: 'previous', url: at(Math.max(0, offset - count)) })
  return links
}

/** Only what there is: an empty list is left out (FHIR's JSON has no `[]`). */
const entriesOf = (entries: object[]) => (entries.length > 0 ? { entry: entries } : {})

/** `GET <base>/<Type>?…`: a searchset of the page's matches, in the service's order. */
export function searchset(
  base: string,
  type: string,
  resources: FhirResource[],
  total: number,
  links: Link[]
) {
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    total,
    link: links,
    ...entriesOf(
      resources.map((resource) => ({
        fullUrl: `${base}/${type}/${resource.id}`,
        resource,
        search: { mode: 'match' }
      }))
    )
  }
}

/** A version of a record as a history bundle's entry takes it. */
export interface HistoryVersion {
  version: number
  action: 'create' | 'update' | 'patch' | 'remove'
  at: string
  /** The resource as the version left the record; none for a remove. */
  resource?: FhirResource
}

const METHODS = { create: 'POST', update: 'PUT', patch: 'PATCH', remove: 'DELETE' } as const

/** `GET <base>/<Type>/<id>/_history`: the record's versions, newest first. */
export function historyBundle(
  base: string,
  type: string,
  id: string,
  versions: HistoryVersion[],
  total: number,
  links: Link[]
) {
  return {
    resourceType: 'Bundle',
    type: 'history',
    total,
    link: links,
    ...entriesOf(
      versions.map(({ version, action, at, resource }) => {
        const fullUrl = `${base}/${type}/${id}`
        const request = { method: METHODS[action], url: action === 'create' ? type : `${type}/${id}` }
        const response = {
          status: action === 'create' ? '201' : '200',
          etag: `W/"${version}"`,
          lastModified: at
        }
        return resource ? { fullUrl, resource, request, response } : { fullUrl, request, response }
      })
    )
  }
}
