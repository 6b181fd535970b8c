/**
 * Partition and merge with three real node processes on loopback, each with its own SQLite
 * file. B and C dial A's broker through fault-injecting TCP proxies the test controls. While B
 * is cut off, both sides write (including a concurrent grant and revoke of the same member's
 * certification); after healing every node reports the same state hash and record count within
 * 10 s, the revocation has won and nothing written on either side is missing. Then again with a
 * node SIGKILLed and restarted in the middle of its catch-up.
 */
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { writeRecord } from '../runtime/cli/ledger-client.ts'
import { initSite } from '../runtime/cli/site-init.ts'
import { type Config, loadConfigFile } from '../runtime/config/load.ts'
import { type KeyPair, loadOrCreateKeyFile, readKeyFile } from '../runtime/core/keys.ts'
import { silentLogger, testKey } from '../runtime/core/ledger/testing/fixtures.ts'
import { BIN, freePorts, spawnTracked, tmpDir } from './helpers/index.ts'
import { startProxy } from './helpers/proxy.ts'
import { signedFetch } from './helpers/signed.ts'

interface Status {
  records: number
  stateHash: string
  peers: Array<{ connected: boolean }>
}

/** Ports for this file's nodes and brokers, drawn from one distinct set per test. */
let pool: number[] = []
async function freePort(): Promise<number> {
  if (pool.length === 0) pool = await freePorts(16)
  return pool.shift()!
}

async function nodeConfig(
  dir: string,
  name: string,
  peers: string[],
): Promise<{ file: string; config: Config }> {
  const file = join(dir, 'node.yaml')
  const peerLines = peers.length ? `  peers: [${peers.map((p) => `"${p}"`).join(', ')}]` : '  peers: []'
  writeFileSync(
    file,
    [
      `node: { name: ${name}, dataDir: var }`,
      `http: { port: ${await freePort()}, publicStatus: full }`, // records and state hash of each node
      'mqtt:',
      `  broker: { port: ${await freePort()} }`,
      peerLines,
      'log: { level: warn }',
      '',
    ].join('\n'),
  )
  return { file, config: loadConfigFile(file, { env: {} }) }
}

async function status(c: Config): Promise<Status> {
  const res = await fetch(`http://127.0.0.1:${c.http.port}/api/v1/status`, {
    signal: AbortSignal.timeout(2000),
  })
  return (await res.json()) as Status
}

function start(file: string) {
  const p = spawnTracked(process.execPath, [BIN, 'run', '--config', file])
  return p
}

async function up(c: Config) {
  await expect
    .poll(
      () =>
        status(c).then(
          () => true,
          () => false,
        ),
      { timeout: 15_000 },
    )
    .toBe(true)
}

async function converged(nodes: Config[], timeout = 10_000) {
  await expect
    .poll(
      async () => {
        const all = await Promise.all(nodes.map((n) => status(n).catch(() => null)))
        return all.every((s) => s && s.stateHash === all[0]!.stateHash && s.records === all[0]!.records)
      },
      { timeout, interval: 200 },
    )
    .toBe(true)
  return status(nodes[0]!)
}

async function write(c: Config, key: KeyPair, type: string, body: unknown) {
  const w = await writeRecord(c, key, type, body)
  expect(w.via).toBe('node')
  expect(w.rejection, `${type} ${JSON.stringify(body)}`).toBeNull()
  return w.id
}

const member = (id: string) => ({
  id,
  name: id,
  contact: null,
  status: 'active',
  expires: null,
  groups: ['members'],
  staff: false,
})

async function site() {
  const root = tmpDir()
  const dirs = ['a', 'b', 'c'].map((n) => join(root, n))
  for (const d of dirs) mkdirSync(d, { recursive: true })
  const a = await nodeConfig(dirs[0]!, 'node-a', [])
  const proxyB = await startProxy({ host: '127.0.0.1', port: a.config.mqtt.broker.port })
  const proxyC = await startProxy({ host: '127.0.0.1', port: a.config.mqtt.broker.port })
  const b = await nodeConfig(dirs[1]!, 'node-b', [`mqtt://127.0.0.1:${proxyB.port}`])
  const c = await nodeConfig(dirs[2]!, 'node-c', [`mqtt://127.0.0.1:${proxyC.port}`])
  // The site on A: genesis, A enrolled; B and C enrolled by the admin; a second admin; a member
  // certified for the laser. B and C start from a copy of that ledger.
  await initSite({ config: a.config, log: silentLogger(), name: 'Mesh Space' })
  const admin = readKeyFile(join(a.config.node.dataDir, 'keys', 'admin.key'))
  const admin2 = testKey(42)
  const offline = { ...a.config, http: { ...a.config.http, port: 9 } }
  for (const n of [b, c]) {
    const key = loadOrCreateKeyFile(join(n.config.node.dataDir, 'keys', 'node.key')).pair
    expect(
      (
        await writeRecord(offline, admin, 'site.enrol', {
          key: key.publicKey,
          role: 'device',
          name: n.config.node.name,
        })
      ).rejection,
    ).toBeNull()
  }
  expect(
    (
      await writeRecord(offline, admin, 'site.enrol', {
        key: admin2.publicKey,
        role: 'admin',
        name: 'second admin',
      })
    ).rejection,
  ).toBeNull()
  expect((await writeRecord(offline, admin, 'membership.put', member('alice'))).rejection).toBeNull()
  expect(
    (await writeRecord(offline, admin, 'certifications.grant', { member: 'alice', tool: 'laser-1' }))
      .rejection,
  ).toBeNull()
  for (const n of [b, c]) {
    for (const suffix of ['', '-wal']) {
      const from = join(a.config.node.dataDir, `ledger.db${suffix}`)
      if (existsSync(from)) copyFileSync(from, join(n.config.node.dataDir, `ledger.db${suffix}`))
    }
  }
  return { a, b, c, proxyB, proxyC, admin, admin2 }
}

