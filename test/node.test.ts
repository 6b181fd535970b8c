import { readdirSync } from 'node:fs'
import { Writable } from 'node:stream'
import mqtt from 'mqtt'
import { describe, expect, it } from 'vitest'
import { initSite } from '../runtime/cli/site-init.ts'
import { defaultConfig } from '../runtime/config/load.ts'
import { generateSeed, type KeyPair, keyPairFromSeed } from '../runtime/core/keys.ts'
import { createLogger } from '../runtime/core/log.ts'
import { allowedCpus } from '../runtime/core/placement.ts'
import { makeToken } from '../runtime/mesh/auth.ts'
import { LatchkeyNode } from '../runtime/node.ts'
import { BIN, hasTool, spawnTracked, tmpDir } from './helpers/index.ts'
import { nodeKey, signedFetch } from './helpers/signed.ts'

function collectingLogger() {
  const lines: Array<Record<string, unknown>> = []
  const destination = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l))
      done()
    },
  })
  return { log: createLogger({ level: 'debug', destination }), lines }
}

function testNode() {
  const env = { LATCHKEY_DATA_DIR: tmpDir(), LATCHKEY_HTTP_PORT: '0', LATCHKEY_MQTT_PORT: '0' }
  const { log, lines } = collectingLogger()
  const node = new LatchkeyNode({ config: defaultConfig({ env }), log })
  return { node, lines }
}

describe('node lifecycle', () => {
  it('serves the minimal status to anyone, liveness at /healthz, and nothing else unsigned', async () => {
    const { node } = testNode()
    await node.ready()
    try {
      const { port } = node.http!.address!
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/status`)
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toMatch(/application\/json/)
      expect(await res.json()).toEqual({
        node: { name: 'latchkey' },
        site: null,
        version: '0.1.0',
        ready: true,
      })
      expect(await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()).toEqual({ ok: true })
      expect(node.status()).toMatchObject({ node: { name: 'latchkey', key: node.key!.id }, records: 0 })
      expect(typeof node.status().uptimeS).toBe('number')
      const missing = await fetch(`http://127.0.0.1:${port}/api/v1/nope`)
      expect(missing.status).toBe(401)
      expect(((await missing.json()) as { error: { code: string } }).error.code).toBe(
        'LK_HTTP_UNAUTHENTICATED',
      )
    } finally {
      await node.close()
    }
  })

  it('reports the site, record count and state hash once the site exists', async () => {
    const env = { LATCHKEY_DATA_DIR: tmpDir(), LATCHKEY_HTTP_PORT: '0', LATCHKEY_MQTT_PORT: '0' }
    const config = defaultConfig({ env })
    const site = await initSite({ config, log: collectingLogger().log, name: 'Status Space' })
    const node = new LatchkeyNode({ config, log: collectingLogger().log })
    await node.ready()
    try {
      const body = (await (
        await signedFetch(nodeKey(node.dataDir))(`http://127.0.0.1:${node.http!.address!.port}/api/v1/status`)
      ).json()) as {
        site: { id: string; name: string }
        records: number
        stateHash: string
      }
      expect(body.site).toEqual({ id: site.site, name: 'Status Space' })
      expect(body.records).toBe(2)
      expect(body.stateHash).toBe(node.ledger!.stateHash)
      expect(body.stateHash).toMatch(/^[0-9a-f]{64}$/)
    } finally {
      await node.close()
    }
  })

  it('the embedded broker refuses a client that does not authenticate as an enrolled key', async () => {
    const { node, lines } = testNode()
    await node.ready()
    try {
      const { port } = node.broker!.address!
      const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 3000 })
      const err = await new Promise<Error>((resolve) => client.once('error', resolve))
      client.end(true)
      expect(err.message).toMatch(/Not authorized/i)
      expect(node.status().broker?.refused.unauthenticated).toBe(1)
      expect(lines.some((l) => l.component === 'broker' && l.reason === 'unauthenticated')).toBe(true)
    } finally {
      await node.close()
    }
  })

  it('closes components in reverse start order, and close() twice is harmless', async () => {
    const { node, lines } = testNode()
    await node.ready()
    await node.close()
    await node.close()
    const closed = lines.filter((l) => l.msg === 'closed').map((l) => l.component)
    expect(closed).toEqual(['http', 'local', 'sync', 'broker', 'dapps', 'ledger', 'hardware'])
  })

  it('a port already in use is a catalogued error and leaves nothing running', async () => {
    const first = testNode()
    await first.node.ready()
    try {
      const env = {
        LATCHKEY_DATA_DIR: tmpDir(),
        LATCHKEY_HTTP_PORT: String(first.node.http!.address!.port),
        LATCHKEY_MQTT_PORT: '0',
      }
      const second = new LatchkeyNode({ config: defaultConfig({ env }), log: collectingLogger().log })
      await expect(second.ready()).rejects.toMatchObject({ code: 'LK_LISTEN_FAILED' })
      await second.close()
      expect(second.broker!.closed).toBe(true)
    } finally {
      await first.node.close()
    }
  })
})

/**
 * Once ready, a node on Linux with two or more cores keeps its helper threads off its highest
 * core, and the event loop thread keeps every core (runtime/core/placement.ts); elsewhere it logs why
 * not. Read from the running process's /proc entries.
 */
