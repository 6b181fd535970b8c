/**
 * The bad-input harness: one running node (a site, an admin key, an enrolled device key, one
 * member), and the ways a hostile input reaches it or its files: the CLI in-process (`main()`
 * with a collecting Io), HTTP, MQTT to the embedded broker, and files on disk. Every way
 * returns an `Outcome`: the stable code that was observed, with the exit code or HTTP status.
 */

import { createHash, randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import mqtt from 'mqtt'
import type { Io } from '../../runtime/cli/io.ts'
import { writeRecord } from '../../runtime/cli/ledger-client.ts'
import { buildProgram, main } from '../../runtime/cli/main.ts'
import { initSite } from '../../runtime/cli/site-init.ts'
import { type Config, defaultConfig } from '../../runtime/config/load.ts'
import { isLatchkeyError } from '../../runtime/core/errors.ts'
import { generateSeed, type KeyPair, keyPairFromSeed, readKeyFile } from '../../runtime/core/keys.ts'
import { toHex } from '../../runtime/core/ledger/record.ts'
import { createLogger } from '../../runtime/core/log.ts'
import { dappsFor } from '../../runtime/dapp-list.ts'
import { signRequest as signHttpRequest } from '../../runtime/http/signature.ts'
import { makeToken } from '../../runtime/mesh/auth.ts'
import type { NodeStatus } from '../../runtime/node.ts'
import { LatchkeyNode } from '../../runtime/node.ts'

/** What a bad input got back: a stable code, and the exit code (CLI) or status (HTTP). */
export interface Outcome {
  code: string
  exit?: number
  status?: number
  /** The reason a refused record carries (`error.reason`), when there is one. */
  reason?: string
  /** The catalogued error's `details.code` (e.g. a credential's CRED_* code). */
  detail?: string
}

export const quiet = () =>
  createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, d) => d() }) })

export interface Shared {
  node: LatchkeyNode
  config: Config
  dir: string
  /** Scratch folder for the cases' files (removed with the node). */
  scratch: string
  base: string
  siteHex: string
  admin: KeyPair
  /** A device key enrolled on the site (a peer that may connect to the broker). */
  device: KeyPair
  /** Environment a CLI command runs with: this node's data directory and HTTP port. */
  env: NodeJS.ProcessEnv
  /** Files whose bytes a case promised not to change (path → SHA-256 when guarded). */
  guarded: Map<string, string>
  close(): Promise<void>
}

