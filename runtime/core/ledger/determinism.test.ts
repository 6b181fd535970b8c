/**
 * Determinism of the fold: the same set of records gives the same state whatever order, batching
 * or verification mode they arrive in; partitions merge to one state; a late record that sorts
 * early replays to the state a fresh ledger computes; reopening a file changes nothing.
 */
import { describe, expect, it, onTestFinished } from 'vitest'
import { prng } from '../../../bench/durability-harness.ts'
import { tmpDir } from '../../../test/helpers/index.ts'
import { HybridClock } from './hlc.ts'
import type { Ledger } from './ledger.ts'
import { Reason } from './reasons.ts'
import {
  encodeBody,
  fromHex,
  RECORD_VERSION,
  type SignedRecord,
  signRecord,
  toHex,
  wireBytes,
} from './record.ts'
import { ADMIN, ADMIN2, DEVICE, DEVICE2, dbOf, openTestLedger, provision } from './testing/fixtures.ts'

type OpenOpts = Parameters<typeof openTestLedger>[0]

async function open(opts: OpenOpts = {}): Promise<Ledger> {
  const l = await openTestLedger(opts)
  onTestFinished(() => l.close())
  return l
}

function shuffle<T>(xs: readonly T[], seed: number): T[] {
  const rnd = prng(seed)
  const out = [...xs]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1))
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

function chunks<T>(xs: readonly T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size))
  return out
}

const wiresOf = (l: Ledger) => [...l.query.records()].map(wireBytes)
const exchange = (a: Ledger, b: Ledger) => {
  const fromA = wiresOf(a)
  a.ingest(wiresOf(b))
  b.ingest(fromA)
}

/** Fake wall time shared by the source ledgers, in the past so any ledger accepts it. */
function fakeTime(start = 1_700_000_000_000) {
  const t = { now: start }
  return { t, clock: () => new HybridClock({ now: () => t.now }) }
}

/**
 * A corpus made on two partitioned nodes that sync now and then: four authors, shared keys
 * written concurrently, a rejected negative value, a rejected enrolment by a device, and a
 * revocation with a cut made while the revoked device keeps appending elsewhere.
 */
async function corpus(): Promise<{ records: SignedRecord[]; stateHash: string; count: number }> {
  const { t, clock } = fakeTime()
  const s1 = await open({ clock: clock() })
  const s2 = await open({ clock: clock() })
  await provision(s1)
  await s1.append('site.enrol', { key: ADMIN2.publicKey, role: 'admin', name: 'second admin' }, ADMIN)
  await s1.append('site.enrol', { key: DEVICE2.publicKey, role: 'device', name: 'door-2' }, ADMIN)
  s2.ingest(wiresOf(s1))
  for (let i = 0; i < 6; i++) {
    t.now += 7
    await s1.append('test.put', { k: 'x', v: i }, DEVICE)
    await s2.append('test.put', { k: 'x', v: 100 + i }, DEVICE2)
    t.now += 3
    await s2.append('test.put', { k: `y${i % 3}`, v: i }, ADMIN2)
    await s1.append('test.event', { n: i }, ADMIN)
    if (i % 2 === 1) exchange(s1, s2)
  }
  t.now += 5
  await s1.append('test.put', { k: 'neg', v: -1 }, DEVICE) // test.NEGATIVE
  await s1.append('site.enrol', { key: new Uint8Array(32).fill(7), role: 'admin', name: 'x' }, DEVICE) // site.NOT_ADMIN
  const cut = s1.heads().get(DEVICE2.id)!.seq - 2
  await s1.append('site.revoke', { key: DEVICE2.publicKey, cut, reason: 'lost' }, ADMIN)
  for (let i = 0; i < 3; i++) {
    t.now += 2
    await s2.append('test.put', { k: 'x', v: 200 + i }, DEVICE2)
    await s2.append('test.put', { k: 'z', v: i }, ADMIN2)
  }
  exchange(s1, s2)
  expect(s1.count).toBe(s2.count)
  expect(s1.stateHash).toBe(s2.stateHash)
  const records = [...s1.query.records()]
  // The corpus does exercise fold-time rejections.
  const codes = records.map((r) => s1.query.rejectionOf(toHex(r.id))?.code).filter(Boolean)
  expect(new Set(codes)).toEqual(new Set(['test.NEGATIVE', 'site.NOT_ADMIN', Reason.REVOKED]))
  return { records, stateHash: s1.stateHash, count: s1.count }
}

async function ingestBatches(batches: Uint8Array[][], tipVerification: boolean): Promise<Ledger> {
  const l = await open()
  for (const b of batches) l.ingest(b, { tipVerification })
  return l
}

