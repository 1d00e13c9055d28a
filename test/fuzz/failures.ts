// Failures, collected and deduplicated: one report per class of cases, grouped by answer.
import assert from 'node:assert/strict'
import { SEED, TRACE } from './generator'

export interface Failure {
  kind: string
  where: string
  status: string
  excerpt: string
  count: number
}

export const excerptOf = (text: string, around?: number) => {
  const start = around === undefined ? 0 : Math.max(0, around - 60)
  const flat = text.replace(/\s+/g, ' ')
  return (start > 0 ? '…' : '') + flat.slice(start, start + 160) + (flat.length > start + 160 ? '…' : '')
}

/** UUIDs and long runs folded, so one hole found through many ids is one line. */
export const shapeOf = (where: string) =>
  where
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, ':uuid')
    .replace(/(.)\1{15,}/g, '$1…')
    .slice(0, 140)

/** How many places a report lists under one answer (FUZZ_TRACE=1 prints them all). */
export const PLACES_PER_ANSWER = TRACE ? Infinity : 12

export class Failures {
  private byKey = new Map<string, Failure>()
  checked = 0

  add(kind: string, where: string, status: string, excerpt: string) {
    const key = `${kind}|${shapeOf(where)}|${status}`
    const known = this.byKey.get(key)
    if (known) {
      known.count++
    } else {
      this.byKey.set(key, { kind, where: shapeOf(where), status, excerpt, count: 1 })
    }
  }

  get list() {
    return [...this.byKey.values()].sort(
      (a, b) => a.kind.localeCompare(b.kind) || a.where.localeCompare(b.where)
    )
  }

  /** One paragraph per kind, status and answer; under it every place that gave that answer. */
  report(what: string) {
    const groups = new Map<string, Failure[]>()
    for (const failure of this.list) {
      const key = `[${failure.kind}] ${failure.status ? `${failure.status}: ` : ''}${failure.excerpt}`
      groups.set(key, [...(groups.get(key) ?? []), failure])
    }
    const paragraphs = [...groups].map(([key, failures]) => {
      const places = failures
        .slice(0, PLACES_PER_ANSWER)
        .map(({ where, count }) => `      ${where}${count > 1 ? ` (×${count})` : ''}`)
      const more =
        failures.length > PLACES_PER_ANSWER ? [`      … and ${failures.length - PLACES_PER_ANSWER} more`] : []
      return `  ${key}\n${[...places, ...more].join('\n')}`
    })
    return `FUZZ_SEED=${SEED}: ${this.byKey.size} distinct failures in ${this.checked} ${what}\n${paragraphs.join('\n')}`
  }

  assertNone(what: string) {
    assert.ok(this.byKey.size === 0, this.report(what))
  }
}