function expectPlacement(pid: number, stdout: string) {
  const cpus = allowedCpus()!
  const logs = stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l))
  if (process.platform !== 'linux' || cpus.length < 2 || !hasTool('taskset')) {
    expect(logs.some((l) => l.msg === 'helper threads share every core with the event loop')).toBe(true)
    return
  }
  const line = logs.find((l) => l.msg === 'helper threads keep off the event loop core')
  expect(line).toMatchObject({ eventLoopCpu: Math.max(...cpus) })
  const helpers = cpus.filter((c) => c !== line.eventLoopCpu)
  const tids = readdirSync(`/proc/${pid}/task`)
  expect(tids.length).toBeGreaterThan(4)
  for (const tid of tids) {
    const mask = allowedCpus(`/proc/${pid}/task/${tid}/status`)
    if (mask) expect(mask).toEqual(tid === String(pid) ? cpus : helpers) // null: the thread ended
  }
}

describe('quick start as a real process', () => {
  const env = () => ({ LATCHKEY_DATA_DIR: tmpDir(), LATCHKEY_HTTP_PORT: '0', LATCHKEY_MQTT_PORT: '0' })
  const isHttpUp = (l: Record<string, unknown>) => l.msg === 'HTTP API listening'

  it('`npm start` serves status and Ctrl-C (SIGINT to the process group) stops it within 2 s, exit 0', async () => {
    const p = spawnTracked('npm', ['start', '--silent'], { env: env() })
    const up = await p.waitForLog(isHttpUp)
    const { port } = up.address as { port: number }
    const body = await (await fetch(`http://127.0.0.1:${port}/api/v1/status`)).json()
    expect(body).toHaveProperty('node')
    expect(body).toHaveProperty('ready') // false until every component has started
    // The what-to-do-next hint goes to stderr right after start-up (a separate pipe: poll for it).
    await expect.poll(() => p.stderr(), { timeout: 5000 }).toContain('/api/v1/status')
    const t0 = performance.now()
    process.kill(-p.child.pid!, 'SIGINT')
    const { code } = await p.exited
    const wall = performance.now() - t0
    expect(code).toBe(0)
    // The node's own stop, from its log timestamps: signal received → every component closed.
    const logs = p
      .stdout()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg: string; time: string })
    const stopping = Date.parse(logs.find((l) => l.msg === 'stopping')!.time)
    const stopped = Date.parse(logs.find((l) => l.msg === 'node stopped')!.time)
    expect(stopped - stopping).toBeLessThan(2000)
    // npm's own exit on top of it: 2 s on a quiet machine; bounded loosely for a loaded CI box.
    expect(wall).toBeLessThan(5000)
  })

  it('SIGTERM (systemd stop) closes every component and exits 0', async () => {
    const p = spawnTracked(process.execPath, [BIN, 'run'], { env: { ...env(), LATCHKEY_LOG_LEVEL: 'debug' } })
    await p.waitForLog(isHttpUp)
    await p.waitForLog((l) => l.msg === 'node ready')
    expectPlacement(p.child.pid!, p.stdout())
    p.child.kill('SIGTERM')
    const { code } = await p.exited
    expect(code).toBe(0)
    const closed = p
      .stdout()
      .split('\n')
      .filter((l) => l.includes('"msg":"closed"'))
      .map((l) => JSON.parse(l).component)
    expect(closed).toEqual(['http', 'local', 'sync', 'broker', 'dapps', 'ledger', 'hardware'])
  })

  it('a second node on the same data directory is refused while the first runs', async () => {
    const shared = env()
    const first = spawnTracked(process.execPath, [BIN, 'run'], { env: shared })
    await first.waitForLog(isHttpUp)
    const second = spawnTracked(process.execPath, [BIN, 'run'], { env: shared })
    const { code } = await second.exited
    expect(code).toBe(1)
    expect(second.stderr()).toMatch(/another latchkey node \(pid \d+\) is using it/)
  })
})

describe('node broker authentication', () => {
  it("accepts this site's enrolled node key with a fresh signed token, and refuses a key it does not know", async () => {
    const env = { LATCHKEY_DATA_DIR: tmpDir(), LATCHKEY_HTTP_PORT: '0', LATCHKEY_MQTT_PORT: '0' }
    const config = defaultConfig({ env })
    await initSite({ config, log: collectingLogger().log, name: 'Broker Space' })
    const node = new LatchkeyNode({ config, log: collectingLogger().log })
    await node.ready()
    try {
      const { port } = node.broker!.address!
      const connect = (key: KeyPair) =>
        new Promise<string>((resolve) => {
          const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
            username: key.id,
            password: makeToken(key, node.ledger!.site!, Date.now()),
            clientId: key.id,
            reconnectPeriod: 0,
            connectTimeout: 3000,
          })
          client.once('connect', () => {
            client.end(true)
            resolve('connected')
          })
          client.once('error', (err) => {
            client.end(true)
            resolve(err.message)
          })
        })
      expect(await connect(node.key!)).toBe('connected')
      expect(await connect(keyPairFromSeed(generateSeed()))).toMatch(/Not authorized/i)
      expect(node.status().broker?.refused['not-enrolled']).toBe(1)
    } finally {
      await node.close()
    }
  })
})
