/**
 * Durability under SIGKILL, through a running node: the harness shared by `npm run bench --
 * durability` and test/durability.test.ts.
 *
 * One site on a temp data dir; each round starts a real node process (the pinned Node binary
 * running bin/latchkey.js, no launcher in between) with a door whose RDM6300 reader is one end
 * of a socat pseudo-terminal pair, then writes on both paths while it runs:
 *
 * - an admin client submits `membership.put` records through the node's HTTP API with
 *   `writeRecord` (prepare → sign → submit); a record is acknowledged when submit answered its id;
 * - badge frames go into the other end of the pty; the node decides, pulses the lock and
 *   appends a `door-access.event`; the event is acknowledged when the decision's log line,
 *   which the door controller writes only after the append resolved, names the record id.
 *
 * Once both paths have had an acknowledgement, after a random time (seeded) the node is
 * SIGKILLed (one round in ten instead during start-up); the harness then opens the ledger file
 * read-only and checks that every acknowledged id is there (`lost` counts those missing), that
 * the records written since the previous round are in sequence, hash-link and carry good
 * signatures, and that the saved state hash matches (`corrupt` counts rounds where that, or the
 * open, or the next start, fails). A full `verifyAll()` runs every
 * `fullCheckEvery` rounds and after the last. The next round restarts the node on the same
 * data dir, so the ledger grows across rounds.
 *
 * No vitest imports: the bench runs this under plain Node. The caller owns `dir` (removes it).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ledgerDapp } from '../dapps/contract.ts'
import { builtinDapps } from '../dapps/index.ts'
import { emFrame } from '../devices/readers/testing/fixtures.ts'
import { writeRecord } from '../runtime/cli/ledger-client.ts'
import { initSite } from '../runtime/cli/site-init.ts'
import { type Config, loadConfigFile } from '../runtime/config/load.ts'
import { type KeyPair, readKeyFile } from '../runtime/core/keys.ts'
import { Ledger } from '../runtime/core/ledger/ledger.ts'
import { equalBytes, recordId, toHex, verifySignature } from '../runtime/core/ledger/record.ts'
import { silentLogger } from '../runtime/core/ledger/testing/fixtures.ts'
import { createLogger } from '../runtime/core/log.ts'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const PINNED_NODE = join(ROOT, 'node_modules', 'node', 'bin', 'node')
const BIN = join(ROOT, 'bin', 'latchkey.js')
/** The member's badge: granted events. Other frames carry unknown cards: denied events. */
const MEMBER_CARD = 0x00422734
/** Bound on waiting for the first acknowledgement on each path before the kill window opens. */
const FIRST_ACK_WAIT_MS = 5000

/** Processes the harness started and has not seen exit: the node of the round, socat. */
const live = new Set<ChildProcess>()

/** SIGKILLs every process the harness started that still runs (for a bench stopped by a signal). */
export function killLiveProcesses(): void {
  for (const p of live) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL')
}

function track(p: ChildProcess): void {
  live.add(p)
  p.once('exit', () => live.delete(p))
}

export interface DurabilityOptions {
  /** Empty or missing directory for the site, the pty links and the node config. */
  dir: string
  rounds: number
  seed: number
  /** No round starts once this much time (ms) has passed since the first round began. */
  budgetMs: number
  /**
   * The node runs this long (ms, uniform, seeded) once it is ready and both paths have had an
   * acknowledgement, then is killed. Default [500, 1500].
   */
  runMs?: [number, number]
  /** Share of rounds killed during start-up instead (ledger open, dapp start). Default 0.1. */
  startupKillShare?: number
  /** Pause between badge frames (ms). Default 25. */
  badgeEveryMs?: number
  /** A full verifyAll() and presence check of every acknowledged id, every n rounds. Default 50. */
  fullCheckEvery?: number
  /** Bound on a node start (ms) before the round counts as corrupt. Default 30000. */
  startTimeoutMs?: number
  /** Called after each round's check. */
  onRound?: (r: RoundResult) => void
}

export interface RoundResult {
  round: number
  ackHttp: number
  ackBadge: number
  lost: number
  corrupt: boolean
  problem: string | null
  records: number
  /** Spawn to 'node ready' (0 when killed during start-up). */
  startMs: number
  /** The ledger check after the kill. */
  checkMs: number
  ms: number
}

