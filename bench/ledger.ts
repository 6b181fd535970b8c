/**
 * Ledger benchmark: `npm run bench -- ledger [--records N]`. Prints one JSON line.
 *
 * - append_per_s: signed records appended durably (synchronous=FULL), 256 appends in flight
 *   sharing group commits; each promise resolves only after its transaction committed.
 * - verify_all_per_s: full re-check (hash links + every signature) of a 100k-record ledger.
 * - catchup_per_s: a peer's 100k-record chain ingested into an empty ledger in batches of
 *   1000, verified by re-hash + tip signature (authority records one by one), stored + folded,
 *   committed as relayed records (WAL synchronous=NORMAL, checkpoints on the worker) and
 *   decoded in place (the wires are the receiver's own buffers, as a received message is),
 *   through the ledger's catch-up session (steps of 50 ms), the path the sync engine takes;
 *   the time includes writing the records' record_ids rows (index runs) and the last commit.
 *   Before the session existed this figure came from `ingest(wires, { relayed: true })` in
 *   1000-record calls: one signature per call where the session checks one per 256-record
 *   window (VOUCH_RUN), and a commit every 4096 records where the session commits every 2048
 *   (RELAY_COMMIT_RECORDS), as sync always did. The work is otherwise the same (see
 *   docs/ledger.md, "Catch-up", for the comparison).
 * - state_rebuild_s_1m: fold of N (1M) records from scratch.
 * - open_s_1m, rss_mb_1m: a fresh process opens the N-record ledger and is ready to decide.
 * - bytes_per_record: database size / records, 200-byte bodies, after a WAL checkpoint.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Ledger } from '../runtime/core/ledger/ledger.ts'
import { wireBytes } from '../runtime/core/ledger/record.ts'
import { ADMIN, DEVICE, openTestLedger, provision } from '../runtime/core/ledger/testing/fixtures.ts'

const PAD = new Uint8Array(190).fill(7) // body {n, pad} encodes to ~200 bytes

function arg(args: string[], name: string, dflt: number): number {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? Number(args[i + 1]) : dflt
}

async function fill(ledger: Ledger, n: number, inflight = 256): Promise<number> {
  const t0 = performance.now()
  let next = 0
  const worker = async () => {
    while (next < n) {
      const i = next++
      // One record in 100 changes state (member-like puts), the rest are grow-only facts.
      if (i % 100 === 0) await ledger.append('test.put', { k: `m${i % 10_000}`, v: i }, DEVICE)
      else await ledger.append('test.event', { n: i, pad: PAD }, DEVICE)
    }
  }
  await Promise.all(Array.from({ length: inflight }, worker))
  return (performance.now() - t0) / 1000
}

export async function run(args: string[]): Promise<void> {
  const N = arg(args, 'records', 1_000_000)
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-bench-'))
  try {
    // append
    const appendLedger = await openTestLedger({ dir, name: 'append' })
    await provision(appendLedger)
    const appendN = Math.min(N, 50_000)
    const appendS = await fill(appendLedger, appendN)
    await appendLedger.close()

    // 100k chain: verify_all and catch-up
    const src = await openTestLedger({ dir, name: 'src' })
    await provision(src)
    await fill(src, 100_000 - src.count)
    const t1 = performance.now()
    const verified = await src.query.verifyAll()
    const verifyS = (performance.now() - t1) / 1000
    if (verified.problem) throw new Error(`verify found ${JSON.stringify(verified.problem)}`)
    const wires = [...src.query.records()].map(wireBytes)
    const dst = await openTestLedger({ dir, name: 'dst', checkpointWorker: true })
    const t2 = performance.now()
    // As the sync engine does: each 1000-record message pushed to the ledger's catch-up
    // session, worked through in steps until it has nothing left (records, index runs, commit).
    const relay = dst.relay()
    let refused = 0
    for (let i = 0; i < wires.length; i += 1000)
      relay.push(wires.slice(i, i + 1000), {
        owned: true,
        done: (r) => {
          refused += r.refused + r.held
        },
      })
    while (relay.step(50).more) {}
    if (refused > 0 || dst.count !== src.count) throw new Error(`catch-up refused ${refused} records`)
    const catchupS = (performance.now() - t2) / 1000
    if (dst.stateHash !== src.stateHash) throw new Error('catch-up ended with another state hash')
    await src.close()
    await dst.close()

    // N-record ledger: rebuild, open, size, rss
    const big = await openTestLedger({ dir, name: 'big' })
    await provision(big)
    const fillS = await fill(big, N - big.count)
    const hash = big.stateHash
    const t3 = performance.now()
    big.admin.rebuild()
    const rebuildS = (performance.now() - t3) / 1000
    if (big.stateHash !== hash) throw new Error('rebuild changed the state hash')
    big.admin.checkpoint()
    await big.close()
    const bytes = statSync(join(dir, 'big.db')).size
    const probe = JSON.parse(
      execFileSync(process.execPath, [join(import.meta.dirname, 'ledger-open.ts'), join(dir, 'big.db')], {
        encoding: 'utf8',
      }),
    ) as { open_s: number; rss_mb: number; count: number }
    if (probe.count !== N) throw new Error(`reopened ledger holds ${probe.count} records, expected ${N}`)

    const round = (x: number, d = 0) => Math.round(x * 10 ** d) / 10 ** d
    process.stdout.write(
      `${JSON.stringify({
        bench: 'ledger',
        records: N,
        append_per_s: round(appendN / appendS),
        verify_all_per_s: round(verified.checked / verifyS),
        catchup_per_s: round(wires.length / catchupS),
        state_rebuild_s_1m: round((rebuildS * 1_000_000) / N, 2),
        open_s_1m: round(probe.open_s, 3),
        bytes_per_record: round(bytes / N),
        rss_mb_1m: round(probe.rss_mb, 1),
        fill_per_s: round((N - 2) / fillS),
        node: process.version,
        cpus: (await import('node:os')).cpus().length,
        admin: ADMIN.id.slice(0, 8),
      })}\n`,
    )
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