/** Starts the shared node: a site, an enrolled device key, one member (`alice`). */
export async function startShared(): Promise<Shared> {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-bad-input-'))
  const scratch = join(dir, 'scratch')
  mkdirSync(scratch)
  const dataDir = join(dir, 'data')
  const config = defaultConfig({
    env: { LATCHKEY_DATA_DIR: dataDir, LATCHKEY_HTTP_PORT: '0', LATCHKEY_MQTT_PORT: '0' },
  })
  const site = await initSite({ config, log: quiet(), name: 'Bad Input Space' })
  const node = new LatchkeyNode({ config, log: quiet(), dapps: dappsFor(config) })
  await node.ready()
  const port = node.http!.address!.port
  const live = { ...config, http: { ...config.http, port } }
  const admin = readKeyFile(join(dataDir, 'keys', 'admin.key'))
  const device = keyPairFromSeed(generateSeed())
  const enrolled = await writeRecord(live, admin, 'site.enrol', {
    key: device.publicKey,
    role: 'device',
    name: 'peer',
  })
  if (enrolled.rejection) throw new Error(`setup: enrolment rejected: ${enrolled.rejection.code}`)
  const member = await writeRecord(live, admin, 'membership.put', {
    id: 'alice',
    name: 'Alice',
    contact: null,
    status: 'active',
    expires: null,
    groups: [],
    staff: false,
  })
  if (member.rejection) throw new Error(`setup: member rejected: ${member.rejection.code}`)
  return {
    node,
    config: live,
    dir,
    scratch,
    base: `http://127.0.0.1:${port}`,
    siteHex: site.site,
    admin,
    device,
    env: { LATCHKEY_DATA_DIR: dataDir, LATCHKEY_HTTP_PORT: String(port) },
    guarded: new Map(),
    async close() {
      await node.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** The node's answer to `GET /api/v1/status`: the proof that it still serves. */
export async function status(s: Shared): Promise<NodeStatus> {
  // Signed: with the auth branch merged, an unsigned caller gets the minimal public status.
  const { url, init } = await request(s, '/api/v1/status', { signed: true })
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(3000) })
  if (res.status !== 200) throw new Error(`status answered ${res.status}`)
  return (await res.json()) as NodeStatus
}

// ── files ────────────────────────────────────────────────────────────────────────────────

/** Writes a scratch file (mode 0600 unless given) and guards its bytes: a refusal must not change them. */
export function file(s: Shared, name: string, content: string | Uint8Array, mode = 0o600): string {
  const path = join(s.scratch, name)
  writeFileSync(path, content, { mode })
  chmodSync(path, mode)
  guard(s, path)
  return path
}

/** A data directory holding `ledger` as its ledger file (and nothing else), guarded. */
export function dataDirWith(s: Shared, name: string, ledger: string | Uint8Array): string {
  const dir = join(s.scratch, name)
  mkdirSync(dir, { mode: 0o700 })
  const path = join(dir, 'ledger.db')
  writeFileSync(path, ledger, { mode: 0o600 })
  guard(s, path)
  return dir
}

export function guard(s: Shared, path: string): void {
  s.guarded.set(path, sha256(path))
}

export function sha256(path: string): string {
  return existsSync(path) ? createHash('sha256').update(readFileSync(path)).digest('hex') : 'missing'
}

/** The shared node's ledger file, as bytes (for truncated and tampered copies). */
export function ledgerBytes(s: Shared): Buffer {
  return readFileSync(join(s.env.LATCHKEY_DATA_DIR!, 'ledger.db'))
}

export const garbage = (n: number, seed = 7) => {
  // Deterministic bytes that are not a file format: a run of an LCG.
  const out = new Uint8Array(n)
  let x = seed
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff
    out[i] = x >> 16
  }
  return out
}

// ── a second node ────────────────────────────────────────────────────────────────────────

/**
 * Starts a second node in-process on a data directory that `prepare` fills (ports 0 unless
 * `env` says otherwise): what `latchkey run` does after loading its config. A node that must
 * refuse to start answers with its catalogued error; one that starts is closed at once.
 */
export async function startNode(
  s: Shared,
  name: string,
  prepare: (dataDir: string) => void,
  env: NodeJS.ProcessEnv = {},
): Promise<Outcome> {
  const dataDir = join(s.scratch, name)
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  prepare(dataDir)
  const config = defaultConfig({
    env: { LATCHKEY_DATA_DIR: dataDir, LATCHKEY_HTTP_PORT: '0', LATCHKEY_MQTT_PORT: '0', ...env },
  })
  const node = new LatchkeyNode({
    config: { ...config, node: { ...config.node, isolateEventLoop: false } },
    log: quiet(),
    dapps: dappsFor(config),
  })
  try {
    await node.ready()
    return { code: 'the node started' }
  } catch (err) {
    if (!isLatchkeyError(err)) throw err
    return { code: err.code, exit: err.exit }
  } finally {
    await node.close().catch(() => {})
  }
}

// ── CLI ──────────────────────────────────────────────────────────────────────────────────

export interface CliResult extends Outcome {
  stderr: string
  stdout: string
}

/**
 * Runs `latchkey …argv` in-process twice: once through `main()` (the exit code and stderr an
 * operator sees), once through the same program to catch the error itself and read its code
 * (main() prints the sentence, not the code). A bad input never writes, so running it twice
 * is harmless; a case that did write fails on the state check anyway.
 */