export interface DurabilityReport {
  rounds: number
  acknowledged: number
  acknowledged_http: number
  acknowledged_badge: number
  lost: number
  corrupt: number
  seed: number
  records: number
  elapsed_s: number
  /** What the first failing check said, or null. */
  first_problem: string | null
}

/** mulberry32: a small seeded PRNG, so a failing run can be repeated from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export async function runDurability(opts: DurabilityOptions): Promise<DurabilityReport> {
  const started = Date.now()
  // Kill moments and card numbers draw from two streams: how many frames a round wrote does
  // not shift the later kill moments of the same seed.
  const random = prng(opts.seed)
  const cards = prng(opts.seed ^ 0x5bd1e995)
  const [runMin, runMax] = opts.runMs ?? [500, 1500]
  const startupShare = opts.startupKillShare ?? 0.1
  const fullEvery = opts.fullCheckEvery ?? 50
  const site = await createSite(opts.dir)
  const pty = await startSocat(opts.dir)
  const check = new LedgerCheck(site.ledgerFile)
  const compileCache = join(opts.dir, 'compile-cache')
  const report: DurabilityReport = {
    rounds: 0,
    acknowledged: 0,
    acknowledged_http: 0,
    acknowledged_badge: 0,
    lost: 0,
    corrupt: 0,
    seed: opts.seed,
    records: 0,
    elapsed_s: 0,
    first_problem: null,
  }
  let member = 0
  let card = 0x01000000
  try {
    // One start and clean stop before the rounds: a node writes its compile cache at exit,
    // which a SIGKILLed one never reaches.
    {
      const configFile = writeNodeConfig(opts.dir, pty.a, await freePorts(2))
      const node = startNode(configFile, compileCache)
      try {
        await withTimeout(node.ready, opts.startTimeoutMs ?? 30_000, 'the node did not get ready in time')
      } finally {
        node.stop()
        await node.exited
      }
    }
    const roundsFrom = Date.now()
    for (let round = 1; round <= opts.rounds; round++) {
      if (Date.now() - roundsFrom > opts.budgetMs) break
      const t0 = Date.now()
      const ports = await freePorts(2)
      const configFile = writeNodeConfig(opts.dir, pty.a, ports)
      const config = loadConfigFile(configFile, { env: {} })
      const node = startNode(configFile, compileCache)
      const acks: Ack[] = []
      let problem: string | null = null
      let startMs = 0
      const startupKill = random() < startupShare
      const startupDelay = random() * 600
      const runDelay = runMin + random() * (runMax - runMin)
      const stop = { stopped: false }
      const writers: Array<Promise<void>> = []
      try {
        if (startupKill) {
          // Killed while it opens the ledger and starts its dapps (or just after, if it was quicker).
          await Promise.race([node.ready, sleep(startupDelay)])
        } else {
          await withTimeout(node.ready, opts.startTimeoutMs ?? 30_000, 'the node did not get ready in time')
          startMs = Date.now() - t0
          writers.push(httpWriter(clientConfig(config, site.scratch), site.admin, acks, stop, () => member++))
          writers.push(
            badgeWriter(pty.b, opts.badgeEveryMs ?? 25, stop, () =>
              cards() < 0.3 ? MEMBER_CARD : card++ & 0xffffffff,
            ),
          )
          // The kill window opens once both paths have been acknowledged once (on a busy
          // machine the first answers can take a while), so every such round kills amid writes.
          const flowing = () => acks.length > 0 && node.committedEvents().length > 0
          for (const until = Date.now() + FIRST_ACK_WAIT_MS; !flowing() && Date.now() < until; )
            await sleep(10)
          await sleep(runDelay)
        }
      } catch (err) {
        problem = `round ${round}: node start failed: ${(err as Error).message}\n${node.stderr()}`
      }
      node.kill()
      await node.exited
      stop.stopped = true
      await Promise.all(writers)
      for (const id of node.committedEvents()) acks.push({ id, via: 'badge' })

      const full = round % fullEvery === 0 || round === opts.rounds
      const t1 = Date.now()
      const result = problem
        ? { lost: [] as string[], problem, records: check.records }
        : await check.round(
            acks.map((a) => a.id),
            full,
          )
      const ackHttp = acks.filter((a) => a.via === 'http').length
      const ackBadge = acks.length - ackHttp
      report.rounds = round
      report.acknowledged_http += ackHttp
      report.acknowledged_badge += ackBadge
      report.acknowledged += acks.length
      report.lost = check.missing.size
      report.records = result.records
      if (result.problem) {
        report.corrupt++
        report.first_problem ??= result.problem
      } else if (result.lost.length > 0) {
        report.first_problem ??= `round ${round}: ${result.lost.length} acknowledged record(s) missing, e.g. ${result.lost[0]}`
      }
      opts.onRound?.({
        round,
        ackHttp,
        ackBadge,
        lost: result.lost.length,
        corrupt: !!result.problem,
        problem: result.problem,
        records: result.records,
        startMs,
        checkMs: Date.now() - t1,
        ms: Date.now() - t0,
      })
      // A node that no longer starts ends the run: later rounds would only repeat it.
      if (problem) break
    }
    // The last round run gets the full check, also when the time budget ended the run early.
    if (report.rounds > 0 && report.rounds % fullEvery !== 0 && report.rounds !== opts.rounds) {
      const result = await check.round([], true)
      if (result.problem) {
        report.corrupt++
        report.first_problem ??= result.problem
      }
      report.lost = check.missing.size
    }
  } finally {
    await pty.stop()
  }
  report.elapsed_s = Math.round((Date.now() - started) / 100) / 10
  return report
}

interface Ack {
  id: string
  via: 'http' | 'badge'
}

// ── the site and the node ───────────────────────────────────────────────────────────────

export interface Site {
  dataDir: string
  ledgerFile: string
  admin: KeyPair
  /** An empty data dir for the client: when no node answers, its file fallback finds no site. */
  scratch: string
}

