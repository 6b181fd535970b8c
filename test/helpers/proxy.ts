/**
 * A fault-injecting TCP proxy for mesh tests: listens on a loopback port and forwards to a
 * target. The test cuts it (existing connections are destroyed, new ones refused until healed),
 * heals it, or delays traffic. Closed when the test ends.
 */
import { connect, createServer, type Server, type Socket } from 'node:net'
import { onTestFinished } from 'vitest'

export interface FaultProxy {
  readonly port: number
  /** Partition: drop every connection and refuse new ones. */
  cut(): void
  heal(): void
  readonly connections: number
  close(): Promise<void>
}

export async function startProxy(target: { host: string; port: number }): Promise<FaultProxy> {
  let broken = false
  const sockets = new Set<Socket>()
  const server: Server = createServer((client) => {
    if (broken) {
      client.destroy()
      return
    }
    const upstream = connect(target.port, target.host)
    sockets.add(client)
    sockets.add(upstream)
    const drop = () => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    client.on('error', drop)
    upstream.on('error', drop)
    client.on('close', drop)
    upstream.on('close', drop)
    client.pipe(upstream)
    upstream.pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  const proxy: FaultProxy = {
    port,
    cut() {
      broken = true
      for (const s of sockets) s.destroy()
      sockets.clear()
    },
    heal() {
      broken = false
    },
    get connections() {
      return sockets.size / 2
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
  onTestFinished(() => proxy.close())
  return proxy
}
