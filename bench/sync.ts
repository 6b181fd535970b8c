/**
 * Sync benchmark: `npm run bench -- sync [--records N]`. Prints one JSON line.
 *
 * - replicate_per_s: N records (200-byte bodies) from node A to an empty node B (site records
 *   only) over loopback MQTT through A's embedded broker, counted when verified and stored on B
 *   (and folded: B's state hash equals A's). A runs in a process of its own (bench/sync-peer.ts),
 *   as nodes do, on B's helper cores at nice 10 (PEER_NICE); B in this one.
 * - replicate_indexed_per_s: the same, counted once B has also written the record_ids rows of
 *   the records (an index B writes after the burst, or in runs during a long one).
 * - merge_s: two nodes (processes) that each appended N/2 records while apart, from reconnect
 *   to equal record count and state hash on both.
 * - bytes_per_record_wire: batch payload bytes B received during the replication (its sync
 *   engine's batchBytesReceived counter) / records.
 * - decide_p99_ms_during_sync: while B catches up (and writes its index), a badge decision
 *   (state lookup) is scheduled every 2 ms on B's event loop; the time from scheduling to
 *   decided, p99.
 * - steal_pct_during_sync: the share of the machine's CPU time the hypervisor took meanwhile
 *   (/proc/stat; null where it cannot be read).
 * - hypercore_replicate_per_s: the same run's baseline, hypercore 10 replicating N 200-byte
 *   entries to an empty peer over an in-process stream (in this process, with B's placement:
 *   its helper threads off one core); ratio_vs_hypercore.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { setPriority, tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { KeyPair } from '../runtime/core/keys.ts'
import type { Ledger } from '../runtime/core/ledger/ledger.ts'
import { wireBytes } from '../runtime/core/ledger/record.ts'
import {
  ADMIN,
  DEVICE,
  DEVICE2,
  openTestLedger,
  provision,
  silentLogger,
} from '../runtime/core/ledger/testing/fixtures.ts'
import { currentPlacement, formatCpuList, isolateEventLoop } from '../runtime/core/placement.ts'
import { PeerLink } from '../runtime/mesh/link.ts'
import { SyncEngine } from '../runtime/mesh/sync.ts'

const require = createRequire(import.meta.url)
/**
 * Where the peer processes (A) run. A stands for another board: on a site its work never takes
 * B's CPU, here it shares B's two cores. So A runs on B's helper cores only (B keeps one core
 * free of its helper threads, as every node does once started: runtime/core/placement.ts), at nice 10
 * (PEER_NICE), below B's helper threads there. It still gets every cycle of those cores that B
 * leaves idle; the replicate rate is not capped. Printed as `peer_cpus` and `peer_nice`.
 */
const PEER_NICE = 10
const PAD = new Uint8Array(190).fill(5)

function arg(args: string[], name: string, dflt: number): number {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? Number(args[i + 1]) : dflt
}
const pct = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))] ?? 0
const round = (x: number, d = 0) => Math.round(x * 10 ** d) / 10 ** d
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function fill(ledger: Ledger, n: number, key: KeyPair, prefix: string) {
  let next = 0
  const worker = async () => {
    while (next < n) {
      const i = next++
      if (i % 50 === 0) await ledger.append('test.put', { k: `${prefix}${i}`, v: i }, key)
      else await ledger.append('test.event', { n: i, pad: PAD }, key)
    }
  }
  await Promise.all(Array.from({ length: 256 }, worker))
}

/**
 * The machine's CPU times (Linux /proc/stat, all CPUs), to report how much the hypervisor took
 * ("steal") while B caught up: on a shared virtual machine that time is gone from both nodes, and
 * explains a slow run. Context for the figures, not a correction of them.
 */
function cpuTimes(): number[] | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!
    return line.trim().split(/\s+/).slice(1, 9).map(Number)
  } catch {
    return null
  }
}

function stealPercent(a: number[] | null, b: number[] | null): number | null {
  if (!a || !b) return null
  const d = b.map((x, i) => x - a[i]!)
  const total = d.reduce((x, y) => x + y, 0)
  return total > 0 ? (100 * d[7]!) / total : null
}

/** Two ledgers of one site: A with the site records, B a copy of them. */
async function pair(dir: string, name: string) {
  const a = await openTestLedger({ dir, name: `${name}-a` })
  await provision(a)
  await a.append(
    'site.enrol',
    { key: DEVICE2.publicKey, role: 'device', name: DEVICE2.id.slice(0, 8) },
    ADMIN,
  )
  const b = await openTestLedger({ dir, name: `${name}-b`, checkpointWorker: true })
  b.ingest([...a.query.records()].map(wireBytes))
  return { a, b }
}

/** Node A in a process of its own (bench/sync-peer.ts) serving its broker; returns its URL. */
async function peerProcess(file: string, keyByte: number) {
  // The node's V8 flags (package.json start script, systemd unit).
  const node = [process.execPath, '--max-semi-space-size=4', join(import.meta.dirname, 'sync-peer.ts')]
  const placement = currentPlacement()
  const [cmd, ...args] = placement
    ? ['taskset', '-c', formatCpuList(placement.helperCpus), ...node, file, String(keyByte)]
    : [...node, file, String(keyByte)]
  const child = spawn(cmd!, args, { stdio: ['pipe', 'pipe', 'inherit'] })
  setPriority(child.pid!, PEER_NICE)
  const lines = createInterface({ input: child.stdout! })
  const waiting: Array<(l: string) => void> = []
  lines.on('line', (l) => waiting.shift()?.(l))
  const next = () => new Promise<string>((resolve) => waiting.push(resolve))
  const { port } = JSON.parse(await next()) as { port: number }
  return {
    url: `mqtt://127.0.0.1:${port}`,
    status: async () => {
      const line = next()
      child.stdin!.write('status\n')
      return JSON.parse(await line) as { count: number; stateHash: string }
    },
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve())
        child.stdin!.end()
      }),
  }
}