export async function cli(s: Shared, argv: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  let stdout = ''
  let stderr = ''
  const io: Io = {
    out: (t) => {
      stdout += t
    },
    err: (t) => {
      stderr += t
    },
    env: { ...s.env, ...env },
    cwd: s.scratch,
  }
  const exit = await main(argv, io)
  let code = 'ok'
  let detail: string | undefined
  const again: Io = { out: () => {}, err: () => {}, env: io.env, cwd: io.cwd }
  try {
    await buildProgram(again).parseAsync([...argv], { from: 'user' })
  } catch (err) {
    if (isLatchkeyError(err)) {
      code = err.code
      if (typeof err.details.code === 'string') detail = err.details.code
    } else code = (err as { code?: string }).code ?? String(err)
  }
  return { code, exit, stdout, stderr, ...(detail ? { detail } : {}) }
}

// ── HTTP ─────────────────────────────────────────────────────────────────────────────────

/** What signs a request: the shape of the auth branch's `SignRequestInput` (runtime/http/signature.ts). */
export interface SignInput {
  method: string
  /** The absolute URL. */
  url: string
  /** The exact body bytes sent. */
  body?: Uint8Array | string
  key: KeyPair
  /** The site id, 64 hex digits. */
  site: string
  /** Milliseconds since the epoch. */
  now: number
}

/** The headers that sign a request (HTTP Message Signatures, docs/PROTOCOL.md). */
export function signRequest(input: SignInput): Promise<Record<string, string>> {
  return signHttpRequest(input)
}

export interface HttpRequest {
  method?: string
  /** A JSON body (serialised here), or raw text/bytes sent as they are. */
  json?: unknown
  raw?: string | Uint8Array
  contentType?: string
  /** Sign the request: as the admin (true), or as the key given. */
  signed?: true | ((s: Shared) => KeyPair)
  /** Signing: the site named (default this node's) and the signer's clock (default now). */
  site?: string
  signedAt?: number
  /** Send this body instead of the one signed (a body altered on the way). */
  sendBody?: Uint8Array | string
  /** Extra headers, sent as they are. */
  headers?: Record<string, string>
}

/** The request `http()` sends: URL, method, headers (signed when asked) and body. */
export async function request(s: Shared, path: string, req: HttpRequest = {}) {
  const method = req.method ?? (req.json !== undefined || req.raw !== undefined ? 'POST' : 'GET')
  const body =
    req.json !== undefined
      ? new TextEncoder().encode(JSON.stringify(req.json))
      : typeof req.raw === 'string'
        ? new TextEncoder().encode(req.raw)
        : req.raw
  const headers: Record<string, string> = {}
  const contentType = req.contentType ?? (req.json !== undefined ? 'application/json' : undefined)
  if (contentType) headers['content-type'] = contentType
  const url = `${s.base}${path}`
  if (req.signed) {
    const key = req.signed === true ? s.admin : req.signed(s)
    const site = req.site ?? s.siteHex
    const now = req.signedAt ?? Date.now()
    Object.assign(headers, await signRequest({ method, url, key, site, now, ...(body ? { body } : {}) }))
  }
  Object.assign(headers, req.headers)
  const sent = req.sendBody ?? body
  return { url, init: { method, headers, ...(sent !== undefined ? { body: sent } : {}) } }
}

/** The answer as an outcome: `error.code` (or `ok`), the status, and `error.reason`. */
async function outcome(res: Response): Promise<Outcome> {
  const text = await res.text()
  let doc: { error?: { code?: string; reason?: string } } = {}
  try {
    doc = JSON.parse(text)
  } catch {
    return { code: `not JSON: ${text.slice(0, 60)}`, status: res.status }
  }
  const e = doc.error
  return {
    code: e?.code ?? 'ok',
    status: res.status,
    ...(e?.reason !== undefined ? { reason: e.reason } : {}),
  }
}

export async function http(s: Shared, path: string, req: HttpRequest = {}): Promise<Outcome> {
  const { url, init } = await request(s, path, req)
  return outcome(await fetch(url, { ...init, signal: AbortSignal.timeout(5000) }))
}

