import assert from 'node:assert/strict'
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import path from 'node:path'

// The README is the front door and docs/ holds the rest: every relative link between them leads to
// a file and a heading that exist, the README stays short, and the shell examples use no variable
// that no example sets.

const ROOT = path.join(__dirname, '..')
const README = 'README.md'
const MAX_README_LINES = 300
const PAGES = [
  README,
  ...readdirSync(path.join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`)
]

const read = (page: string) => readFileSync(path.join(ROOT, page), 'utf8')

/** The page without its fenced code blocks and inline code, where brackets are not links. */
function prose(markdown: string) {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '')
}

/** A heading's anchor as GitHub makes it: the text, lower-cased, without punctuation, spaces as hyphens. */
function slug(heading: string) {
  // Code and emphasis marks go with the other punctuation; `_` stays, as in `REDIS_URL`.
  const text = heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .trim()
    .toLowerCase()
  return text.replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-')
}

function anchorsOf(page: string): Set<string> {
  const anchors = new Set<string>()
  const seen = new Map<string, number>()
  const withoutCode = read(page).replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '')
  for (const [, heading] of withoutCode.matchAll(/^#{1,6} +(.+?) *#*$/gm)) {
    const base = slug(heading)
    const count = seen.get(base) ?? 0
    seen.set(base, count + 1)
    anchors.add(count === 0 ? base : `${base}-${count}`)
  }
  return anchors
}

interface Link {
  page: string
  target: string
}

function relativeLinks(page: string): Link[] {
  return [...prose(read(page)).matchAll(/\]\(([^)\s]+)(?: "[^"]*")?\)/g)]
    .map(([, target]) => ({ page, target }))
    .filter(({ target }) => !/^[a-z][a-z+.-]*:/i.test(target))
}

function brokenLink({ page, target }: Link): string | undefined {
  const [file, anchor] = target.split('#', 2)
  const targetPage = file ? path.posix.normalize(path.posix.join(path.posix.dirname(page), file)) : page
  if (!existsSync(path.join(ROOT, targetPage))) return `${page}: ${target} (no such file)`
  if (anchor === undefined) return undefined
  if (statSync(path.join(ROOT, targetPage)).isDirectory() || !targetPage.endsWith('.md')) {
    return `${page}: ${target} (an anchor into something that is not a page)`
  }
  return anchorsOf(targetPage).has(anchor) ? undefined : `${page}: ${target} (no such heading)`
}

const shellBlocks = (page: string) =>
  [...read(page).matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map(([, block]) =>
    block
      .split('\n')
      .filter((line) => !line.trimStart().startsWith('#'))
      .join('\n')
  )

/** `$NAME` and `${NAME}` an example expands (not `\$NAME`, which the shell leaves to the URL). */
const usedVariables = (block: string) =>
  [...block.matchAll(/(?<!\\)\$\{?([A-Z_][A-Z0-9_]*)/g)].map(([, name]) => name)
const setVariables = (block: string) =>
  [...block.matchAll(/(?:^|[\s;(])([A-Z_][A-Z0-9_]*)=/gm)].map(([, name]) => name)

/** The URLs of a command line: the words (quoted or not) that hold `$API` or `://`. */
const urlsOf = (line: string) =>
  [...line.matchAll(/"[^"]*"|'[^']*'|[^\s"']+/g)]
    .map(([word]) => word)
    .filter((word) => /\$API|:\/\//.test(word))

describe('README and docs/', () => {
  it(`the README is a front door of at most ${MAX_README_LINES} lines, with the two commands`, () => {
    const readme = read(README)
    const lines = readme.split('\n').length - (readme.endsWith('\n') ? 1 : 0)
    assert.ok(lines <= MAX_README_LINES, `README.md has ${lines} lines`)
    assert.ok(readme.includes('npm install && npm start'))
    assert.ok(readme.includes('npm test'))
  })

  it('links every page of docs/ from the README', () => {
    const linked = new Set(relativeLinks(README).map(({ target }) => target.split('#')[0]))
    assert.deepEqual(
      PAGES.filter((page) => page !== README && !linked.has(page)),
      []
    )
  })

  it('every relative link leads to a file, and every anchor to a heading of its page', () => {
    const links = PAGES.flatMap(relativeLinks)
    assert.ok(links.length > 50, `only ${links.length} links found`)
    assert.deepEqual(links.map(brokenLink).filter(Boolean), [])
  })

  it('finds anchors as GitHub makes them', () => {
    assert.equal(slug('Several instances: `REDIS_URL`'), 'several-instances-redis_url')
    assert.equal(slug('A live subscription, from Node.js'), 'a-live-subscription-from-nodejs')
    assert.equal(slug('Demo data: `npm run seed`'), 'demo-data-npm-run-seed')
    assert.equal(
      slug('`/api/patients` (*token*; your own patients only)'),
      'apipatients-token-your-own-patients-only'
    )
  })

  it('every variable a shell example uses is set by an example, in the README and Getting started before it is used', () => {
    const setAnywhere = new Set(PAGES.flatMap(shellBlocks).flatMap(setVariables))
    const unset = PAGES.flatMap((page) =>
      shellBlocks(page)
        .flatMap(usedVariables)
        .filter((name) => !setAnywhere.has(name))
        .map((name) => `${page}: $${name}`)
    )
    assert.deepEqual([...new Set(unset)], [])

    for (const page of [README, 'docs/getting-started.md']) {
      const set = new Set<string>()
      const early: string[] = []
      for (const block of shellBlocks(page)) {
        for (const line of block.split('\n')) {
          early.push(
            ...usedVariables(line).filter((name) => !set.has(name) && !setVariables(line).includes(name))
          )
          setVariables(line).forEach((name) => set.add(name))
        }
      }
      assert.deepEqual(early, [], `${page} uses these before an example sets them`)
    }
  })

  it('a curl URL with brackets is given -g, without which curl reads them as a range', () => {
    const withoutG = PAGES.flatMap((page) =>
      shellBlocks(page)
        .join('\n')
        .replace(/\\\n\s*/g, ' ')
        .split('\n')
        .filter((line) => /\bcurl\b/.test(line) && urlsOf(line).some((url) => /[[\]]/.test(url)))
        .filter((line) => !/\s(-g|--globoff)\b/.test(line))
        .map((line) => `${page}: ${line}`)
    )
    assert.deepEqual(withoutG, [])
  })

  it('every file of the project it names in code (`src/…`, `test/…`, …) exists', () => {
    const named = PAGES.flatMap((page) =>
      [...read(page).matchAll(/`((?:src|test|bench|migrations|examples|scripts|config|docs)\/[^`\s]*)`/g)]
        .map(([, file]) => file.replace(/[:#].*$/, ''))
        .filter((file) => !/[<*…]/.test(file))
        .map((file) => ({ page, file }))
    )
    assert.ok(named.length > 30, `only ${named.length} paths found`)
    assert.deepEqual(
      named
        .filter(({ file }) => !existsSync(path.join(ROOT, file)))
        .map(({ page, file }) => `${page}: ${file}`),
      []
    )
  })

  it('names no path outside the project in its text or its shell commands', () => {
    const outside = PAGES.flatMap((page) =>
      // Code other than shell commands is left out: its imports are relative to its own file.
      [
        ...read(page)
          .replace(/^```(?!sh\n)[^\n]*\n[\s\S]*?^```$/gm, '')
          .matchAll(/(?<![\w.])\.\.\/[\w./-]+/g)
      ]
        .map(([match]) => match)
        .filter((match) => {
          const resolved = path.resolve(ROOT, path.dirname(page), match)
          return !resolved.startsWith(ROOT + path.sep)
        })
        .map((match) => `${page}: ${match}`)
    )
    assert.deepEqual(outside, [])
  })
})
