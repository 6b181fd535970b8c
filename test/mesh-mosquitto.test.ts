/**
 * External broker interop: two nodes use Debian's mosquitto (started by the test on a free
 * loopback port) instead of their embedded brokers, and converge the same way. The signed
 * summaries and records carry their own authentication, so a plain broker is enough to relay
 * them; sites that run one restrict it to loopback/LAN and their own clients.
 */
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { writeRecord } from '../runtime/cli/ledger-client.ts'
import { initSite } from '../runtime/cli/site-init.ts'
import { type Config, loadConfigFile } from '../runtime/config/load.ts'
import { loadOrCreateKeyFile, readKeyFile } from '../runtime/core/keys.ts'
import { silentLogger } from '../runtime/core/ledger/testing/fixtures.ts'
import { BIN, freePorts, hasTool, spawnTracked, tmpDir } from './helpers/index.ts'
import { startMosquitto } from './helpers/mosquitto.ts'

/** Ports for this file's nodes and brokers, drawn from one distinct set per test. */
let pool: number[] = []
async function freePort(): Promise<number> {
  if (pool.length === 0) pool = await freePorts(16)
  return pool.shift()!
}

async function mosquitto(dir: string): Promise<number> {
  const port = await freePort()
  await startMosquitto(dir, port)
  return port
}

async function nodeConfig(
  dir: string,
  name: string,
  broker: number,
): Promise<{ file: string; config: Config }> {
  mkdirSync(dir, { recursive: true })
  const file = join(dir, 'node.yaml')
  writeFileSync(
    file,
    [
      `node: { name: ${name}, dataDir: var }`,
      `http: { port: ${await freePort()}, publicStatus: full }`, // records and state hash of each node
      'mqtt:',
      '  broker: { enabled: false }',
      `  external: { url: "mqtt://127.0.0.1:${broker}" }`,
      'log: { level: warn }',
      '',
    ].join('\n'),
  )
  return { file, config: loadConfigFile(file, { env: {} }) }
}

const status = async (c: Config) =>
  (await (
    await fetch(`http://127.0.0.1:${c.http.port}/api/v1/status`, { signal: AbortSignal.timeout(2000) })
  ).json()) as {
    records: number
    stateHash: string
  }

// Needs mosquitto: skipped only on a developer machine without it. In CI (CI=true) hasTool()
// throws when the tool is missing, so these tests always run there (.ci/run installs it).
describe.runIf(hasTool('mosquitto'))('mesh through an external mosquitto broker', () => {
  it('two nodes converge through mosquitto, then keep syncing live', async () => {
    const root = tmpDir()
    const port = await mosquitto(root)
    const a = await nodeConfig(join(root, 'a'), 'node-a', port)
    const b = await nodeConfig(join(root, 'b'), 'node-b', port)
    await initSite({ config: a.config, log: silentLogger(), name: 'Mosquitto Space' })
    const admin = readKeyFile(join(a.config.node.dataDir, 'keys', 'admin.key'))
    const keyB = loadOrCreateKeyFile(join(b.config.node.dataDir, 'keys', 'node.key')).pair
    const offline = { ...a.config, http: { ...a.config.http, port: 9 } }
    expect(
      (
        await writeRecord(offline, admin, 'site.enrol', {
          key: keyB.publicKey,
          role: 'device',
          name: 'node-b',
        })
      ).rejection,
    ).toBeNull()
    for (const suffix of ['', '-wal']) {
      const from = join(a.config.node.dataDir, `ledger.db${suffix}`)
      if (existsSync(from)) copyFileSync(from, join(b.config.node.dataDir, `ledger.db${suffix}`))
    }
    // A writes 50 members before B exists on the broker: B must catch up, not only follow live.
    for (let i = 0; i < 50; i++) {
      const m = {
        id: `m${i}`,
        name: `M ${i}`,
        contact: null,
        status: 'active',
        expires: null,
        groups: [],
        staff: false,
      }
      expect((await writeRecord(offline, admin, 'membership.put', m)).rejection).toBeNull()
    }
    spawnTracked(process.execPath, [BIN, 'run', '--config', a.file])
    spawnTracked(process.execPath, [BIN, 'run', '--config', b.file])
    const same = async () => {
      const [sa, sb] = await Promise.all([
        status(a.config).catch(() => null),
        status(b.config).catch(() => null),
      ])
      return sa && sb && sa.stateHash === sb.stateHash && sa.records === sb.records ? sa.records : -1
    }
    await expect.poll(same, { timeout: 15_000, interval: 200 }).toBe(53)
    // Live: a record written on B reaches A.
    const m = {
      id: 'late',
      name: 'Late',
      contact: null,
      status: 'active',
      expires: null,
      groups: [],
      staff: false,
    }
    const live = { ...b.config }
    expect((await writeRecord(live, admin, 'membership.put', m)).via).toBe('node')
    await expect.poll(same, { timeout: 10_000, interval: 200 }).toBe(54)
  }, 60_000)
})
