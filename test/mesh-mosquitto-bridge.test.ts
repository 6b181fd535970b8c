/**
 * A site Mosquitto bridged into a node's embedded broker (docs/mesh.md, "Bridging a Mosquitto
 * into a node's embedded broker"). Topology: node A runs its embedded broker with a bridge
 * credential (`mqtt.broker.bridges`); Debian's mosquitto, started by the test on a free
 * loopback port, has a `connection` into A's broker; node B has no broker of its own and uses
 * that Mosquitto as its external broker. Every message between A and B crosses the bridge.
 *
 * What is asserted, and why:
 * - with the documented stanza (`notification_topic` under `latchkey/<site>/bridge/<name>/`)
 *   A and B converge and keep syncing live, and A never refused the bridge;
 * - a bridge with the wrong password is refused `bad-password` (counted in A's status, logged);
 * - with Mosquitto's default notification topic the bridge's state publish goes to `$SYS/…`,
 *   which the embedded broker refuses (`outside-prefix`, logged with the topic), closing the
 *   connection: this is the failure the documented setting avoids.
 */
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { writeRecord } from '../runtime/cli/ledger-client.ts'
import { initSite } from '../runtime/cli/site-init.ts'
import { type Config, loadConfigFile } from '../runtime/config/load.ts'
import { errors } from '../runtime/core/errors.ts'
import { type KeyPair, loadOrCreateKeyFile, readKeyFile } from '../runtime/core/keys.ts'
import { silentLogger, testKey } from '../runtime/core/ledger/testing/fixtures.ts'
import { LatchkeyNode } from '../runtime/node.ts'
import { BIN, freePorts, hasTool, runCli, type Spawned, spawnTracked, tmpDir } from './helpers/index.ts'
import { startMosquitto } from './helpers/mosquitto.ts'

const BRIDGE = 'site-mosquitto'
const PASSWORD_ENV = 'LATCHKEY_TEST_BRIDGE_PASSWORD'
const PASSWORD = 'bridge-secret-0123456789abcdef'

/** Ports for this file's nodes and brokers, drawn from one distinct set per test. */
let pool: number[] = []
async function freePort(): Promise<number> {
  if (pool.length === 0) pool = await freePorts(16)
  return pool.shift()!
}

interface Status {
  records: number
  stateHash: string
  site: { id: string } | null
  broker: { refused: Record<string, number> } | null
}

const status = async (c: Config): Promise<Status> =>
  (await (
    await fetch(`http://127.0.0.1:${c.http.port}/api/v1/status`, { signal: AbortSignal.timeout(2000) })
  ).json()) as Status

function writeConfig(dir: string, lines: string[]): { file: string; config: Config } {
  mkdirSync(dir, { recursive: true })
  const file = join(dir, 'node.yaml')
  writeFileSync(file, [...lines, 'log: { level: warn }', ''].join('\n'))
  return { file, config: loadConfigFile(file, { env: { [PASSWORD_ENV]: PASSWORD } }) }
}

/** Node A: the embedded broker with one bridge credential (its password from the environment). */
async function setupA(dir: string) {
  const broker = await freePort()
  const a = writeConfig(dir, [
    `node: { name: node-a, dataDir: var }`,
    `http: { port: ${await freePort()}, publicStatus: full }`, // records and state hash of each node
    'mqtt:',
    `  broker: { port: ${broker}, bridges: [{ name: ${BRIDGE}, passwordEnv: ${PASSWORD_ENV} }] }`,
  ])
  const site = await initSite({ config: a.config, log: silentLogger(), name: 'Bridge Space' })
  const admin = readKeyFile(join(a.config.node.dataDir, 'keys', 'admin.key'))
  return { ...a, broker, site: site.site, admin }
}

function startNode(file: string): Spawned {
  return spawnTracked(process.execPath, [BIN, 'run', '--config', file], {
    env: { [PASSWORD_ENV]: PASSWORD },
  })
}

