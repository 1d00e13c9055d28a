import assert from 'node:assert/strict'
import { MAX_VERSION, parseVersion } from '../../src/declarative/versions'
import { versionsOfIfMatch, versionsOfIfNoneMatch } from '../../src/hooks/if-match'

// Versions and ETags as text: what names a version, and what is a 400.

describe('unit: parseVersion', () => {
  const rows: Array<[string, unknown, number | undefined]> = [
    ['a digit', '3', 3],
    ['the first version', '1', 1],
    ['a number', 3, 3],
    ['the highest version', String(MAX_VERSION), MAX_VERSION],
    ['the highest version as a number', MAX_VERSION, MAX_VERSION],
    ['one past the highest version', String(MAX_VERSION + 1), undefined],
    ['ten nines', '9999999999', undefined],
    ['eleven digits', '12345678901', undefined],
    ['zero', '0', undefined],
    ['zero as a number', 0, undefined],
    ['a leading zero', '03', undefined],
    ['a negative number', '-1', undefined],
    ['a plus sign', '+1', undefined],
    ['a fraction', '1.5', undefined],
    ['a fraction as a number', 1.5, undefined],
    ['an exponent', '1e3', undefined],
    ['a huge number', 1e21, undefined],
    ['NaN', Number.NaN, undefined],
    ['Infinity', Number.POSITIVE_INFINITY, undefined],
    ['a space before', ' 1', undefined],
    ['a space after', '1 ', undefined],
    ['quotes', '"1"', undefined],
    ['full-width digits', '\uff11', undefined],
    ['the empty text', '', undefined],
    ['letters', 'abc', undefined],
    ['null', null, undefined],
    ['undefined', undefined, undefined],
    ['a boolean', true, undefined],
    ['a list', ['1'], undefined],
    ['an object', { version: 1 }, undefined]
  ]
  for (const [name, text, expected] of rows) {
    it(`${name} (${JSON.stringify(text) ?? 'undefined'}) is ${expected ?? 'no version'}`, () => {
      assert.equal(parseVersion(text), expected)
    })
  }
})

const IF_MATCH_ERROR = {
  name: 'BadRequest',
  message: 'If-Match must be "*" or the ETags of versions, such as "3"',
  data: { header: 'If-Match' }
}
const IF_NONE_MATCH_ERROR = {
  name: 'BadRequest',
  message: 'If-None-Match must be "*" or the ETags of versions, such as "3"',
  data: { header: 'If-None-Match' }
}

const tags = (count: number) => Array.from({ length: count }, (_, index) => `"${index + 1}"`).join(', ')
const versions = (count: number) => Array.from({ length: count }, (_, index) => index + 1)

/** Headers that name versions the same way in If-Match and If-None-Match. */
const COMMON_VALID: Array<[string, string, number[]]> = [
  ['one ETag', '"3"', [3]],
  ['two ETags', '"3", "4"', [3, 4]],
  ['two ETags without a space', '"3","4"', [3, 4]],
  ['spaces around the commas and the ends', '  "3" ,  "4" ', [3, 4]],
  ['the same ETag twice, named once', '"3", "3"', [3]],
  ['the highest version', `"${MAX_VERSION}"`, [MAX_VERSION]],
  ['20 ETags, the most a header may hold', tags(20), versions(20)]
]

/** Headers that name no version in either. */
const COMMON_INVALID: Array<[string, string]> = [
  ['a version without quotes', '3'],
  ['an empty ETag', '""'],
  ['an ETag that is no number', '"abc"'],
  ['version 0', '"0"'],
  ['past the highest version', `"${MAX_VERSION + 1}"`],
  ['a negative version', '"-1"'],
  ['a leading zero', '"03"'],
  ['a space inside the quotes', '" 3"'],
  ['an unclosed quote', '"3'],
  ['single quotes', "'3'"],
  ['an empty header', ''],
  ['only spaces', '   '],
  ['a trailing comma', '"3",'],
  ['an empty item', '"3",,"4"'],
  ['a star among ETags', '*, "3"'],
  ['two stars', '**'],
  ['21 ETags', tags(21)],
  ['a header over 400 characters', `"1",${' '.repeat(400)}"2"`],
  ['a weak ETag in lower case', 'w/"3"']
]

describe('unit: versionsOfIfMatch', () => {
  const rows: Array<[string, string, number[] | undefined]> = [
    ...COMMON_VALID,
    ['a star: any version, no condition', '*', undefined],
    ['a star with spaces', '  *  ', undefined]
  ]
  for (const [name, header, expected] of rows) {
    it(`${name}: ${JSON.stringify(expected ?? 'no condition')}`, () => {
      assert.deepEqual(versionsOfIfMatch(header), expected)
    })
  }
  const invalid: Array<[string, string]> = [
    ...COMMON_INVALID,
    // If-Match compares strongly: a weak ETag names no version of ours.
    ['a weak ETag', 'W/"3"']
  ]
  for (const [name, header] of invalid) {
    it(`${name} is a 400 naming the header`, () => {
      assert.throws(() => versionsOfIfMatch(header), IF_MATCH_ERROR)
    })
  }
})

describe('unit: versionsOfIfNoneMatch', () => {
  const rows: Array<[string, string, number[] | '*']> = [
    ...COMMON_VALID,
    ['a star: every version', '*', '*'],
    // If-None-Match compares weakly.
    ['a weak ETag', 'W/"3"', [3]],
    ['a weak and a strong ETag of one version', 'W/"3", "3"', [3]],
    ['weak ETags', 'W/"3", W/"5"', [3, 5]]
  ]
  for (const [name, header, expected] of rows) {
    it(`${name}: ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(versionsOfIfNoneMatch(header), expected)
    })
  }
  for (const [name, header] of COMMON_INVALID) {
    it(`${name} is a 400 naming the header`, () => {
      assert.throws(() => versionsOfIfNoneMatch(header), IF_NONE_MATCH_ERROR)
    })
  }
})
