import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import net from 'node:net'

const BINARY = existsSync('/usr/bin/redis-server') ? '/usr/bin/redis-server' : 'redis-server'
const START_TIMEOUT_MS = 10_000

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as net.AddressInfo
  server.close()
  await once(server, 'close')
  return port
}

/** Starts redis-server on `port`, in memory only; resolves once it accepts connections. */
async function spawnRedis(port: number): Promise<ChildProcess> {
  const child = spawn(
    BINARY,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
    { stdio: ['ignore', 'pipe', 'pipe'] }
  )
  let output = ''
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`redis-server did not start: ${output}`)),
      START_TIMEOUT_MS
    )
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.once('error', (error) => (clearTimeout(timer), reject(error)))
    child.once(
      'exit',
      (code) => (clearTimeout(timer), reject(new Error(`redis-server exited (${code}): ${output}`)))
    )
  })
  child.stdout!.resume()
  child.stderr!.resume()
  return child
}

/**
 * A redis-server of the test's own on a free port, never the shared one: `kill` ends it at once
 * (SIGKILL, as a crash), `restart` starts a new, empty one on the same port.
 */
export async function startRedisServer() {
  const port = await freePort()
  let child: ChildProcess | undefined = await spawnRedis(port)
  const kill = async () => {
    if (!child || child.exitCode !== null) return
    const exited = once(child, 'exit')
    child.kill('SIGKILL')
    await exited
    child = undefined
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    kill,
    async restart() {
      await kill()
      child = await spawnRedis(port)
    },
    stop: kill
  }
}
