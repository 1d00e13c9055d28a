import assert from 'node:assert/strict'
import { readFileSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { text } from '../../src/declarative/fields'
import { FAKE_PATH_PREFIX, defineResource } from '../../src/declarative/resource'
import { resources } from '../../src/services'

// Services that tests invent live under a prefix no declaration may take, so that adding a
// resource can never collide with a test's fake one.

const TEST_DIR = path.join(__dirname, '..')

function testSources(directory = TEST_DIR): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(directory, entry.name)
    if (entry.isDirectory()) return testSources(file)
    return entry.name.endsWith('.ts') ? [file] : []
  })
}

describe('unit: fake service paths', () => {
  it(`a declaration whose path starts with '${FAKE_PATH_PREFIX}' does not start, naming the rule`, () => {
    assert.throws(
      () =>
        defineResource({
          path: `${FAKE_PATH_PREFIX}appointments`,
          description: 'A resource that takes a test’s name',
          fields: { note: text(10) },
          owner: { field: 'userId' }
        }),
      {
        message: `The declaration of '${FAKE_PATH_PREFIX}appointments': paths starting with '${FAKE_PATH_PREFIX}' are kept for services that tests invent`
      }
    )
  })

  it('a path that only contains the prefix is a path like any other', () => {
    const resource = defineResource({
      path: `not-${FAKE_PATH_PREFIX}appointments`,
      description: 'x',
      fields: { note: text(10) },
      owner: { field: 'userId' }
    })
    assert.equal(resource.path, `not-${FAKE_PATH_PREFIX}appointments`)
  })

  it('no declared resource takes the prefix', () => {
    assert.deepEqual(
      resources.map(({ path }) => path).filter((servicePath) => servicePath.startsWith(FAKE_PATH_PREFIX)),
      []
    )
  })

  it(`every service a test registers with app.use() is named '${FAKE_PATH_PREFIX}…'`, () => {
    const registered = testSources().flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(/\.use\(\s*['"`]\/?([^'"`]+)['"`]/g)].map(
        ([, name]) => `${path.relative(TEST_DIR, file)}: ${name}`
      )
    )
    assert.ok(registered.length >= 5, `only ${registered.length} found: ${registered.join(', ')}`)
    assert.deepEqual(
      registered.filter((entry) => !entry.split(': ')[1].startsWith(FAKE_PATH_PREFIX)),
      []
    )
  })
})