describe('ledger determinism', () => {
  const orders: Array<[string, (ws: Uint8Array[]) => Uint8Array[][]]> = [
    ['as stored, one batch', (ws) => [ws]],
    ['shuffled, one batch', (ws) => [shuffle(ws, 1)]],
    ['reversed, one batch', (ws) => [[...ws].reverse()]],
    ['shuffled, batches of 7', (ws) => chunks(shuffle(ws, 2), 7)],
    ['shuffled, batches of 3', (ws) => chunks(shuffle(ws, 3), 3)],
    ['reversed, batches of 4', (ws) => chunks([...ws].reverse(), 4)],
    ['shuffled, one at a time', (ws) => chunks(shuffle(ws, 4), 1)],
    ['reversed, one at a time', (ws) => chunks([...ws].reverse(), 1)],
  ]

  it('(a) the same records in any order and batching, genesis first, give one state', async () => {
    const ref = await corpus()
    const [genesis, ...rest] = ref.records.map(wireBytes)
    expect(ref.records[0]!.type).toBe('site.genesis')
    for (const [name, order] of orders) {
      for (const tipVerification of [false, true]) {
        const l = await ingestBatches([[genesis!], ...order(rest)], tipVerification)
        expect({ name, tipVerification, count: l.count, stateHash: l.stateHash }).toEqual({
          name,
          tipVerification,
          count: ref.count,
          stateHash: ref.stateHash,
        })
        expect(l.query.quarantined().filter((q) => q.retry)).toEqual([])
      }
    }
  })

  it('(a) the same records in any order and batching, genesis anywhere, give one state', async () => {
    // Records that arrive before their site's genesis must not be lost: once the genesis
    // arrives, the ledger must reach the same state (the GENESIS detail says such records are
    // "held until its genesis arrives").
    const ref = await corpus()
    const all = ref.records.map(wireBytes)
    const got: unknown[] = []
    const want: unknown[] = []
    for (const [name, order] of orders) {
      for (const tipVerification of [false, true]) {
        const l = await ingestBatches(order(all), tipVerification)
        got.push({ name, tipVerification, count: l.count, stateHash: l.stateHash })
        want.push({ name, tipVerification, count: ref.count, stateHash: ref.stateHash })
      }
    }
    expect(got).toEqual(want)
  })

  it('(b) partitioned merge: a revocation with a cut on A, the device appending past it on B', async () => {
    const a = await open()
    await provision(a)
    const k = 2
    for (let i = 1; i <= k; i++) await a.append('test.put', { k: `d${i}`, v: i }, DEVICE)
    const b = await open()
    b.ingest(wiresOf(a))
    expect(b.stateHash).toBe(a.stateHash)

    // Apart: A revokes the device at cut k; the device, on B, appends seq k+1..k+3.
    const revoke = await a.append('site.revoke', { key: DEVICE.publicKey, cut: k, reason: 'lost' }, ADMIN)
    expect(revoke.rejection).toBeNull()
    await a.append('test.put', { k: 'a-side', v: 1 }, ADMIN)
    const beyond: SignedRecord[] = []
    for (let i = k + 1; i <= k + 3; i++) {
      const r = await b.append('test.put', { k: `d${i}`, v: i }, DEVICE)
      expect(r.rejection).toBeNull() // B does not know of the revocation yet
      beyond.push(r.record)
    }
    expect(b.view.get(`test/d${k + 1}`)).toBe(k + 1)

    exchange(a, b)
    expect(a.count).toBe(b.count)
    expect(a.stateHash).toBe(b.stateHash)
    for (const l of [a, b]) {
      for (const r of beyond) expect(l.query.rejectionOf(toHex(r.id))?.code).toBe(Reason.REVOKED)
      for (const r of l.query.range(DEVICE.id, 1, k)) expect(l.query.rejectionOf(toHex(r.id))).toBeNull()
      expect(l.view.get(`test/d${k}`)).toBe(k)
      expect(l.view.get(`test/d${k + 1}`)).toBeUndefined()
      expect(l.view.get('test/a-side')).toBe(1)
      expect(l.roleOf(DEVICE.id)).toBeNull()
      expect((await l.query.verifyAll()).problem).toBeNull()
    }
    // A third node that sees everything at once agrees.
    const c = await open()
    c.ingest(wiresOf(a))
    expect(c.stateHash).toBe(a.stateHash)
  })

  it('(b) partitioned fork: the device key signs different seq 2 on A and B; after the proof both agree', async () => {
    const a = await open()
    await provision(a)
    await a.append('site.enrol', { key: ADMIN2.publicKey, role: 'admin', name: 'second admin' }, ADMIN)
    await a.append('test.put', { k: 'd1', v: 1 }, DEVICE)
    const b = await open()
    b.ingest(wiresOf(a))
    // Apart: the device key (cloned) appends a different seq 2 on each side.
    const onA = await a.append('test.put', { k: 'd2', v: 2 }, DEVICE)
    const onB = await b.append('test.put', { k: 'd2', v: 99 }, DEVICE)
    expect(onA.record.seq).toBe(2)
    expect(onB.record.seq).toBe(2)
    await b.append('test.put', { k: 'b-side', v: 1 }, ADMIN2)
    const evidence: Array<{ a: Uint8Array; b: Uint8Array }> = []
    a.events.on('fork', (e) => evidence.push(e))
    exchange(a, b)
    expect(evidence).toHaveLength(1)
    // A proves the fork; then the sides exchange again.
    const proof = await a.append('site.fork', { a: evidence[0]!.a, b: evidence[0]!.b }, ADMIN)
    expect(proof.rejection).toBeNull()
    exchange(a, b)
    exchange(a, b)
    for (const l of [a, b]) {
      expect(l.roleOf(DEVICE.id)).toBeNull()
      expect(l.view.get('test/d1')).toBe(1)
      expect(l.view.get('test/d2')).toBeUndefined()
      expect(l.view.get('test/b-side')).toBe(1)
    }
    expect(b.count).toBe(a.count)
    expect(b.stateHash).toBe(a.stateHash)
  })

  it('(b) partitioned fork, proof naming neither branch: both sides reach one state hash', async () => {
    const a = await open()
    await provision(a)
    await a.append('test.put', { k: 'd1', v: 1 }, DEVICE)
    const b = await open()
    b.ingest(wiresOf(a))
    const onA = await a.append('test.put', { k: 'd2', v: 2 }, DEVICE)
    const onB = await b.append('test.put', { k: 'd2', v: 99 }, DEVICE)
    const evidence: Array<{ a: Uint8Array; b: Uint8Array }> = []
    a.events.on('fork', (e) => evidence.push(e))
    exchange(a, b)
    expect(evidence).toHaveLength(1)
    // The proof names no parent, so it is acceptable on both sides of the fork.
    const head = a.heads().get(ADMIN.id)!
    const proof = signRecord(
      {
        v: RECORD_VERSION,
        site: a.site!,
        author: ADMIN.publicKey,
        seq: head.seq + 1,
        prev: fromHex(head.id),
        parents: [],
        hlc: a.admin.clock.tick(),
        type: 'site.fork',
        body: encodeBody({ a: evidence[0]!.a, b: evidence[0]!.b }),
      },
      ADMIN.privateKeyObject,
    )
    for (const l of [a, b]) {
      expect(l.ingest([wireBytes(proof)])).toMatchObject({ accepted: 1 })
      expect(l.roleOf(DEVICE.id)).toBeNull()
      expect(l.view.get('test/d1')).toBe(1)
      expect(l.view.get('test/d2')).toBeUndefined()
    }
    expect(a.query.rejectionOf(toHex(onA.record.id))?.code).toBe(Reason.FORKED)
    expect(b.query.rejectionOf(toHex(onB.record.id))?.code).toBe(Reason.FORKED)
    expect(b.count).toBe(a.count)
    expect(b.stateHash).toBe(a.stateHash)
  })

  it('(c) a late record that sorts early replays, reaching the state of a fresh ledger', async () => {
    const { t, clock } = fakeTime()
    const a = await open({ clock: clock() })
    await provision(a)
    const b = await open({ clock: clock() })
    b.ingest(wiresOf(a))
    const base = wiresOf(a)

    t.now += 1000
    const early = await b.append('test.put', { k: 'x', v: 1 }, DEVICE) // sorts first
    await b.append('test.put', { k: 'only-b', v: 1 }, DEVICE)
    t.now += 1000
    await a.append('test.put', { k: 'x', v: 2 }, ADMIN) // later: wins
    await a.append('test.put', { k: 'only-a', v: 2 }, ADMIN)
    await a.append('site.enrol', { key: DEVICE2.publicKey, role: 'device', name: 'door-2' }, ADMIN)
    const fromA = wiresOf(a).slice(base.length)
    const fromB = wiresOf(b).filter((w) => !base.some((x) => Buffer.from(x).equals(Buffer.from(w))))
    expect(fromB).toHaveLength(2)

    const l = await open()
    l.ingest(base)
    l.ingest(fromA)
    expect(l.view.get('test/x')).toBe(2)
    const replays = l.query.counters.replays
    const report = l.ingest([wireBytes(early.record)])
    expect(report.accepted).toBe(1)
    expect(l.query.counters.replays).toBe(replays + 1)
    expect(l.view.get('test/x')).toBe(2) // the later write still wins after the replay
    l.ingest(fromB)

    const fresh = await open()
    fresh.ingest([...base, ...fromA, ...fromB])
    expect(fresh.query.counters.replays).toBe(0)
    expect(l.count).toBe(fresh.count)
    expect(l.stateHash).toBe(fresh.stateHash)
    expect(l.view.get('test/only-b')).toBe(1)
    // And the same as a rebuild from scratch.
    const hash = l.stateHash
    l.admin.rebuild()
    expect(l.stateHash).toBe(hash)
  })

  it('(c) a late record that sorts before the undo horizon rebuilds instead, to the same state', async () => {
    const { t, clock } = fakeTime()
    const a = await open({ clock: clock() })
    await provision(a)
    const b = await open({ clock: clock() })
    const base = wiresOf(a)
    b.ingest(base)
    t.now += 1000
    const early = await b.append('test.put', { k: 'k0', v: -1 }, DEVICE) // test.NEGATIVE
    const late = await b.append('test.put', { k: 'k1', v: 999 }, DEVICE)
    for (let i = 0; i < 1100; i++) {
      t.now += 1
      await a.append('test.put', { k: `k${i % 5}`, v: i }, ADMIN)
    }
    const fromA = wiresOf(a).slice(base.length)

    // Undo data is pruned every 1000 folds, down to the newest 20 state-changing records.
    const l = await open({ undoKeep: 20 })
    l.ingest(base)
    for (const w of fromA) l.ingest([w])
    const undoRows = (dbOf(l).prepare('SELECT count(*) AS n FROM undo').get() as { n: number }).n
    expect(undoRows).toBeLessThan(200)
    const [replays, rebuilds] = [l.query.counters.replays, l.query.counters.rebuilds]
    l.ingest([wireBytes(early.record), wireBytes(late.record)])
    expect(l.query.counters.replays).toBe(replays + 1)
    expect(l.query.counters.rebuilds).toBe(rebuilds + 1)
    expect(l.query.rejectionOf(toHex(early.record.id))?.code).toBe('test.NEGATIVE')

    const fresh = await open()
    fresh.ingest([...base, ...fromA, wireBytes(early.record), wireBytes(late.record)])
    expect(l.count).toBe(fresh.count)
    expect(l.stateHash).toBe(fresh.stateHash)
    expect(l.view.get('test/k1')).toBe(1096) // A's last write to k1 sorts after DEVICE's
  })

  it('(d) close and reopen: same state hash, count and heads, no rebuild; rebuild() agrees', async () => {
    const dir = tmpDir()
    const l = await openTestLedger({ dir })
    await provision(l)
    await l.append('site.enrol', { key: ADMIN2.publicKey, role: 'admin', name: 'second admin' }, ADMIN)
    const other = await open()
    other.ingest(wiresOf(l))
    for (let i = 0; i < 5; i++) await l.append('test.put', { k: 'x', v: i }, DEVICE)
    for (let i = 0; i < 3; i++) await other.append('test.put', { k: 'x', v: 10 + i }, ADMIN2)
    await l.append('site.revoke', { key: DEVICE.publicKey, cut: 3, reason: 'lost' }, ADMIN)
    l.ingest(wiresOf(other)) // concurrent records: a replay
    await l.append('test.put', { k: 'neg', v: -5 }, ADMIN)
    const saved = { stateHash: l.stateHash, count: l.count, heads: l.heads() }
    expect(saved.count).toBe(3 + 5 + 1 + 3 + 1)
    await l.close()

    const reopened = await openTestLedger({ dir })
    onTestFinished(() => reopened.close())
    expect(reopened.query.counters.rebuilds).toBe(0)
    expect({ stateHash: reopened.stateHash, count: reopened.count, heads: reopened.heads() }).toEqual(saved)
    expect(reopened.roleOf(DEVICE.id)).toBeNull()
    expect((await reopened.query.verifyAll()).problem).toBeNull()
    reopened.admin.rebuild()
    expect(reopened.query.counters.rebuilds).toBe(1)
    expect(reopened.stateHash).toBe(saved.stateHash)
    // It keeps appending where it left off.
    const next = await reopened.append('test.put', { k: 'after', v: 1 }, ADMIN)
    expect(next.rejection).toBeNull()
    expect(next.record.seq).toBe(saved.heads.get(ADMIN.id)!.seq + 1)
  })
})