/** The site of a run in `dir`: genesis, this node enrolled, a member with a badge, and the door. */
export async function createSite(dir: string): Promise<Site> {
  mkdirSync(dir, { recursive: true })
  const dataDir = join(dir, 'var')
  const scratch = join(dir, 'client')
  mkdirSync(scratch, { recursive: true, mode: 0o700 })
  const configFile = writeNodeConfig(dir, join(dir, 'a'), [9, 9])
  const config = loadConfigFile(configFile, { env: {} })
  await initSite({ config, log: silentLogger(), name: 'Durable Space' })
  const admin = readKeyFile(join(config.node.dataDir, 'keys', 'admin.key'))
  // No node runs yet (port 9 answers nothing): these go straight into the ledger file.
  const offline = { ...config, http: { ...config.http, port: 9 } }
  for (const [type, body] of [
    ['membership.put', memberBody('alice')],
    ['credentials.bind', { badge: `em:${MEMBER_CARD}`, member: 'alice' }],
    ['door-access.door', { door: 'front', groups: ['members'], schedule: null }],
  ] as const) {
    const w = await writeRecord(offline, admin, type, body)
    if (w.rejection) throw new Error(`setup record ${type} was rejected: ${w.rejection.code}`)
  }
  return { dataDir, ledgerFile: join(dataDir, 'ledger.db'), admin, scratch }
}

export function memberBody(id: string) {
  return { id, name: id, contact: null, status: 'active', expires: null, groups: ['members'], staff: false }
}

function writeNodeConfig(dir: string, readerPath: string, [httpPort, mqttPort]: number[]): string {
  const file = join(dir, 'node.yaml')
  writeFileSync(
    file,
    [
      'node: { name: door-1, dataDir: var }',
      `http: { host: 127.0.0.1, port: ${httpPort} }`,
      `mqtt: { broker: { host: 127.0.0.1, port: ${mqttPort} } }`,
      'site: { timeZone: Europe/Berlin }',
      'hardware:',
      '  gpio: sim',
      '  outputs:',
      '    - { name: front-lock, kind: lock, line: { name: GPIO17 }, pulseMs: 100 }',
      '  readers:',
      `    - { type: rdm6300, name: front-reader, path: ${readerPath}, debounceMs: 0 }`,
      'doors:',
      '  - { name: front, reader: front-reader, lock: front-lock }',
      '',
    ].join('\n'),
  )
  return file
}

function clientConfig(config: Config, scratch: string): Config {
  return { ...config, node: { ...config.node, dataDir: scratch } }
}

interface RunningNode {
  /** Resolves true once the node logged 'node ready'; rejects if it exits before. */
  ready: Promise<boolean>
  exited: Promise<void>
  kill(): void
  /** SIGTERM: a clean stop. */
  stop(): void
  stderr(): string
  /** Ids of door-access events whose decision line (written after the commit) was read in full. */
  committedEvents(): string[]
}