/** Node A set up in a fresh directory, running and serving. */
async function servingA() {
  const root = tmpDir()
  const a = await setupA(join(root, 'a'))
  const nodeA = startNode(a.file)
  await waitServing(a.config)
  return { root, a, nodeA }
}

async function waitServing(c: Config): Promise<Status> {
  await expect.poll(() => status(c).catch(() => null), { timeout: 15_000, interval: 200 }).not.toBeNull()
  return status(c)
}

/** Starts mosquitto with a bridge `connection` into A's broker; `stanza` overrides the defaults. */
async function startBridgedMosquitto(
  dir: string,
  a: { broker: number; site: string },
  stanza: { port?: number; password?: string; notificationTopic?: string | null } = {},
): Promise<number> {
  const port = stanza.port ?? (await freePort())
  const notification =
    stanza.notificationTopic === null
      ? [] // Mosquitto's default: $SYS/broker/connection/<remote_clientid>/state
      : [`notification_topic ${stanza.notificationTopic ?? `latchkey/${a.site}/bridge/${BRIDGE}/state`}`]
  await startMosquitto(dir, port, [
    'log_dest stdout',
    `connection ${BRIDGE}`,
    `address 127.0.0.1:${a.broker}`,
    `remote_clientid ${BRIDGE}-a`,
    `remote_username ${BRIDGE}`,
    `remote_password ${stanza.password ?? PASSWORD}`,
    ...notification,
    `topic latchkey/${a.site}/# both 1`,
    'restart_timeout 1 3',
  ])
  return port
}

const member = (id: string) => ({
  id,
  name: `Member ${id}`,
  contact: null,
  status: 'active',
  expires: null,
  groups: [],
  staff: false,
})

async function put(c: Config, admin: KeyPair, id: string): Promise<void> {
  const written = await writeRecord(c, admin, 'membership.put', member(id))
  expect(written.rejection).toBeNull()
}

