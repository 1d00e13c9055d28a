// @ts-check
/**
 * `npm run build`: compiles src/ and migrations/ to lib/ (`tsc -p tsconfig.build.json`) and
 * records a hash of the sources it compiled in lib/.sources-hash.
 *
 * `node scripts/build.mjs --if-stale` (before `npm start` and `npm run migrate`): builds only when
 * lib/ was not built from the sources as they are now. Plain Node.js, no dependency: in a
 * production install (`npm ci --omit=dev`) it never compiles; it leaves lib/ as built, and says
 * so when the sources beside it have changed since.
 */
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const LIB = path.join(root, 'lib')
const HASH_FILE = path.join(LIB, '.sources-hash')
const ENTRY = path.join(LIB, 'src', 'index.js')
const SOURCE_DIRS = ['src', 'migrations']
const SOURCE_FILES = ['tsconfig.json', 'tsconfig.build.json']

/** Every file under `dir`, relative to the project, in a stable order. */
function filesUnder(dir) {
  const entries = fs.readdirSync(path.join(root, dir), { withFileTypes: true })
  return entries.flatMap((entry) => {
    const relative = path.posix.join(dir, entry.name)
    return entry.isDirectory() ? filesUnder(relative) : entry.isFile() ? [relative] : []
  })
}

/** A hash of the compiler's input (names and contents), or undefined where there are no sources. */
function sourcesHash() {
  const dirs = SOURCE_DIRS.filter((dir) => fs.existsSync(path.join(root, dir)))
  if (dirs.length === 0) return undefined
  const files = [
    ...dirs.flatMap(filesUnder),
    ...SOURCE_FILES.filter((file) => fs.existsSync(path.join(root, file)))
  ]
  const hash = createHash('sha256')
  for (const file of files.sort()) {
    hash
      .update(file)
      .update('\0')
      .update(fs.readFileSync(path.join(root, file)))
      .update('\0')
  }
  return hash.digest('hex')
}

/**
 * tsc, where the dev dependencies are installed (the build needs them all: TypeScript and the
 * type packages). A production install has no compiler to use, even though TypeScript itself is
 * there (a peer dependency of @feathersjs/schema).
 */
function findCompiler() {
  const { devDependencies = {} } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'))
  const installed = Object.keys(devDependencies).every((name) =>
    fs.existsSync(path.join(root, 'node_modules', name))
  )
  return installed ? path.join(root, 'node_modules', 'typescript', 'bin', 'tsc') : undefined
}

function build(compiler) {
  const hash = sourcesHash()
  fs.rmSync(LIB, { recursive: true, force: true })
  console.log('Building lib/ (tsc -p tsconfig.build.json)')
  const { status } = spawnSync(process.execPath, [compiler, '-p', 'tsconfig.build.json'], {
    cwd: root,
    stdio: 'inherit'
  })
  if (status !== 0) {
    console.error('The build failed: lib/ is incomplete')
    process.exit(status ?? 1)
  }
  if (hash) fs.writeFileSync(HASH_FILE, hash + '\n')
}

const ifStale = process.argv.includes('--if-stale')
const compiler = findCompiler()

if (!ifStale) {
  if (!compiler) {
    console.error(
      'The dev dependencies are not installed: run `npm install` (or `npm ci`) before `npm run build`'
    )
    process.exit(1)
  }
  build(compiler)
} else {
  const hash = sourcesHash()
  const built = fs.existsSync(HASH_FILE) ? fs.readFileSync(HASH_FILE, 'utf8').trim() : undefined
  const upToDate = fs.existsSync(ENTRY) && (hash === undefined || hash === built)
  if (!upToDate) {
    if (compiler) {
      build(compiler)
    } else if (fs.existsSync(ENTRY)) {
      console.warn(
        'lib/ was not built from the sources beside it, and without dev dependencies it is not rebuilt: using lib/ as built'
      )
    } else {
      console.error('lib/ is missing: build it with `npm run build` where the dev dependencies are installed')
      process.exit(1)
    }
  }
}
