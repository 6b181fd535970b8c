/**
 * `latchkey self-test`: proves in a few seconds that the parts a node needs work in this
 * build on this board: SQLite (the native addon, a WAL file written and read back), Ed25519
 * (sign, verify, reject a tampered message), the MQTT broker (aedes on a loopback port, an
 * mqtt.js client publishes to itself), serial (the native binding loads) and GPIO backend
 * detection (with whether onoff's addon loads). One line per check; exit 1 when one fails.
 * Touches nothing but a temp directory it removes.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Command } from 'commander'
import { detectGpioBackend } from '../../../devices/gpio/index.ts'
import { generateSeed, keyPairFromSeed, publicKeyObject } from '../../core/keys.ts'
import { isSingleBinary, versionLine } from '../../version.ts'
import type { Io } from '../io.ts'

const require = createRequire(import.meta.url)

export interface SelfCheck {
  name: string
  verdict: 'ok' | 'warn' | 'fail'
  detail: string
  ms: number
}

type Probe = () => Promise<{ verdict?: 'ok' | 'warn'; detail: string }>

export function selfTestCommand(io: Io): Command {
  return new Command('self-test')
    .description('check that SQLite, crypto, the broker, serial and GPIO detection work in this build')
    .option('--json', 'print the checks as one JSON document')
    .option('--timeout <ms>', 'time allowed to each check', '10000')
    .action(async (opts: { json?: boolean; timeout: string }) => {
      const timeoutMs = Number(opts.timeout)
      const probes: Array<[string, Probe]> = [
        ['sqlite', sqliteProbe],
        ['crypto', cryptoProbe],
        ['broker', brokerProbe],
        ['serial', serialProbe],
        ['gpio', gpioProbe],
      ]
      const checks: SelfCheck[] = []
      if (!opts.json) io.out(`${versionLine()}${isSingleBinary() ? ' single binary' : ''}\n`)
      for (const [name, probe] of probes) {
        const check = await runProbe(name, probe, timeoutMs, io.env)
        checks.push(check)
        if (!opts.json) {
          io.out(`${check.verdict.padEnd(4)}  ${name.padEnd(7)} ${check.detail} (${check.ms} ms)\n`)
        }
      }
      if (opts.json) io.out(`${JSON.stringify({ version: versionLine(), checks })}\n`)
      if (checks.some((c) => c.verdict === 'fail')) io.exitCode = 1
    })
}

async function runProbe(name: string, probe: Probe, timeoutMs: number, env: NodeJS.ProcessEnv) {
  const t0 = performance.now()
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)
  })
  try {
    const r = await Promise.race([probe(), timeout])
    return { name, verdict: r.verdict ?? 'ok', detail: r.detail, ms: elapsed(t0) } satisfies SelfCheck
  } catch (err) {
    return { name, verdict: 'fail', detail: failure(err, env), ms: elapsed(t0) } satisfies SelfCheck
  } finally {
    clearTimeout(timer)
  }
}

const elapsed = (t0: number) => Math.round(performance.now() - t0)

function failure(err: unknown, env: NodeJS.ProcessEnv): string {
  const msg = (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? ''
  // A single binary extracts its native addons before loading them (docs/binary.md).
  if (isSingleBinary() && /EACCES|EROFS|EPERM/.test(msg)) {
    return `${msg}; native addons are extracted to ${env.PKG_NATIVE_CACHE_PATH ?? '~/.cache'}: set PKG_NATIVE_CACHE_PATH to a writable directory`
  }
  return msg
}

const sqliteProbe: Probe = async () => {
  const Database = require('better-sqlite3') as typeof import('better-sqlite3')
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-self-test-'))
  try {
    const db = new Database(join(dir, 'self-test.db'))
    db.pragma('journal_mode = WAL')
    db.exec('create table t (k integer primary key, v blob not null)')
    const insert = db.prepare('insert into t (k, v) values (?, ?)')
    const rows = 100
    db.transaction(() => {
      for (let k = 0; k < rows; k++) insert.run(k, Buffer.from(`row ${k}`))
    })()
    db.close()
    const again = new Database(join(dir, 'self-test.db'), { readonly: true })
    const { n, last } = again.prepare('select count(*) as n, max(v) as last from t').get() as {
      n: number
      last: Buffer
    }
    const { v } = again.prepare('select sqlite_version() as v').get() as { v: string }
    again.close()
    if (n !== rows || last.toString() !== 'row 99') throw new Error(`wrote ${rows} rows, read back ${n}`)
    return { detail: `SQLite ${v}: ${rows} rows written in WAL mode and read back` }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const cryptoProbe: Probe = async () => {
  const { sign, verify } = await import('node:crypto')
  const pair = keyPairFromSeed(generateSeed())
  const message = Buffer.from('latchkey self-test\0message')
  const sig = sign(null, message, pair.privateKeyObject)
  const pub = publicKeyObject(pair.publicKey)
  if (!verify(null, message, pub, sig)) throw new Error('a fresh Ed25519 signature does not verify')
  const tampered = Buffer.from(message)
  tampered[0] = (tampered[0] as number) ^ 1
  if (verify(null, tampered, pub, sig)) throw new Error('a tampered message verifies')
  return { detail: 'Ed25519 sign, verify and tamper rejection (node:crypto)' }
}

const brokerProbe: Probe = async () => {
  const { Aedes } = await import('aedes')
  const { default: mqtt } = await import('mqtt')
  const broker = await Aedes.createBroker()
  const server: Server = createServer((socket) => broker.handle(socket))
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () => resolve())
    })
    const { port } = server.address() as { port: number }
    const client = await mqtt.connectAsync({ host: '127.0.0.1', port, reconnectPeriod: 0 })
    try {
      const topic = 'latchkey/self-test'
      const received = new Promise<string>((resolve) =>
        client.on('message', (t, payload) => {
          if (t === topic) resolve(payload.toString())
        }),
      )
      await client.subscribeAsync(topic, { qos: 1 })
      await client.publishAsync(topic, 'ping', { qos: 1 })
      const got = await received
      if (got !== 'ping') throw new Error(`sent "ping", received "${got}"`)
      return { detail: `aedes on 127.0.0.1:${port}: an MQTT client published and received (QoS 1)` }
    } finally {
      await client.endAsync(true)
    }
  } finally {
    await new Promise<void>((resolve) => broker.close(() => resolve()))
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

const serialProbe: Probe = async () => {
  const bindings = require('@serialport/bindings-cpp') as typeof import('@serialport/bindings-cpp')
  // Importing the package dlopens its addon; autoDetect picks this platform's binding.
  if (typeof bindings.autoDetect()?.list !== 'function')
    throw new Error('no serialport binding for this platform')
  return { detail: 'the serialport native binding loads' }
}

const gpioProbe: Probe = async () => {
  const { kind, reason } = await detectGpioBackend()
  if (process.platform !== 'linux') return { verdict: 'warn', detail: `${kind}: ${reason}` }
  let onoff: string
  try {
    require('epoll')
    onoff = 'the onoff addon loads'
  } catch (err) {
    const why = (err as Error).message.split('\n')[0]
    // Only fatal where onoff is the backend this board would use.
    if (kind === 'onoff') throw new Error(`${reason}, but onoff's epoll addon does not load: ${why}`)
    onoff = `the onoff backend is unavailable in this build (${why})`
  }
  return { verdict: kind === 'sim' ? 'warn' : 'ok', detail: `${kind} backend: ${reason}; ${onoff}` }
}