// Needs mosquitto: skipped only on a developer machine without it. In CI (CI=true) hasTool()
// throws when the tool is missing, so these tests always run there (.ci/run installs it).
describe.runIf(hasTool('mosquitto'))('a Mosquitto bridged into a node’s embedded broker', () => {
  it('relays sync both ways: A and B converge, then keep syncing live', async () => {
    const root = tmpDir()
    const a = await setupA(join(root, 'a'))
    const keyB = loadOrCreateKeyFile(join(root, 'b', 'var', 'keys', 'node.key')).pair
    // A second admin writes on B: one author appending on two nodes at once would fork.
    const adminB = testKey(42)
    const offline = { ...a.config, http: { ...a.config.http, port: 9 } }
    for (const [key, role] of [
      [keyB, 'device'],
      [adminB, 'admin'],
    ] as const) {
      const enrol = await writeRecord(offline, a.admin, 'site.enrol', {
        key: key.publicKey,
        role,
        name: role,
      })
      expect(enrol.rejection).toBeNull()
    }
    const mosquitto = await freePort()
    const b = writeConfig(join(root, 'b'), [
      `node: { name: node-b, dataDir: var }`,
      `http: { port: ${await freePort()}, publicStatus: full }`, // records and state hash of each node
      'mqtt:',
      '  broker: { enabled: false }',
      `  external: { url: "mqtt://127.0.0.1:${mosquitto}" }`,
    ])
    // B starts from the site's first records only; everything else reaches it over the bridge.
    for (const suffix of ['', '-wal']) {
      const from = join(a.config.node.dataDir, `ledger.db${suffix}`)
      if (existsSync(from)) copyFileSync(from, join(b.config.node.dataDir, `ledger.db${suffix}`))
    }
    const nodeA = startNode(a.file)
    const before = await waitServing(a.config)
    await startBridgedMosquitto(root, a, { port: mosquitto })
    // A appends while B is not running yet: B must catch up through the bridge.
    const n = 20
    for (let i = 0; i < n; i++) await put(a.config, a.admin, `a${i}`)
    startNode(b.file)
    await waitServing(b.config)
    // B appends too: its records must reach A through Mosquitto and the bridge.
    for (let i = 0; i < n; i++) await put(b.config, adminB, `b${i}`)
    const same = async () => {
      const [sa, sb] = await Promise.all([
        status(a.config).catch(() => null),
        status(b.config).catch(() => null),
      ])
      return sa && sb && sa.stateHash === sb.stateHash && sa.records === sb.records ? sa.records : -1
    }
    await expect.poll(same, { timeout: 30_000, interval: 250 }).toBe(before.records + 2 * n)
    // Live, both ways, after convergence.
    await put(b.config, adminB, 'late-b')
    await put(a.config, a.admin, 'late-a')
    await expect.poll(same, { timeout: 15_000, interval: 250 }).toBe(before.records + 2 * n + 2)
    // A refused nothing: the documented stanza keeps the bridge inside its topics, and no
    // message looped between the two brokers (a loop would run into the bridge's rate limit).
    const refused = (await status(a.config)).broker!.refused
    expect(Object.entries(refused).filter(([, count]) => count > 0)).toEqual([])
    expect(nodeA.stdout()).not.toContain('broker refused a client')
  }, 90_000)

  it('refuses a bridge with the wrong password, counted as bad-password', async () => {
    const { root, a, nodeA } = await servingA()
    await startBridgedMosquitto(root, a, { password: 'not-the-bridge-password' })
    await expect
      .poll(async () => (await status(a.config)).broker!.refused['bad-password'], { timeout: 20_000 })
      .toBeGreaterThan(0)
    const line = await nodeA.waitForLog((l) => l.reason === 'bad-password')
    expect(line).toMatchObject({ key: BRIDGE, client: `${BRIDGE}-a` })
    // Nothing the bridge could do got past the password: no other refusal was needed.
    expect((await status(a.config)).broker!.refused['outside-prefix']).toBe(0)
  }, 60_000)

  it('refuses the bridge state publish under $SYS when notification_topic is left at its default', async () => {
    const { root, a, nodeA } = await servingA()
    await startBridgedMosquitto(root, a, { notificationTopic: null })
    // The bridge authenticates (right password), then publishes its state to
    // $SYS/broker/connection/<client id>/state: refused, and the connection is closed.
    const line = await nodeA.waitForLog((l) => l.reason === 'outside-prefix', 20_000)
    expect(line).toMatchObject({ key: BRIDGE, client: `${BRIDGE}-a` })
    expect(String(line.topic)).toMatch(/^\$SYS\//)
    const refused = (await status(a.config)).broker!.refused
    expect(refused['outside-prefix']).toBeGreaterThan(0)
    expect(refused['bad-password']).toBe(0)
  }, 60_000)
})

describe('bridge credentials', () => {
  it('a node whose bridge password variable is unset refuses to start, naming the variable', async () => {
    const dir = tmpDir()
    const file = join(dir, 'node.yaml')
    writeFileSync(
      file,
      [
        'node: { dataDir: var }',
        'http: { port: 0 }',
        `mqtt: { broker: { port: 0, bridges: [{ name: ${BRIDGE}, passwordEnv: ${PASSWORD_ENV} }] } }`,
        '',
      ].join('\n'),
    )
    const run = await runCli(['run', '--config', file], { env: { [PASSWORD_ENV]: '' } })
    expect(run.code).toBe(2)
    expect(run.stderr).toContain(PASSWORD_ENV)
    expect(run.stderr).toContain(BRIDGE)
    // Loading the same file (as CLI commands do) works: only the node needs the secret, and
    // its start fails with the stable code.
    const config = loadConfigFile(file, { env: {} })
    expect(config.mqtt.broker.bridges[0]!.password).toBeNull()
    const node = new LatchkeyNode({ config, log: silentLogger() })
    await expect(node.ready()).rejects.toMatchObject({
      code: errors.CONFIG_ENV.code,
      details: { variable: PASSWORD_ENV },
    })
    await node.close()
  }, 30_000)
})
