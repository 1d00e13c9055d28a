/**
 * A FHIR `date` search value: a UTC day (`2026-12-01`) or a date-time with its zone, to the second
 * or the millisecond (`2026-12-01T10:00:00Z`, `…T10:00:00.250+02:00`), standing for the whole
 * span it names, after an optional prefix `eq` (the default), `ge`, `gt`, `le` or `lt`.
 */

export type DatePrefix = 'eq' | 'ge' | 'gt' | 'le' | 'lt'

export interface DateValue {
  prefix: DatePrefix
  /** The span's first millisecond (epoch ms). */
  start: number
  /** The first millisecond after the span (epoch ms). */
  end: number
}

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{3}))?(Z|[+-]\d{2}:\d{2})$/
const PREFIX = /^(eq|ge|gt|le|lt)?(.*)$/s

const MS_PER_DAY = 86_400_000

/** Epoch ms of a UTC calendar day, or undefined when there is no such day (Feb 30). */
function utcDay(year: number, month: number, day: number): number | undefined {
  const date = new Date(0)
  date.setUTCFullYear(year, month - 1, day)
  const real = date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day
  return real ? date.getTime() : undefined
}

/** A zone `Z` or `±hh:mm` (at most 14 hours) in minutes east of UTC. */
function zoneMinutes(zone: string): number | undefined {
  if (zone === 'Z') return 0
  const hours = Number(zone.slice(1, 3))
  const minutes = Number(zone.slice(4, 6))
  const total = hours * 60 + minutes
  if (minutes > 59 || total > 14 * 60) return undefined
  return (zone.startsWith('-') ? -1 : 1) * total
}

function span(text: string): { start: number; end: number } | undefined {
  const day = DAY.exec(text)
  if (day) {
    const start = utcDay(Number(day[1]), Number(day[2]), Number(day[3]))
    return start === undefined ? undefined : { start, end: start + MS_PER_DAY }
  }
  const moment = DATE_TIME.exec(text)
  if (!moment) return undefined
  const [, year, month, date, hours, minutes, seconds, millis, zone] = moment
  const midnight = utcDay(Number(year), Number(month), Number(date))
  const offset = zoneMinutes(zone)
  if (midnight === undefined || offset === undefined) return undefined
  if (Number(hours) > 23 || Number(minutes) > 59 || Number(seconds) > 59) return undefined
  const start =
    midnight +
    ((Number(hours) * 60 + Number(minutes) - offset) * 60 + Number(seconds)) * 1000 +
    Number(millis ?? 0)
  return { start, end: start + (millis === undefined ? 1000 : 1) }
}

// A `+` left unencoded in a query string arrives as a space: `…T10:00:00 02:00` meant `+02:00`.
const UNENCODED_PLUS = /(?<=T\d{2}:\d{2}:\d{2}(?:\.\d{3})?) (?=\d{2}:\d{2}$)/

/** The prefix and span of a value, or undefined when it is not one this server reads. */
export function parseDateValue(value: string): DateValue | undefined {
  const [, prefix = 'eq', text] = PREFIX.exec(value.replace(UNENCODED_PLUS, '+'))!
  const named = span(text)
  return named && { prefix: prefix as DatePrefix, ...named }
}

/**
 * The span as bounds on an instant: at or after `from`, before `before` (epoch ms; either may be
 * absent). `gt` is after the whole span, `le` up to its end: `le…T10:00:00Z` takes in 10:00:00.999.
 */
export function boundsOf({ prefix, start, end }: DateValue): { from?: number; before?: number } {
  switch (prefix) {
    case 'eq':
      return { from: start, before: end }
    case 'ge':
      return { from: start }
    case 'gt':
      return { from: end }
    case 'le':
      return { before: end }
    case 'lt':
      return { before: start }
  }
}