describe('mesh: partition and merge with three node processes', () => {
  it('both sides write while B is cut off; after healing all three converge within 10 s and the revocation wins', async () => {
    const { a, b, c, proxyB, admin, admin2 } = await site()
    for (const n of [a, b, c]) start(n.file)
    for (const n of [a, b, c]) await up(n.config)
    const before = await converged([a.config, b.config, c.config], 15_000)

    proxyB.cut()
    // A's side: revoke alice's laser certification, and new members; B's side: a concurrent
    // re-grant by the second admin (it has not seen the revocation), and new members.
    await write(a.config, admin, 'certifications.revoke', {
      member: 'alice',
      tool: 'laser-1',
      reason: 'unsafe use',
    })
    const sideA = ['a1', 'a2', 'a3']
    const sideB = ['b1', 'b2', 'b3', 'b4']
    for (const m of sideA) await write(a.config, admin, 'membership.put', member(m))
    await write(b.config, admin2, 'certifications.grant', { member: 'alice', tool: 'laser-1' })
    for (const m of sideB) await write(b.config, admin2, 'membership.put', member(m))
    // Cut off: B does not see A's side, C sees it.
    await converged([a.config, c.config])
    expect((await status(b.config)).records).toBe(before.records + 1 + sideB.length)

    proxyB.heal()
    const after = await converged([a.config, b.config, c.config], 10_000)
    expect(after.records).toBe(before.records + 1 + sideA.length + 1 + sideB.length)
    for (const n of [a, b, c]) {
      const certs = (await (
        await signedFetch(admin)(
          `http://127.0.0.1:${n.config.http.port}/api/v1/dapps/certifications/certs?member=alice`,
        )
      ).json()) as unknown
      expect(JSON.stringify(certs), n.config.node.name).not.toContain('laser-1')
      const members = (await (
        await signedFetch(admin)(`http://127.0.0.1:${n.config.http.port}/api/v1/dapps/membership/members`)
      ).json()) as unknown
      for (const m of [...sideA, ...sideB])
        expect(JSON.stringify(members), `${n.config.node.name} has ${m}`).toContain(`"${m}"`)
    }
  }, 90_000)

  it('a node SIGKILLed in the middle of its catch-up and restarted still converges within 10 s', async () => {
    const { a, b, c, proxyC, admin } = await site()
    const procs = new Map([a, b, c].map((n) => [n, start(n.file)]))
    for (const n of [a, b, c]) await up(n.config)
    await converged([a.config, b.config, c.config], 15_000)
    proxyC.cut()
    // A catch-up of several ingest turns (ingested in slices; the relayed transaction commits every
    // 2048 records or 200 ms, so a kill loses what it had not committed and C fetches it again).
    for (let i = 0; i < 600; i++) await write(a.config, admin, 'membership.put', member(`m${i}`))
    await converged([a.config, b.config])
    const target = (await status(a.config)).records
    const base = (await status(c.config)).records
    proxyC.heal()
    // Mid-sync: kill C as soon as its catch-up has started (after a long cut its link may still
    // be waiting out its reconnect backoff, up to 30 s, when the cut heals).
    await expect
      .poll(async () => (await status(c.config).catch(() => ({ records: base }))).records, {
        timeout: 40_000,
        interval: 2,
      })
      .toBeGreaterThan(base)
    procs.get(c)!.child.kill('SIGKILL')
    await procs.get(c)!.exited
    start(c.file)
    await up(c.config)
    const after = await converged([a.config, b.config, c.config], 10_000)
    expect(after.records).toBe(target)
  }, 90_000)
})