function startNode(configFile: string, compileCache: string): RunningNode {
  // The pinned binary itself: the SIGKILL must hit the process that holds the ledger. A module
  // compile cache (in the run's dir) keeps the start-up of each round short.
  const child: ChildProcess = spawn(
    PINNED_NODE,
    ['--max-semi-space-size=4', BIN, 'run', '--config', configFile],
    {
      cwd: ROOT,
      env: { ...process.env, LATCHKEY_NO_REEXEC: '1', NODE_COMPILE_CACHE: compileCache },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  track(child)
  let partial = ''
  let err = ''
  const events: string[] = []
  let onReady: (v: boolean) => void = () => {}
  let onFail: (e: Error) => void = () => {}
  const ready = new Promise<boolean>((resolve, reject) => {
    onReady = resolve
    onFail = reject
  })
  ready.catch(() => {}) // a start-up kill leaves it pending or rejected on purpose
  child.stdout!.setEncoding('utf8')
  child.stdout!.on('data', (d: string) => {
    const lines = (partial + d).split('\n')
    partial = lines.pop()! // an unfinished line is not a report: the kill may cut it
    for (const line of lines) {
      if (!line.startsWith('{')) continue
      let l: { msg?: string; record?: unknown }
      try {
        l = JSON.parse(line)
      } catch {
        continue
      }
      if (l.msg === 'node ready') onReady(true)
      else if (typeof l.record === 'string' && l.msg?.startsWith('door front: ')) events.push(l.record)
    }
  })
  child.stderr!.setEncoding('utf8')
  child.stderr!.on('data', (d: string) => {
    err += d
  })
  // 'close', not 'exit': every line the node wrote before it died has been read by then.
  const exited = new Promise<void>((resolve) =>
    child.on('close', (code, signal) => {
      onFail(new Error(`node exited (code ${code}, signal ${signal}) before it was ready`))
      resolve()
    }),
  )
  return {
    ready,
    exited,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL')
    },
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    },
    stderr: () => err.slice(-4000),
    committedEvents: () => events,
  }
}

// ── the two writers ─────────────────────────────────────────────────────────────────────

/** Sequential: the node reserves one prepared record per key at a time. */
async function httpWriter(
  config: Config,
  admin: KeyPair,
  acks: Ack[],
  stop: { stopped: boolean },
  next: () => number,
): Promise<void> {
  while (!stop.stopped) {
    try {
      const w = await writeRecord(config, admin, 'membership.put', memberBody(`m${next()}`))
      // Only the node's answer is an acknowledgement (the client's file fallback has no site here).
      if (w.via === 'node') acks.push({ id: w.id, via: 'http' })
    } catch {
      return // the node is gone
    }
  }
}

async function badgeWriter(
  ptyB: string,
  everyMs: number,
  stop: { stopped: boolean },
  nextCard: () => number,
): Promise<void> {
  const { open } = await import('node:fs/promises')
  const fh = await open(ptyB, 'w')
  try {
    while (!stop.stopped) {
      const c = nextCard()
      await fh.write(
        emFrame(Uint8Array.of(0x1a, (c >>> 24) & 0xff, (c >>> 16) & 0xff, (c >>> 8) & 0xff, c & 0xff)),
      )
      await sleep(everyMs)
    }
  } finally {
    await fh.close()
  }
}

// ── checking the ledger file ────────────────────────────────────────────────────────────

/** Checks the ledger file after each kill; it keeps what earlier rounds checked. */
export class LedgerCheck {
  readonly #file: string
  /** Per author: the last seq checked, and its id. */
  readonly #checked = new Map<string, { seq: number; id: Uint8Array }>()
  readonly #present = new Set<string>()
  readonly #acknowledged: string[] = []
  /** Acknowledged ids found missing by any check. */
  readonly missing = new Set<string>()
  records = 0

  constructor(file: string) {
    this.#file = file
  }

