import assert from 'node:assert/strict'
import { boundsOf, parseDateValue } from '../src/fhir/dates'
import { pageLinks } from '../src/fhir/bundle'
import { isStrict, knownParameters, negotiate, pagingOf, parametersOf, routeOf } from '../src/fhir/request'

// The facade's pure parts, on their own: paths, negotiation, parameters, dates and links.
describe('FHIR request parsing', () => {
  it('routeOf: the interaction a path names, or none', () => {
    assert.deepEqual(routeOf('/fhir/metadata'), { interaction: 'metadata' })
    assert.deepEqual(routeOf('/fhir/Patient'), { interaction: 'search-type', type: 'Patient' })
    assert.deepEqual(routeOf('/fhir/Patient/'), { interaction: 'search-type', type: 'Patient' })
    assert.deepEqual(routeOf('/fhir/Patient/a%20b'), { interaction: 'read', type: 'Patient', id: 'a b' })
    assert.deepEqual(routeOf('/fhir/Patient/x/_history'), {
      interaction: 'history-instance',
      type: 'Patient',
      id: 'x'
    })
    assert.deepEqual(routeOf('/fhir/Patient/x/_history/3'), {
      interaction: 'vread',
      type: 'Patient',
      id: 'x',
      version: '3'
    })
    for (const path of [
      '/fhir',
      '/fhir/',
      '/fhir//x',
      '/fhir/Patient/x/history',
      '/fhir/P/x/_history/1/2',
      '/fhir/P/%E0'
    ]) {
      assert.equal(routeOf(path), undefined, path)
    }
  })

  it('negotiate: JSON by _format or Accept, else a 406', () => {
    for (const [accept, formats] of [
      [undefined, []],
      ['', []],
      ['*/*', ['json']],
      ['APPLICATION/FHIR+JSON', ['application/fhir json']],
      ['text/html;q=0.5, application/*;q=0.1', ['application/json']]
    ] as const) {
      assert.doesNotThrow(() => negotiate(accept, [...formats]), String(accept))
    }
    for (const [accept, formats] of [
      ['text/html', []],
      ['application/json;q=0', []],
      ['application/json;q=0.000', []],
      [undefined, ['xml']],
      ['*/*', ['json', 'turtle']]
    ] as const) {
      assert.throws(() => negotiate(accept, [...formats]), { code: 406 }, String(accept))
    }
  })

  it('isStrict: Prefer names handling=strict among its preferences', () => {
    assert.equal(isStrict('handling=strict'), true)
    assert.equal(isStrict('return=minimal, Handling = Strict'), true)
    assert.equal(isStrict('handling=lenient'), false)
    assert.equal(isStrict(undefined), false)
  })

  it('knownParameters and pagingOf: what is used, what is refused', () => {
    const known = { names: new Set(['a', 'date', '_count', '_offset']), repeatable: new Set(['date']) }
    const given = parametersOf('a=1&b=2&date=x&date=y&a2=&_count=')
    assert.deepEqual(knownParameters(given, known, false), [
      ['a', '1'],
      ['date', 'x'],
      ['date', 'y']
    ])
    assert.throws(
      () => knownParameters(given, known, true),
      /Unknown parameters \(Prefer: handling=strict\): b, a2/
    )
    assert.throws(() => knownParameters(parametersOf('a=1&a=2'), known, false), /a may be given only once/)
    assert.deepEqual(pagingOf(parametersOf('_count=250&_offset=7')), { count: 100, offset: 7 })
    assert.deepEqual(pagingOf(parametersOf('_count=99999999999999999999999')), { count: 100, offset: 0 })
    assert.deepEqual(pagingOf([]), { count: 10, offset: 0 })
    assert.throws(() => pagingOf(parametersOf('_count=-1')), { code: 400 })
  })

  it('parseDateValue and boundsOf: the span a value names, and the bounds of its prefix', () => {
    const day = parseDateValue('2026-02-28')!
    assert.deepEqual(day, {
      prefix: 'eq',
      start: Date.parse('2026-02-28T00:00:00Z'),
      end: Date.parse('2026-03-01T00:00:00Z')
    })
    const second = parseDateValue('le2026-12-01T10:00:00+01:00')!
    assert.deepEqual(boundsOf(second), { before: Date.parse('2026-12-01T09:00:01Z') })
    assert.deepEqual(parseDateValue('le2026-12-01T10:00:00 01:00'), second, 'a + sent unencoded')
    const milli = parseDateValue('gt2026-12-01T10:00:00.250Z')!
    assert.deepEqual(boundsOf(milli), { from: Date.parse('2026-12-01T10:00:00.251Z') })
    assert.deepEqual(boundsOf(parseDateValue('lt2024-02-29')!), {
      before: Date.parse('2024-02-29T00:00:00Z')
    })
    assert.deepEqual(boundsOf(parseDateValue('ge2024-02-29')!), { from: Date.parse('2024-02-29T00:00:00Z') })
    for (const value of [
      '2025-02-29',
      '2026-12-01T10:00:60Z',
      '2026-12-01T10:00:00+14:01',
      'ap2026-12-01',
      ''
    ]) {
      assert.equal(parseDateValue(value), undefined, value)
    }
  })

  it('pageLinks: self, next while matches follow, previous past the first page', () => {
    const given = parametersOf('name=a%20b&_count=2&_offset=2')
    assert.deepEqual(pageLinks('https://x/fhir/Patient', given, { count: 2, offset: 2 }, 5), [
      { relation: 'self', url: 'https://x/fhir/Patient?name=a%20b&_count=2&_offset=2' },
      { relation: 'next', url: 'https://x/fhir/Patient?name=a%20b&_count=2&_offset=4' },
      { relation: 'previous', url: 'https://x/fhir/Patient?name=a%20b&_count=2&_offset=0' }
    ])
    assert.deepEqual(pageLinks('https://x/fhir/Patient', [], { count: 0, offset: 0 }, 5), [
      { relation: 'self', url: 'https://x/fhir/Patient?_count=0&_offset=0' }
    ])
  })
})