/** Node B, in this process: its engine linked to A's broker. */
async function nodeB(b: Ledger, url: string) {
  const log = silentLogger()
  const engine = new SyncEngine({ ledger: b, key: DEVICE2, log })
  await engine.ready()
  const link = new PeerLink({ url, name: 'a', engine, key: DEVICE2, site: () => b.site, log })
  return {
    start: () => link.ready(),
    batchBytes: () => engine.counters.batchBytesReceived,
    close: async () => {
      await link.close()
      await engine.close()
    },
  }
}

async function hypercoreBaseline(n: number): Promise<number> {
  const Hypercore = require('hypercore')
  const RAM = require('random-access-memory')
  const a = new Hypercore(RAM)
  await a.ready()
  const entry = Buffer.alloc(200, 5)
  for (let i = 0; i < n; i += 1000) await a.append(Array.from({ length: Math.min(1000, n - i) }, () => entry))
  const b = new Hypercore(RAM, a.key)
  await b.ready()
  const t0 = performance.now()
  const s1 = a.replicate(true)
  const s2 = b.replicate(false)
  s1.pipe(s2).pipe(s1)
  await b.download({ start: 0, end: n }).done()
  const s = (performance.now() - t0) / 1000
  await a.close()
  await b.close()
  return n / s
}

export async function run(args: string[]): Promise<void> {
  const N = arg(args, 'records', 100_000)
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-bench-sync-'))
  await isolateEventLoop() // B, as a node does once started
  const placement = currentPlacement()
  try {
    // replicate A → empty B
    const r = await pair(dir, 'rep')
    await fill(r.a, N, DEVICE, 'a')
    const target = r.a.count
    const aHash = r.a.stateHash
    await r.a.close()
    const peerA = await peerProcess(join(dir, 'rep-a.db'), 2)
    const m = await nodeB(r.b, peerA.url)
    const decideMs: number[] = []
    let sampling = true
    const sample = () => {
      if (!sampling) return
      const at = performance.now()
      setTimeout(() => {
        const t = performance.now()
        r.b.view.get('test/a50') // the decision's lookup, on B's event loop
        decideMs.push(performance.now() - t + (t - at - 2 > 0 ? t - at - 2 : 0))
        sample()
      }, 2)
    }
    const cpu0 = cpuTimes()
    const t0 = performance.now()
    await m.start()
    sample()
    while (r.b.count < target || r.b.relay().unsettled) {
      if (performance.now() - t0 > 600_000) throw new Error(`replication stalled at ${r.b.count}/${target}`)
      await sleep(5)
    }
    const replicateS = (performance.now() - t0) / 1000
    while (r.b.relay().idsBehind > 0) {
      if (performance.now() - t0 > 600_000)
        throw new Error(`indexing stalled at ${r.b.relay().idsBehind} ids`)
      await sleep(5)
    }
    const indexedS = (performance.now() - t0) / 1000
    const stealPct = stealPercent(cpu0, cpuTimes())
    const wireBytes = m.batchBytes()
    sampling = false
    if (r.b.stateHash !== aHash) throw new Error('replica ended with another state hash')
    await m.close()
    await peerA.stop()
    await r.b.close()

    // merge: N/2 on each side while apart
    const g = await pair(dir, 'merge')
    await fill(g.a, N / 2, DEVICE, 'a')
    await fill(g.b, N / 2, DEVICE2, 'b')
    const total = g.a.count + g.b.count - 3 // the three site records are on both sides
    await g.a.close()
    const peerG = await peerProcess(join(dir, 'merge-a.db'), 2)
    const mm = await nodeB(g.b, peerG.url)
    const t1 = performance.now()
    await mm.start()
    for (;;) {
      if (performance.now() - t1 > 600_000) throw new Error('merge stalled')
      if (g.b.count === total && !g.b.relay().unsettled) {
        const sa = await peerG.status()
        if (sa.count === total && sa.stateHash === g.b.stateHash) break
      }
      await sleep(5)
    }
    const mergeS = (performance.now() - t1) / 1000
    await mm.close()
    await peerG.stop()
    await g.b.close()

    const hyper = await hypercoreBaseline(N)
    const replicatePerS = N / replicateS
    process.stdout.write(
      `${JSON.stringify({
        bench: 'sync',
        records: N,
        replicate_per_s: round(replicatePerS),
        replicate_indexed_per_s: round(N / indexedS),
        merge_s: round(mergeS, 2),
        bytes_per_record_wire: round(wireBytes / N),
        decide_p99_ms_during_sync: round(pct(decideMs, 0.99), 3),
        decide_samples: decideMs.length,
        steal_pct_during_sync: stealPct === null ? null : round(stealPct, 1),
        peer_nice: PEER_NICE,
        peer_cpus: placement ? formatCpuList(placement.helperCpus) : null,
        hypercore_version: require('hypercore/package.json').version,
        hypercore_replicate_per_s: round(hyper),
        ratio_vs_hypercore: round(replicatePerS / hyper, 2),
        node: process.version,
      })}\n`,
    )
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