  /** Checks the records new since the last round (or all, when `full`) and the round's acks. */
  async round(
    acks: string[],
    full: boolean,
  ): Promise<{ lost: string[]; problem: string | null; records: number }> {
    this.#acknowledged.push(...acks)
    const warnings: string[] = []
    let ledger: Ledger
    try {
      ledger = new Ledger({
        file: this.#file,
        readonly: true,
        log: createLogger({
          level: 'warn',
          destination: { write: (line: string) => void warnings.push(line) },
        }),
        dapps: builtinDapps.map(ledgerDapp),
      })
      await ledger.ready()
    } catch (err) {
      return {
        lost: [],
        problem: `the ledger did not open: ${(err as Error).message}`,
        records: this.records,
      }
    }
    try {
      let problem: string | null = null
      if (warnings.some((w) => w.includes('does not match its hash')))
        problem = 'the materialized state does not match its saved hash'
      if (full) {
        this.#present.clear()
        for (const r of ledger.query.records()) this.#present.add(toHex(r.id))
        const v = await ledger.query.verifyAll()
        if (v.problem)
          problem ??= `verifyAll: ${v.problem.problem} at ${v.problem.author.slice(0, 12)}…/${v.problem.seq}`
        for (const [author, head] of ledger.heads())
          this.#checked.set(author, { seq: head.seq, id: hexBytes(head.id) })
      } else {
        problem ??= this.#checkNew(ledger)
      }
      this.records = ledger.count
      const lost = (full ? this.#acknowledged : acks).filter((id) => !this.#present.has(id))
      for (const id of lost) this.missing.add(id)
      return { lost, problem, records: this.records }
    } finally {
      await ledger.close()
    }
  }

  /** Hash links, sequence and signature of every record past the last checked head. */
  #checkNew(ledger: Ledger): string | null {
    const heads = ledger.heads()
    for (const [author, done] of this.#checked) {
      const head = heads.get(author)
      if (!head || head.seq < done.seq)
        return `author ${author.slice(0, 12)}… went back from seq ${done.seq} to ${head?.seq ?? 0}`
    }
    for (const [author, head] of heads) {
      const done = this.#checked.get(author) ?? { seq: 0, id: new Uint8Array(0) }
      let expect = done.seq
      let prevId: Uint8Array | null = done.seq > 0 ? done.id : null
      while (expect < head.seq) {
        const page = ledger.query.range(author, expect + 1, 4096)
        if (page.length === 0)
          return `author ${author.slice(0, 12)}…: seq ${expect + 1} missing below head ${head.seq}`
        for (const r of page) {
          const where = `author ${author.slice(0, 12)}… seq ${r.seq}`
          if (r.seq !== expect + 1) return `${where}: sequence gap, expected ${expect + 1}`
          if (prevId ? !r.prev || !equalBytes(r.prev, prevId) : r.prev !== null)
            return `${where}: does not link to the record before it`
          if (!equalBytes(recordId(r.bytes), r.id)) return `${where}: does not hash to its id`
          if (!verifySignature(r)) return `${where}: signature does not verify`
          this.#present.add(toHex(r.id))
          prevId = r.id
          expect = r.seq
        }
      }
      this.#checked.set(author, { seq: head.seq, id: hexBytes(head.id) })
    }
    return null
  }
}

function hexBytes(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex, 'hex'))
}

// ── processes and ports ────────────────────────────────────────────────────────────────

interface Socat {
  /** The end the reader opens. */
  a: string
  /** The end the badge frames are written to. */
  b: string
  stop(): Promise<void>
}

/** `socat -d -d pty,raw,echo=0 pty,raw,echo=0` with links a and b in `dir` (as devices/readers/testing/pty.ts). */
async function startSocat(dir: string): Promise<Socat> {
  const a = join(dir, 'a')
  const b = join(dir, 'b')
  rmSync(a, { force: true })
  rmSync(b, { force: true })
  const p = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  track(p)
  let stderr = ''
  p.stderr!.on('data', (d) => {
    stderr += d
  })
  const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()))
  const stop = async () => {
    if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL')
    await exited
    rmSync(a, { force: true })
    rmSync(b, { force: true })
  }
  const deadline = Date.now() + 10_000
  while (!(existsSync(a) && existsSync(b))) {
    if (p.exitCode !== null || p.signalCode !== null || Date.now() > deadline) {
      await stop()
      throw new Error(`socat did not create ${a} and ${b}:\n${stderr}`)
    }
    await sleep(10)
  }
  return { a, b, stop }
}

/** `n` distinct free loopback ports (bound together, then released). */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<import('node:net').Server>((resolve) => {
          const s = createServer()
          s.listen(0, '127.0.0.1', () => resolve(s))
        }),
    ),
  )
  const ports = servers.map((s) => (s.address() as { port: number }).port)
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))))
  return ports
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(what)), ms)
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}
