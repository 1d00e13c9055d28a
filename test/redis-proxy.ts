import net from 'node:net'
import { once } from 'node:events'

/**
 * A TCP proxy in front of Redis that a test can break: `cut` closes every connection and refuses
 * new ones (Redis is gone), `freeze` keeps the connections but passes nothing (a silent network),
 * `restore` undoes either.
 */
export async function startRedisProxy(target: URL) {
  const pairs = new Set<[net.Socket, net.Socket]>()
  let refusing = false
  const server = net.createServer((client) => {
    if (refusing) {
      client.destroy()
      return
    }
    const upstream = net.connect(Number(target.port || 6379), target.hostname)
    const pair: [net.Socket, net.Socket] = [client, upstream]
    pairs.add(pair)
    const close = () => {
      pairs.delete(pair)
      client.destroy()
      upstream.destroy()
    }
    client.on('error', close).on('close', close)
    upstream.on('error', close).on('close', close)
    client.pipe(upstream)
    upstream.pipe(client)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as net.AddressInfo
  return {
    url: `redis://127.0.0.1:${port}`,
    cut() {
      refusing = true
      pairs.forEach(([client, upstream]) => (client.destroy(), upstream.destroy()))
    },
    freeze() {
      pairs.forEach((pair) => pair.forEach((socket) => socket.pause()))
    },
    restore() {
      refusing = false
      pairs.forEach((pair) => pair.forEach((socket) => socket.resume()))
    },
    async close() {
      this.cut()
      await new Promise((resolve) => server.close(resolve))
    }
  }
}
