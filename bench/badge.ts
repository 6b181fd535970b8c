/**
 * Badge benchmark: `npm run bench -- badge [--records N] [--members M]`. Prints one JSON line.
 *
 * - decide_p99_ms: a decoded frame (credential) to the output change on sim GPIO: door-access's
 *   `decide` (door → badge → member → policy → groups → schedule, in the site's time zone) over
 *   the in-memory state of a ledger holding M members (membership + credentials dapps) among N
 *   records, then the lock pulse. No disk, no network on this path.
 * - pty_frame_to_unlock_p99_ms: an RDM6300 frame written into a socat pseudo-terminal at 9600
 *   baud pacing (one byte every 1.04 ms), read by the real serialport driver: from the last byte
 *   written to the output change.
 * - node_frame_to_unlock_p99_ms: the same paced frame through the assembled node: a real
 *   `LatchkeyNode` started from a config in a temp dir (an RDM6300 reader on the pty, the
 *   config's dapps with one door, a sim GPIO lock, its own ledger holding one member and the
 *   member's badge), from the last byte written to the sim lock's line going to unlock. `--badges
 *   B` frames (default 500); the lock is relocked before each.
 * Baseline in the same run: `lookup_p99_ms`, the bare state lookup without decode or actuation.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  rmSync,
  writeFileSync as writeFile,
  writeSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ledgerDapp } from '../dapps/contract.ts'
import { credentials } from '../dapps/credentials/index.ts'
import { doorAccess, decide as doorDecide } from '../dapps/door-access/index.ts'
import { membership } from '../dapps/membership/index.ts'
import { SimGpio } from '../devices/gpio/index.ts'
import { Lock } from '../devices/outputs/index.ts'
import { type Credential, emCredential } from '../devices/readers/credential.ts'
import { createReader } from '../devices/readers/index.ts'
import { emFrame } from '../devices/readers/testing/fixtures.ts'
import { initSite } from '../runtime/cli/site-init.ts'
import { loadConfigFile } from '../runtime/config/load.ts'
import { readKeyFile } from '../runtime/core/keys.ts'
import type { Ledger } from '../runtime/core/ledger/ledger.ts'
import {
  ADMIN,
  DEVICE,
  openTestLedger,
  provision,
  silentLogger,
} from '../runtime/core/ledger/testing/fixtures.ts'
import { dappsFor } from '../runtime/dapp-list.ts'
import { LatchkeyNode } from '../runtime/node.ts'

function arg(args: string[], name: string, dflt: number): number {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? Number(args[i + 1]) : dflt
}

const pct = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(s.length * q))]!
}
const round = (x: number) => Math.round(x * 1000) / 1000

/** Card numbers of the enrolled members: deterministic, spread over 32 bits. */
const memberCard = (i: number) => (i * 2654435761) >>> 0

const TZ = 'Europe/Berlin'

async function buildLedger(dir: string, records: number, members: number): Promise<Ledger> {
  const ledger = await openTestLedger({
    dir,
    name: 'badge',
    dapps: [membership, credentials, doorAccess].map(ledgerDapp),
  })
  await provision(ledger)
  const must = async (type: string, body: unknown, key: typeof ADMIN) => {
    const r = await ledger.append(type, body, key)
    if (r.rejection) throw new Error(`${type} rejected: ${r.rejection.detail}`)
  }
  await must('door-access.door', { door: 'front', groups: ['members'], schedule: null }, ADMIN)
  // Members, then their badges (admin-signed), then access events (board-signed) up to N records.
  const phase = async (count: number, append: (n: number) => Promise<unknown>) => {
    let next = 0
    const worker = async () => {
      while (next < count) await append(next++)
    }
    await Promise.all(Array.from({ length: 256 }, worker))
  }
  const member = (m: number) => ({
    id: `m${m}`,
    name: `Member ${m}`,
    contact: null,
    status: 'active',
    expires: null,
    groups: ['members'],
    staff: false,
  })
  await phase(members, (m) => must('membership.put', member(m), ADMIN))
  await phase(members, (m) =>
    must('credentials.bind', { badge: `em:${memberCard(m)}`, member: `m${m}` }, ADMIN),
  )
  const at = Date.parse('2026-01-01T00:00:00Z')
  await phase(Math.max(0, records - ledger.count), (n) =>
    ledger.append(
      'door-access.event',
      {
        door: 'front',
        credential: `em:${memberCard(n % members)}`,
        member: `m${n % members}`,
        decision: 'granted',
        reason: 'allowed',
        at: at + n,
      },
      DEVICE,
    ),
  )
  return ledger
}