/** The same signed request sent twice: the answer to the second. */
export async function replayed(s: Shared, path: string, req: HttpRequest): Promise<Outcome> {
  const { url, init } = await request(s, path, req)
  await (await fetch(url, { ...init, signal: AbortSignal.timeout(5000) })).arrayBuffer()
  return outcome(await fetch(url, { ...init, signal: AbortSignal.timeout(5000) }))
}

// ── MQTT ─────────────────────────────────────────────────────────────────────────────────

export interface MqttCreds {
  username?: string
  password?: string
  clientId?: string
}

/** A fresh token for `key` on this site, issued at `at` (default: now). */
export function token(s: Shared, key: KeyPair, at = Date.now(), site?: Uint8Array): string {
  return makeToken(key, site ?? Buffer.from(s.siteHex, 'hex'), at)
}

export const creds = (s: Shared, key: KeyPair, extra: MqttCreds = {}): MqttCreds => ({
  username: key.id,
  password: token(s, key),
  clientId: key.id,
  ...extra,
})

/** Connects to the node's broker; resolves with the client, or null once it was refused. */
export function connect(s: Shared, c: MqttCreds): Promise<mqtt.MqttClient | null> {
  const { port } = s.node.broker!.address!
  const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
    reconnectPeriod: 0,
    connectTimeout: 3000,
    protocolVersion: 4,
    ...c,
  })
  return new Promise((resolve) => {
    client.once('connect', () => resolve(client))
    client.once('error', () => {
      client.end(true)
      resolve(null)
    })
    client.once('close', () => resolve(null))
  })
}

export const end = (client: mqtt.MqttClient | null) =>
  new Promise<void>((resolve) => (client ? client.end(true, {}, () => resolve()) : resolve()))

type Counters = Record<string, number>

/** Which counters went up between two readings (`prefix.name`), sorted. */
function risen(prefix: string, before: Counters, after: Counters): string[] {
  return Object.keys(after)
    .filter((k) => (after[k] ?? 0) > (before[k] ?? 0))
    .map((k) => `${prefix}.${k}`)
    .sort()
}

/**
 * Runs `act` and returns the refusal counters of the broker (`broker.<reason>`) and the sync
 * engine (`sync.<counter>`) that rose: the stable code of what the node made of the input.
 * Waits (bounded) for a counter to move: a publish is handled after its PUBACK.
 */
export async function refusalOf(s: Shared, act: () => Promise<void>): Promise<Outcome> {
  const read = () => {
    const st = s.node.status()
    return { broker: { ...st.broker!.refused } as Counters, sync: sync(st) }
  }
  const before = read()
  await act()
  const deadline = Date.now() + 3000
  for (;;) {
    const after = read()
    const codes = [...risen('broker', before.broker, after.broker), ...risen('sync', before.sync, after.sync)]
    if (codes.length > 0 || Date.now() > deadline) return { code: codes.join(' ') || 'nothing refused' }
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** The sync counters that count refusals (not traffic). */
const REFUSAL_COUNTERS = [
  'badPayload',
  'oversize',
  'badSummary',
  'notEnrolled',
  'refusedRecords',
  'floodedRequests',
  'emptyRequests',
  'droppedMessages',
  'errors',
] as const

function sync(st: NodeStatus): Counters {
  const c = st.sync as unknown as Counters | null
  return Object.fromEntries(REFUSAL_COUNTERS.map((k) => [k, c?.[k] ?? 0]))
}

/** Publishes `payload` on `topic` as the enrolled device and waits for the PUBACK. */
export async function publishAsDevice(s: Shared, topic: string, payload: Uint8Array): Promise<void> {
  const client = await connect(s, creds(s, s.device))
  if (!client) throw new Error('the enrolled device could not connect')
  // A refused publish closes the connection (MQTT 3.1.1 has no negative PUBACK): no PUBACK then.
  await new Promise<void>((resolve) => {
    client.once('close', () => resolve())
    client.publish(topic, Buffer.from(payload), { qos: 1 }, () => resolve())
  })
  await end(client)
}

export const randomKey = () => keyPairFromSeed(new Uint8Array(randomBytes(32)))
export { toHex }
