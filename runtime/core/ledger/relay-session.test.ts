/**
 * The catch-up session (./relay-session.ts): messages pushed, worked through in bounded steps,
 * ending where ordinary ingest ends; its transaction's bounds on an injected clock; ids left
 * waiting by a crash reloaded and written; a put-off replay run once the burst is over.
 */
import { copyFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { tmpDir } from '../../../test/helpers/index.ts'
import { FakeClock } from '../clock.ts'
import { MAX_UNSETTLED_MS, RELAY_COMMIT_MS, SETTLE_CHECK_MS } from './bounds.ts'
import type { Ledger } from './ledger.ts'
import { compareOrder, toHex, wireBytes } from './record.ts'
import { openDb } from './store.ts'
import { ADMIN, DEVICE, DEVICE2, openTestLedger, provision } from './testing/fixtures.ts'
import type { IngestReport } from './types.ts'

async function open(opts: Parameters<typeof openTestLedger>[0] = {}): Promise<Ledger> {
  const l = await openTestLedger(opts)
  onTestFinished(() => l.close())
  return l
}

/** A source ledger of two devices' interleaved records; its wires in total order. */
async function source(dir: string, n: number) {
  const src = await open({ dir, name: 'src' })
  await provision(src)
  await src.append('site.enrol', { key: DEVICE2.publicKey, role: 'device', name: 'd2' }, ADMIN)
  for (let i = 0; i < n; i++) {
    await src.append('test.put', { k: `a${i % 9}`, v: i }, DEVICE)
    await src.append('test.put', { k: `b${i % 7}`, v: i }, DEVICE2)
  }
  return { src, wires: [...src.query.records()].sort(compareOrder).map(wireBytes) }
}

/** Steps until the session has nothing left to do now; returns how many steps that took. */
function drain(l: Ledger, moreComing = false, budgetMs = 0.5): number {
  let steps = 0
  while (l.relay().step(budgetMs, moreComing).more) if (++steps > 100_000) throw new Error('no end')
  return steps + 1
}

const stored = (file: string) => {
  const reader = openDb(file, { readonly: true })
  onTestFinished(() => {
    reader.close()
  })
  return () => (reader.prepare('SELECT count(*) AS n FROM records').get() as { n: number }).n
}

describe('relay session', () => {
  it('clear() drops unworked messages without calling their done; what was ingested stays', async () => {
    const dir = tmpDir()
    const { wires } = await source(dir, 150)
    const dst = await open({ dir, name: 'dst' })
    const done: IngestReport[] = []
    dst.relay().push(wires.slice(0, 64), { owned: true, done: (r) => done.push(r) })
    while (done.length === 0) dst.relay().step(0.5, true)
    dst.relay().push(wires.slice(64), { owned: true, done: (r) => done.push(r) })
    dst.relay().clear()
    expect(dst.relay().queued).toBe(0)
    drain(dst)
    expect(done).toHaveLength(1)
    expect(dst.count).toBe(64)
    // The rest pushed again (as the next sync fetches it) lands as if never dropped.
    dst.relay().push(wires.slice(64), { owned: true, done: (r) => done.push(r) })
    drain(dst)
    expect(done[1]?.accepted).toBe(wires.length - 64)
  })

  it('takes pushed messages in bounded steps and ends where ordinary ingest ends, index written', async () => {
    const dir = tmpDir()
    const { src, wires } = await source(dir, 150)
    const dst = await open({ dir, name: 'dst' })
    const reports: IngestReport[] = []
    for (let i = 0; i < wires.length; i += 64)
      dst.relay().push(wires.slice(i, i + 64), { owned: true, done: (r) => reports.push(r) })
    expect(dst.relay().queued).toBe(Math.ceil(wires.length / 64))
    expect(drain(dst)).toBeGreaterThan(reports.length) // more than one step per message
    expect(dst.relay().queued).toBe(0)
    expect(reports.reduce((n, r) => n + r.accepted, 0)).toBe(wires.length)
    expect(dst.count).toBe(src.count)
    expect(dst.stateHash).toBe(src.stateHash)
    // Once nothing more is coming, the ids get their record_ids rows.
    expect(dst.relay().idsBehind).toBe(0)
    expect(dst.query.indexedIds()).toBe(dst.count)
    // Committed: another connection sees every record.
    expect(stored(join(dir, 'dst.db'))()).toBe(src.count)
  })

  it('counts what a message brought once, refused and duplicate records included', async () => {
    const dir = tmpDir()
    const { wires } = await source(dir, 5)
    const dst = await open({ dir, name: 'dst' })
    const junk = new Uint8Array(80).fill(9)
    let report: IngestReport | null = null
    dst.relay().push([...wires, wires[3]!, junk], { done: (r) => (report = r) })
    let accepted = 0
    for (;;) {
      const step = dst.relay().step()
      accepted += step.report?.accepted ?? 0
      if (!step.more) break
    }
    expect(accepted).toBe(wires.length)
    expect(report).toMatchObject({ accepted: wires.length, duplicates: 1, refused: 1 })
  })

  it('commits its transaction by itself once it is RELAY_COMMIT_MS old, on the injected clock', async () => {
    const dir = tmpDir()
    const { wires } = await source(dir, 40)
    const clock = new FakeClock(1_000)
    const dst = await open({ dir, name: 'dst', timers: clock })
    const count = stored(join(dir, 'dst.db'))
    const relay = dst.relay()
    relay.push(wires.slice(0, 20))
    relay.push(wires.slice(20))
    // Decode, vouch and ingest the first message: its records wait in the open transaction.
    while (relay.queued === 2) relay.step()
    expect(dst.count).toBeGreaterThanOrEqual(20)
    expect(count()).toBe(0)
    clock.advance(RELAY_COMMIT_MS - 1)
    expect(count()).toBe(0)
    clock.advance(1)
    // The transaction's timer committed it: those records are visible to other connections.
    expect(count()).toBe(dst.count)
    expect(clock.pending).toBe(0)
    drain(dst)
    expect(count()).toBe(wires.length)
  })

  it('ids a crash left waiting are reloaded at open, and the next steps write their rows', async () => {
    const dir = tmpDir()
    const { src, wires } = await source(dir, 30)
    const dst = await open({ dir, name: 'dst' })
    dst.relay().push(wires.slice(0, -1))
    // More records are coming: the ids wait for the burst's end; the records are committed.
    drain(dst, true)
    expect(dst.relay().idsBehind).toBe(wires.length - 1)
    // What a crash or power cut would leave: the committed database and WAL.
    for (const ext of ['', '-wal']) copyFileSync(join(dir, `dst.db${ext}`), join(dir, `cut.db${ext}`))
    const cut = await open({ file: join(dir, 'cut.db') })
    expect(cut.query.indexedIds()).toBe(0)
    expect(cut.relay().idsBehind).toBe(wires.length - 1)
    // The last record names parents found only among the waiting ids.
    cut.relay().push(wires.slice(-1))
    drain(cut)
    expect(cut.relay().idsBehind).toBe(0)
    expect(cut.query.indexedIds()).toBe(wires.length)
    expect(cut.stateHash).toBe(src.stateHash)
  })

  it('puts off the replay of late records while more are coming, then settles: at the burst end or MAX_UNSETTLED_MS', async () => {
    const dir = tmpDir()
    const late = await open({ dir, name: 'late' })
    await provision(late)
    await late.append('site.enrol', { key: DEVICE2.publicKey, role: 'device', name: 'd2' }, ADMIN)
    const early = await open({ dir, name: 'early' })
    early.ingest([...late.query.records()].map(wireBytes))
    for (let i = 0; i < 30; i++) await early.append('test.put', { k: `k${i % 7}`, v: i }, DEVICE2)
    for (let i = 0; i < 30; i++) await late.append('test.put', { k: `k${i % 5}`, v: 100 + i }, DEVICE)
    const reference = await open({ dir, name: 'reference' })
    reference.ingest([...late.query.records(), ...early.query.records()].map(wireBytes))
    const wires = [...early.query.records()].filter((r) => toHex(r.author) === DEVICE2.id).map(wireBytes)

    const clock = new FakeClock(5_000)
    const file = join(dir, 'late.db')
    await late.close()
    const l = await open({ file, timers: clock })
    l.relay().push(wires)
    let last = l.relay().step(0.5, true)
    while (last.more) last = l.relay().step(0.5, true)
    expect(l.relay().unsettled).toBe(true)
    expect(last.wakeInMs).toBe(SETTLE_CHECK_MS)
    expect(l.stateHash).not.toBe(reference.stateHash)
    clock.advance(MAX_UNSETTLED_MS)
    expect(l.relay().step(0.5, true).wakeInMs).toBeNull()
    expect(l.relay().unsettled).toBe(false)
    expect(l.stateHash).toBe(reference.stateHash)

    // The same burst with nothing more coming settles in the step that drains it.
    const again = await open({ dir, name: 'again' })
    again.ingest([...reference.query.records()].filter((r) => toHex(r.author) !== DEVICE2.id).map(wireBytes))
    again.relay().push(wires)
    drain(again)
    expect(again.relay().unsettled).toBe(false)
    expect(again.stateHash).toBe(reference.stateHash)
  })
})