/** The door decision (dapps/door-access decide): reads memory only. */
function decide(ledger: Ledger, credential: Credential): boolean {
  return doorDecide(ledger.view, { door: 'front', credential, now: Date.now(), tz: TZ, offline: false })
    .granted
}

function startSocat(dir: string): Promise<{ a: string; b: string; child: ChildProcess }> {
  const a = join(dir, 'a')
  const b = join(dir, 'b')
  const child = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], {
    stdio: 'ignore',
  })
  return new Promise((resolve, reject) => {
    const t0 = Date.now()
    const poll = setInterval(() => {
      if (existsSync(a) && existsSync(b)) {
        clearInterval(poll)
        resolve({ a, b, child })
      } else if (Date.now() - t0 > 5000) {
        clearInterval(poll)
        child.kill()
        reject(new Error('socat did not create the pty pair (is socat installed?)'))
      }
    }, 10)
  })
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** The RDM6300 frame of a 32-bit card number (version byte 0x1a). */
function cardFrame(card: number): Uint8Array {
  return emFrame(Uint8Array.of(0x1a, card >>> 24, (card >>> 16) & 0xff, (card >>> 8) & 0xff, card & 0xff))
}

/** Writes `frame` into the pty one byte at a time at 9600 baud pacing; returns when the last byte went. */
function writePaced(fd: number, frame: Uint8Array): number {
  const byteMs = 10_000 / 9600 // 10 bits per byte (start, 8 data, stop)
  let lastByteAt = 0
  for (let i = 0; i < frame.length; i++) {
    writeSync(fd, frame.subarray(i, i + 1))
    lastByteAt = performance.now()
    if (i < frame.length - 1) busyWait(byteMs)
  }
  return lastByteAt
}

/**
 * Frame → unlock through the assembled node: config, site, member and badge as an operator would
 * set them up, then `badges` frames of that badge into the door's reader. Each sample is the last
 * byte written to the sim lock line's unlock (its history timestamp, on the same performance.now()).
 */
async function nodeFrameToUnlock(dir: string, badges: number): Promise<number[]> {
  const pty = await startSocat(dir)
  const card = 0x00422734
  const file = join(dir, 'node.yaml')
  writeFile(
    file,
    [
      'node: { name: bench-door, dataDir: var }',
      'http: { port: 0 }',
      'mqtt: { broker: { port: 0 } }',
      `site: { timeZone: ${TZ} }`,
      'hardware:',
      '  gpio: sim',
      '  outputs:',
      '    - { name: front-lock, kind: lock, line: { name: GPIO17 }, pulseMs: 3000 }',
      '  readers:',
      // Every frame is one presentation here: the reader's repeat window would drop them.
      `    - { type: rdm6300, name: front-reader, path: ${pty.a}, debounceMs: 0 }`,
      'doors:',
      '  - { name: front, reader: front-reader, lock: front-lock }',
      '',
    ].join('\n'),
  )
  const config = loadConfigFile(file, { env: {} })
  await initSite({ config, log: silentLogger(), name: 'Bench Space' })
  const node = new LatchkeyNode({ config, log: silentLogger(), dapps: dappsFor(config) })
  await node.ready()
  const fd = openSync(pty.b, 'w')
  try {
    const admin = readKeyFile(join(config.node.dataDir, 'keys', 'admin.key'))
    const member = {
      id: 'alice',
      name: 'Alice',
      contact: null,
      status: 'active',
      expires: null,
      groups: ['members'],
      staff: false,
    }
    for (const [type, body] of [
      ['membership.put', member],
      ['credentials.bind', { badge: `em:${card}`, member: 'alice' }],
      ['door-access.door', { door: 'front', groups: ['members'], schedule: null }],
    ] as const) {
      const r = await node.ledger!.append(type, body, admin)
      if (r.rejection) throw new Error(`${type} rejected: ${r.rejection.detail}`)
    }
    const gpio = node.hardware!.gpio as SimGpio
    const lock = node.hardware!.outputs.get('front-lock')!.device as Lock
    const line = gpio.historyOf({ name: 'GPIO17' })[0]!.line
    const unlockedAfter = async (from: number): Promise<number> => {
      const deadline = performance.now() + 2000
      for (;;) {
        for (let i = from; i < gpio.history.length; i++) {
          const c = gpio.history[i]!
          if (c.line === line && c.op === 'write' && c.value === 1) return c.at
        }
        if (performance.now() > deadline) return Number.NaN
        await sleep(1)
      }
    }
    const samples: number[] = []
    const ledger = node.ledger!
    for (let n = 0; n < badges; n++) {
      await lock.lock()
      await sleep(5)
      const before = gpio.history.length
      const recorded = ledger.count + 1
      const lastByteAt = writePaced(fd, cardFrame(card))
      const at = await unlockedAfter(before)
      if (Number.isNaN(at)) throw new Error(`node: frame ${n} did not unlock within 2 s`)
      samples.push(at - lastByteAt)
      // Badges at a door come seconds apart: the next frame waits for this one's access event.
      while (ledger.count < recorded) await sleep(1)
    }
    return samples
  } finally {
    closeSync(fd)
    await node.close()
    pty.child.kill()
  }
}
function busyWait(ms: number) {
  const end = performance.now() + ms
  while (performance.now() < end);
}

export async function run(args: string[]): Promise<void> {
  const records = arg(args, 'records', 1_000_000)
  const members = arg(args, 'members', 10_000)
  const badges = arg(args, 'badges', 500)
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-bench-badge-'))
  try {
    const ledger = await buildLedger(dir, records, members)
    const gpio = new SimGpio({ log: silentLogger() })
    await gpio.ready()
    const lock = new Lock({ name: 'front-door', gpio, line: { name: 'GPIO17' }, log: silentLogger() })
    await lock.ready()
    const history = gpio.history

    // Baseline: the bare lookup.
    const lookups: number[] = []
    for (let n = 0; n < 20_000; n++) {
      const c = emCredential(memberCard(n % members))
      const t = performance.now()
      decide(ledger, c)
      lookups.push(performance.now() - t)
    }

    // decide: decoded credential → decision → output change (sim history timestamp).
    const decideMs: number[] = []
    for (let n = 0; n < 10_000; n++) {
      const member = n % 10 !== 0
      const c = emCredential(member ? memberCard((n * 7) % members) : (0xfffffff0 - n) >>> 0)
      await lock.lock()
      const before = history.length
      const t = performance.now()
      if (decide(ledger, c)) await lock.pulse(3000)
      if (member) {
        const change = history[before]
        if (!change) throw new Error('a member badge did not move the output')
        decideMs.push(change.at - t)
      } else if (history.length !== before) {
        throw new Error('an unknown badge moved the output')
      }
    }

    // pty: frame bytes paced at 9600 baud into socat, RDM6300 driver, decision, output change.
    const pty = await startSocat(dir)
    const reader = createReader(
      { type: 'rdm6300', path: pty.a, name: 'bench', debounceMs: 0 },
      { log: silentLogger() },
    )
    let pending: ((at: number) => void) | null = null
    reader.on('badge', async (b) => {
      if (decide(ledger, b.credential)) {
        const before = history.length
        await lock.pulse(3000)
        pending?.(history[before]!.at)
      }
    })
    await reader.ready()
    const fd = openSync(pty.b, 'w')
    const ptyMs: number[] = []
    for (let n = 0; n < 200; n++) {
      await lock.lock()
      const changed = new Promise<number>((resolve) => {
        pending = resolve
      })
      const lastByteAt = writePaced(fd, cardFrame(memberCard((n * 13) % members)))
      const at = await Promise.race([changed, sleep(2000).then(() => Number.NaN)])
      if (Number.isNaN(at)) throw new Error(`frame ${n} did not unlock within 2 s`)
      ptyMs.push(at - lastByteAt)
      await sleep(5)
    }
    closeSync(fd)
    await reader.close()
    pty.child.kill()
    await lock.close()
    await gpio.close()
    await ledger.close()

    const nodeMs = await nodeFrameToUnlock(mkdtempSync(join(dir, 'node-')), badges)

    process.stdout.write(
      `${JSON.stringify({
        bench: 'badge',
        records,
        members,
        decide_p99_ms: round(pct(decideMs, 0.99)),
        decide_p50_ms: round(pct(decideMs, 0.5)),
        lookup_p99_ms: round(pct(lookups, 0.99)),
        pty_frame_to_unlock_p99_ms: round(pct(ptyMs, 0.99)),
        pty_frame_to_unlock_p50_ms: round(pct(ptyMs, 0.5)),
        pty_frame_to_unlock_max_ms: round(Math.max(...ptyMs)),
        node_frame_to_unlock_p99_ms: round(pct(nodeMs, 0.99)),
        node_frame_to_unlock_p50_ms: round(pct(nodeMs, 0.5)),
        node_frame_to_unlock_max_ms: round(Math.max(...nodeMs)),
        samples: { decide: decideMs.length, pty: ptyMs.length, node: nodeMs.length },
        node: process.version,
      })}\n`,
    )
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
