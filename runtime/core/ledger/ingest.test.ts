/**
 * Hostile and broken input to Ledger.ingest: one test per bad input. Each asserts the stable
 * reason code, that nothing committed was lost or altered (count, state hash, verifyAll), and
 * that the node keeps working afterwards (a valid append and a valid ingest both succeed).
 */
import { createHash } from 'node:crypto'
import { describe, expect, it, onTestFinished } from 'vitest'
import { HybridClock } from './hlc.ts'
import type { Ledger, Signer } from './ledger.ts'
import { Reason } from './reasons.ts'
import {
  decodeWire,
  encodeBody,
  encodeRecord,
  fromHex,
  RECORD_VERSION,
  RecordError,
  type RecordFields,
  SIG_BYTES,
  type SignedRecord,
  signRecord,
  toHex,
  wireBytes,
} from './record.ts'
import {
  ADMIN,
  ADMIN2,
  DEVICE,
  DEVICE2,
  dbOf,
  openTestLedger,
  provision,
  testKey,
} from './testing/fixtures.ts'

type OpenOpts = Parameters<typeof openTestLedger>[0]

async function open(opts: OpenOpts = {}): Promise<Ledger> {
  const l = await openTestLedger(opts)
  onTestFinished(() => l.close())
  return l
}

/** A provisioned site (ADMIN genesis, DEVICE enrolled) where DEVICE has put test/a = 1. */
async function site(opts: OpenOpts = {}): Promise<Ledger> {
  const l = await open(opts)
  await provision(l)
  const r = await l.append('test.put', { k: 'a', v: 1 }, DEVICE)
  expect(r.rejection).toBeNull()
  return l
}

/**
 * Fields of the next record `signer` would append to `l`, built as Ledger.#build does (seq and
 * prev from the author's head, a fresh clock); `over` replaces any field.
 */
function fieldsFor(
  l: Ledger,
  signer: Signer,
  type: string,
  body: unknown,
  over: Partial<RecordFields> = {},
): RecordFields {
  const head = l.heads().get(toHex(signer.publicKey))
  return {
    v: RECORD_VERSION,
    site: l.site!,
    author: signer.publicKey,
    seq: (head?.seq ?? 0) + 1,
    prev: head ? fromHex(head.id) : null,
    parents: [],
    hlc: l.admin.clock.tick(),
    type,
    body: encodeBody(body),
    ...over,
  }
}

function craft(
  l: Ledger,
  signer: Signer,
  type: string,
  body: unknown,
  over: Partial<RecordFields> = {},
): SignedRecord {
  return signRecord(fieldsFor(l, signer, type, body, over), signer.privateKeyObject)
}

/** Head record id of an author, as bytes. */
function headId(l: Ledger, signer: Signer): Uint8Array {
  return fromHex(l.heads().get(toHex(signer.publicKey))!.id)
}

/** Deterministic pseudo-random bytes. */
function prngBytes(seed: string, n: number): Uint8Array {
  const out = new Uint8Array(n)
  let block = createHash('sha256').update(seed).digest()
  for (let i = 0; i < n; i += 32) {
    out.set(block.subarray(0, Math.min(32, n - i)), i)
    block = createHash('sha256').update(block).digest()
  }
  return out
}

function snapshot(l: Ledger) {
  return { count: l.count, stateHash: l.stateHash }
}

let afterSeq = 0

/**
 * The bad input changed nothing committed, and the node still appends and ingests. Appends
 * and ingests as ADMIN, which no test cuts.
 */
async function expectUnharmedAndWorking(l: Ledger, before: { count: number; stateHash: string }) {
  expect(snapshot(l)).toEqual(before)
  expect((await l.query.verifyAll()).problem).toBeNull()
  const n = ++afterSeq
  const appended = await l.append('test.put', { k: `after-${n}`, v: n }, ADMIN)
  expect(appended.rejection).toBeNull()
  expect(l.count).toBe(before.count + 1)
  expect(l.view.get(`test/after-${n}`)).toBe(n)
  const next = craft(l, ADMIN, 'test.put', { k: `ingested-${n}`, v: n })
  const report = l.ingest([wireBytes(next)])
  expect(report).toMatchObject({ accepted: 1, refused: 0 })
  expect(l.count).toBe(before.count + 2)
  expect(l.view.get(`test/ingested-${n}`)).toBe(n)
  expect(l.query.rejectionOf(toHex(next.id))).toBeNull()
  expect((await l.query.verifyAll()).problem).toBeNull()
}

function lastQuarantined(l: Ledger) {
  return l.query.quarantined().at(-1)
}

describe('Ledger.ingest refuses bad input with a stable reason', () => {
  it('truncated bytes → MALFORMED; the full record is still accepted afterwards', async () => {
    const l = await site()
    const before = snapshot(l)
    const good = wireBytes(craft(l, DEVICE, 'test.put', { k: 'b', v: 2 }))
    for (const cut of [good.length - 1, good.length - 10, SIG_BYTES + 20, 40, 0]) {
      const report = l.ingest([good.subarray(0, cut)])
      expect(report).toMatchObject({ accepted: 0, refused: 1, held: 0, reasons: { MALFORMED: 1 } })
      expect(lastQuarantined(l)).toMatchObject({ code: Reason.MALFORMED, retry: false })
    }
    await expectUnharmedAndWorking(l, before)
    // The truncated copies did not poison the real record.
    expect(l.ingest([good])).toMatchObject({ accepted: 1 })
    expect(l.view.get('test/b')).toBe(2)
  })

  it('random garbage bytes → MALFORMED', async () => {
    const l = await site()
    const before = snapshot(l)
    const wires = [prngBytes('garbage-1', 200), prngBytes('garbage-2', 81), prngBytes('garbage-3', 3000)]
    const report = l.ingest(wires)
    expect(report).toMatchObject({ accepted: 0, refused: 3, held: 0, reasons: { MALFORMED: 3 } })
    expect(l.query.quarantined().map((q) => q.code)).toEqual(['MALFORMED', 'MALFORMED', 'MALFORMED'])
    await expectUnharmedAndWorking(l, before)
  })

  it('wrong record version (v: 2, validly signed) → VERSION', async () => {
    const l = await site()
    const before = snapshot(l)
    const fields = fieldsFor(l, DEVICE, 'test.put', { k: 'b', v: 2 }, { v: 2 })
    const bytes = encodeRecord(fields)
    const v2 = signRecord(fields, DEVICE.privateKeyObject)
    expect(v2.bytes).toEqual(bytes)
    expect(() => decodeWire(wireBytes(v2))).toThrow(RecordError)
    const report = l.ingest([wireBytes(v2)])
    expect(report).toMatchObject({ accepted: 0, refused: 1, reasons: { VERSION: 1 } })
    expect(lastQuarantined(l)).toMatchObject({ code: Reason.VERSION, retry: false })
    await expectUnharmedAndWorking(l, before)
  })

  it("a record of an unknown type never blocks its author's later records", async () => {
    const l = await site()
    const before = snapshot(l)
    const r = craft(l, DEVICE, 'nobody.thing', { x: 1 })
    const report = l.ingest([wireBytes(r)])
    // Stored with its fold deferred: no state change, no rejection marker, no quarantine row.
    expect(report).toMatchObject({ accepted: 1, refused: 0, held: 0 })
    expect(l.count).toBe(before.count + 1)
    expect(l.stateHash).toBe(before.stateHash)
    expect(l.query.rejectionOf(toHex(r.id))).toBeNull()
    expect(l.query.statusOf(toHex(r.id))).toBe('deferred')
    expect(l.query.deferredCount).toBe(1)
    expect(l.query.quarantined()).toEqual([])
    // DEVICE's chain goes on: its next record is accepted and applied.
    const next = craft(l, DEVICE, 'test.put', { k: 'd', v: 4 })
    expect(l.ingest([wireBytes(next)])).toMatchObject({ accepted: 1 })
    expect(l.query.statusOf(toHex(next.id))).toBe('applied')
    expect(l.view.get('test/d')).toBe(4)
    expect((await l.query.verifyAll()).problem).toBeNull()
  })

  it('oversize body (> 4096 bytes) → OVERSIZE', async () => {
    const l = await site()
    const before = snapshot(l)
    const r = craft(l, DEVICE, 'test.put', { k: 'big', v: 1, pad: 'x'.repeat(5000) })
    expect(r.body.length).toBeGreaterThan(4096)
    const report = l.ingest([wireBytes(r)])
    expect(report).toMatchObject({ accepted: 0, refused: 1, reasons: { OVERSIZE: 1 } })
    expect(lastQuarantined(l)).toMatchObject({ code: Reason.OVERSIZE, retry: false })
    await expectUnharmedAndWorking(l, before)
  })

  it('oversize record (> 8192 bytes on the wire) → OVERSIZE', async () => {
    const l = await site()
    const before = snapshot(l)
    const bytes = encodeRecord(fieldsFor(l, DEVICE, 'test.put', { pad: 'y'.repeat(9000) }))
    const wire = new Uint8Array(SIG_BYTES + bytes.length)
    wire.set(bytes, SIG_BYTES)
    const report = l.ingest([wire])
    expect(report).toMatchObject({ accepted: 0, refused: 1, reasons: { OVERSIZE: 1 } })
    await expectUnharmedAndWorking(l, before)
  })

  it('bad signature (one flipped byte) → BAD_SIGNATURE, also under tip verification', async () => {
    const l = await site()
    const before = snapshot(l)
    const r = craft(l, DEVICE, 'test.put', { k: 'b', v: 2 })
    for (const at of [0, 31, 32, 63]) {
      const wire = wireBytes(r)
      wire[at]! ^= 0x01
      for (const tipVerification of [false, true]) {
        const report = l.ingest([wire], { tipVerification })
        expect(report).toMatchObject({ accepted: 0, refused: 1, reasons: { BAD_SIGNATURE: 1 } })
      }
    }
    // A flipped byte in the signed bytes (the body's value 2 → 3, still canonical) changes the
    // id: the signature no longer matches.
    const tampered = wireBytes(r)
    const at = Buffer.from(tampered).indexOf(Buffer.from(r.body)) + r.body.length - 1
    expect(tampered[at]).toBe(2)
    tampered[at]! ^= 0x01
    expect(decodeWire(tampered).body).toEqual(encodeBody({ k: 'b', v: 3 }))
    expect(l.ingest([tampered])).toMatchObject({ accepted: 0, refused: 1, reasons: { BAD_SIGNATURE: 1 } })
    expect(lastQuarantined(l)).toMatchObject({ code: Reason.BAD_SIGNATURE, retry: false })
    await expectUnharmedAndWorking(l, before)
    // The genuine record was never blocked by its forgeries.
    expect(l.ingest([wireBytes(r)])).toMatchObject({ accepted: 1 })
  })

  it('a key that is not enrolled (its seq-1 record) → NOT_AUTHORIZED', async () => {
    const l = await site()
    const before = snapshot(l)
    const stranger = testKey(99)
    // Names the admin's head (the enrolment of DEVICE) as parent, but no enrolment names it.
    const r = craft(l, stranger, 'test.put', { k: 'a', v: 666 }, { parents: [headId(l, ADMIN)] })
    expect(r.seq).toBe(1)
    const report = l.ingest([wireBytes(r)])
    expect(report).toMatchObject({ accepted: 0, refused: 1, reasons: { NOT_AUTHORIZED: 1 } })
    expect(lastQuarantined(l)).toMatchObject({ code: Reason.NOT_AUTHORIZED, retry: false })
    // Without parents at all, too.
    const bare = craft(l, stranger, 'test.put', { k: 'a', v: 667 })
    expect(l.ingest([wireBytes(bare)])).toMatchObject({ accepted: 0, reasons: { NOT_AUTHORIZED: 1 } })
    expect(l.roleOf(stranger.id)).toBeNull()
    expect(l.view.get('test/a')).toBe(1)
    await expectUnharmedAndWorking(l, before)
  })

  it('a key whose only enrolment was rejected (by a device) → folded as NOT_AUTHORIZED', async () => {
    const l = await site()
    const stranger = testKey(98)
    const enrol = await l.append('site.enrol', { key: stranger.publicKey, role: 'admin', name: 'x' }, DEVICE)
    expect(enrol.rejection?.code).toBe('site.NOT_ADMIN')
    const before = snapshot(l)
    const r = craft(l, stranger, 'test.put', { k: 'a', v: 666 }, { parents: [enrol.record.id] })
    const report = l.ingest([wireBytes(r)])
    // Stored (its ancestry names an enrolment record) but not applied by the fold.
    expect(report.accepted).toBe(1)
    expect(l.query.rejectionOf(toHex(r.id))?.code).toBe(Reason.NOT_AUTHORIZED)
    expect(l.view.get('test/a')).toBe(1)
    expect(l.roleOf(stranger.id)).toBeNull()
    const after = snapshot(l)
    expect(after.count).toBe(before.count + 1)
    await expectUnharmedAndWorking(l, after)
  })

  it('wrong previous hash → BAD_PREV', async () => {
    const l = await site()
    await l.append('test.put', { k: 'b', v: 2 }, DEVICE)
    const before = snapshot(l)
    const head = l.heads().get(DEVICE.id)!
    const older = l.query.range(DEVICE.id, head.seq - 1, 1)[0]!
    const wrongs = [prngBytes('not-a-record', 32), older.id]
    for (const prev of wrongs) {
      const r = craft(l, DEVICE, 'test.put', { k: 'c', v: 3 }, { prev })
      expect(r.seq).toBe(head.seq + 1)
      const report = l.ingest([wireBytes(r)])
      expect(report).toMatchObject({ accepted: 0, refused: 1, held: 0, reasons: { BAD_PREV: 1 } })
      expect(lastQuarantined(l)).toMatchObject({ code: Reason.BAD_PREV, retry: false })
    }
    expect(l.view.get('test/c')).toBeUndefined()
    await expectUnharmedAndWorking(l, before)
  })

  it('sequence gap → SEQ_GAP, held, then accepted once the gap is filled', async () => {
    const l = await site()
    const before = snapshot(l)
    const r1 = craft(l, DEVICE, 'test.put', { k: 'g1', v: 1 })
    const r2 = craft(l, DEVICE, 'test.put', { k: 'g2', v: 2 }, { seq: r1.seq + 1, prev: r1.id })
    const r3 = craft(l, DEVICE, 'test.put', { k: 'g3', v: 3 }, { seq: r2.seq + 1, prev: r2.id })
    const report = l.ingest([wireBytes(r3), wireBytes(r2)])
    expect(report).toMatchObject({ accepted: 0, refused: 0, held: 2, reasons: { SEQ_GAP: 2 } })
    expect(l.query.quarantined().map((q) => [q.code, q.retry])).toEqual([
      ['SEQ_GAP', true],
      ['SEQ_GAP', true],
    ])
    // A retry while the gap is still open keeps them held.
    expect(l.admin.retryHeld()).toMatchObject({ accepted: 0, held: 2 })
    await expectUnharmedAndWorking(l, before)
    // Fill the gap: the held records follow.
    const filled = l.ingest([wireBytes(r1)])
    expect(filled.accepted).toBe(1)
    expect(l.count).toBe(before.count + 2 + 3)
    expect([l.view.get('test/g1'), l.view.get('test/g2'), l.view.get('test/g3')]).toEqual([1, 2, 3])
    expect(l.heads().get(DEVICE.id)).toEqual({ seq: r3.seq, id: toHex(r3.id) })
    expect(l.query.quarantined().filter((q) => q.retry)).toEqual([])
    expect((await l.query.verifyAll()).problem).toBeNull()
  })

  it('a forged copy (same id, bad signature) sent BEFORE a held record does not displace it', async () => {
    const l = await site()
    const r1 = craft(l, DEVICE, 'test.put', { k: 'g1', v: 1 })
    const r2 = craft(l, DEVICE, 'test.put', { k: 'g2', v: 2 }, { seq: r1.seq + 1, prev: r1.id })
    const forged = wireBytes(r2)
    forged[5]! ^= 0x40 // signature byte: same record bytes, same id
    expect(l.ingest([forged])).toMatchObject({ refused: 1, reasons: { BAD_SIGNATURE: 1 } })
    expect(l.ingest([wireBytes(r2)])).toMatchObject({ held: 1, reasons: { SEQ_GAP: 1 } })
    const count = l.count
    expect(l.ingest([wireBytes(r1)])).toMatchObject({ accepted: 1 })
    // The genuine r2 was held: filling the gap must accept it.
    expect(l.count).toBe(count + 2)
    expect(l.view.get('test/g2')).toBe(2)
  })

  it('a forged copy (same id, bad signature) sent AFTER a held record does not displace it', async () => {
    const l = await site()
    const r1 = craft(l, DEVICE, 'test.put', { k: 'g1', v: 1 })
    const r2 = craft(l, DEVICE, 'test.put', { k: 'g2', v: 2 }, { seq: r1.seq + 1, prev: r1.id })
    expect(l.ingest([wireBytes(r2)])).toMatchObject({ held: 1, reasons: { SEQ_GAP: 1 } })
    const forged = wireBytes(r2)
    forged[5]! ^= 0x40
    expect(l.ingest([forged])).toMatchObject({ refused: 1, reasons: { BAD_SIGNATURE: 1 } })
    // Anyone can send such a copy; the genuine record must still be held.
    const count = l.count
    expect(l.ingest([wireBytes(r1)])).toMatchObject({ accepted: 1 })
    expect(l.count).toBe(count + 2)
    expect(l.view.get('test/g2')).toBe(2)
  })

  it('duplicate record → idempotent no-op (report.duplicates, count unchanged)', async () => {
    const l = await site()
    const before = snapshot(l)
    const all = [...l.query.records()].map(wireBytes)
    const report = l.ingest(all)
    expect(report).toEqual({ accepted: 0, duplicates: all.length, held: 0, refused: 0, reasons: {} })
    expect(l.ingest(all, { tipVerification: true })).toMatchObject({ accepted: 0, duplicates: all.length })
    expect(l.query.quarantined()).toEqual([])
    await expectUnharmedAndWorking(l, before)
    // The same new record twice in one batch: stored once.
    const r = craft(l, DEVICE, 'test.put', { k: 'twice', v: 2 })
    const count = l.count
    expect(l.ingest([wireBytes(r), wireBytes(r)])).toMatchObject({ accepted: 1, duplicates: 1 })
    expect(l.count).toBe(count + 1)
  })

  it('fork: a second record at a held seq → FORK evidence; a site.fork proof cuts the key (FORKED)', async () => {
    const l = await site()
    const s2 = await l.append('test.put', { k: 'b', v: 2 }, DEVICE)
    const s3 = await l.append('test.put', { k: 'c', v: 3 }, DEVICE)
    const s1 = l.query.range(DEVICE.id, 1, 1)[0]!
    expect(s2.record.seq).toBe(2)
    const before = snapshot(l)
    const forks: Array<{ author: string; seq: number; a: Uint8Array; b: Uint8Array }> = []
    l.events.on('fork', (e) => forks.push(e))
    const other = craft(l, DEVICE, 'test.put', { k: 'b', v: 99 }, { seq: 2, prev: s1.id })
    const report = l.ingest([wireBytes(other)])
    expect(report).toMatchObject({ accepted: 0, refused: 1, held: 0, reasons: { FORK: 1 } })
    expect(lastQuarantined(l)).toMatchObject({ code: Reason.FORK, retry: false })
    expect(forks).toHaveLength(1)
    expect(forks[0]!.author).toBe(DEVICE.id)
    expect(forks[0]!.seq).toBe(2)
    expect(forks[0]!.a).toEqual(wireBytes(s2.record))
    expect(forks[0]!.b).toEqual(wireBytes(other))
    const rows = dbOf(l).prepare('SELECT author, seq, held_id, other_id FROM forks').all() as Array<{
      author: Uint8Array
      seq: number
      held_id: Uint8Array
      other_id: Uint8Array
    }>
    expect(rows).toHaveLength(1)
    expect(toHex(rows[0]!.author)).toBe(DEVICE.id)
    expect(rows[0]!.seq).toBe(2)
    expect(toHex(rows[0]!.held_id)).toBe(toHex(s2.record.id))
    expect(toHex(rows[0]!.other_id)).toBe(toHex(other.id))
    // Detection alone changes nothing committed.
    expect(snapshot(l)).toEqual(before)
    expect(l.view.get('test/b')).toBe(2)

    // The proof, from the event, cuts the key at seq 1.
    const proof = await l.append('site.fork', { a: forks[0]!.a, b: forks[0]!.b }, ADMIN)
    expect(proof.rejection).toBeNull()
    expect(l.query.rejectionOf(toHex(s1.id))).toBeNull()
    expect(l.query.rejectionOf(toHex(s2.record.id))?.code).toBe(Reason.FORKED)
    expect(l.query.rejectionOf(toHex(s3.record.id))?.code).toBe(Reason.FORKED)
    expect(l.view.get('test/a')).toBe(1)
    expect(l.view.get('test/b')).toBeUndefined()
    expect(l.view.get('test/c')).toBeUndefined()
    expect(l.roleOf(DEVICE.id)).toBeNull()
    expect(l.count).toBe(before.count + 1)
    // New records by the forked key are stored but not applied.
    const late = await l.append('test.put', { k: 'd', v: 4 }, DEVICE)
    expect(late.rejection?.code).toBe(Reason.FORKED)
    await expectUnharmedAndWorking(l, snapshot(l))
  })

  it('timestamp far in the future → CLOCK_FUTURE, held until the wall clock catches up', async () => {
    let now = 1_750_000_000_000
    const l = await site({ clock: new HybridClock({ now: () => now }) })
    const before = snapshot(l)
    const ahead = 60 * 60_000
    const r = craft(l, DEVICE, 'test.put', { k: 'f', v: 5 }, { hlc: { ms: now + ahead, c: 0 } })
    const report = l.ingest([wireBytes(r)])
    expect(report).toMatchObject({ accepted: 0, refused: 0, held: 1, reasons: { CLOCK_FUTURE: 1 } })
    expect(lastQuarantined(l)).toMatchObject({ code: Reason.CLOCK_FUTURE, retry: true })
    // The clock did not adopt the far-future time.
    expect(l.admin.clock.last.ms).toBeLessThan(now + ahead)
    now += 30 * 60_000 // still more than 10 minutes short
    expect(l.admin.retryHeld()).toMatchObject({ accepted: 0, held: 1, reasons: { CLOCK_FUTURE: 1 } })
    await expectUnharmedAndWorking(l, before)
    expect(l.view.get('test/f')).toBeUndefined()
    now += 25 * 60_000 // now within 10 minutes of the record's clock
    expect(l.admin.retryHeld()).toMatchObject({ accepted: 1, held: 0 })
    expect(l.view.get('test/f')).toBe(5)
    expect(l.query.rejectionOf(toHex(r.id))).toBeNull()
    expect(l.query.quarantined().filter((q) => q.retry)).toEqual([])
    expect(l.count).toBe(before.count + 3)
    expect((await l.query.verifyAll()).problem).toBeNull()
  })

  it('record for another site → WRONG_SITE (even by the same keys at colliding seqs)', async () => {
    const l = await site()
    const before = snapshot(l)
    // Another site by the same admin key: its records collide with ours in (author, seq).
    const other = await open()
    await other.admin.createGenesis('Other Space', [ADMIN.publicKey], ADMIN)
    await other.append('site.enrol', { key: DEVICE2.publicKey, role: 'device', name: 'door-9' }, ADMIN)
    await other.append('test.put', { k: 'a', v: 1000 }, DEVICE2)
    await other.append('test.put', { k: 'z', v: 1000 }, ADMIN)
    expect(toHex(other.site!)).not.toBe(toHex(l.site!))
    const foreign = [...other.query.records()].filter((r) => r.type !== 'site.genesis').map(wireBytes)
    expect(foreign).toHaveLength(3)
    const report = l.ingest(foreign)
    expect(report).toMatchObject({ accepted: 0, refused: 3, held: 0, reasons: { WRONG_SITE: 3 } })
    expect(l.query.quarantined().map((q) => q.code)).toEqual(['WRONG_SITE', 'WRONG_SITE', 'WRONG_SITE'])
    expect(l.view.get('test/a')).toBe(1)
    await expectUnharmedAndWorking(l, before)
  })

  it('a second genesis → GENESIS', async () => {
    const l = await site()
    const before = snapshot(l)
    const other = await open()
    await other.admin.createGenesis('Other Space', [ADMIN2.publicKey], ADMIN2)
    const [genesis2] = [...other.query.records()]
    expect(genesis2!.type).toBe('site.genesis')
    // The same admin key re-founding the site (its seq 1 is already held) is also a second genesis.
    const sameAdmin = signRecord(
      {
        v: RECORD_VERSION,
        site: new Uint8Array(32),
        author: ADMIN.publicKey,
        seq: 1,
        prev: null,
        parents: [],
        hlc: l.admin.clock.tick(),
        type: 'site.genesis',
        body: encodeBody({ name: 'Test Space again', admins: [ADMIN.publicKey] }),
      },
      ADMIN.privateKeyObject,
    )
    for (const g of [genesis2!, sameAdmin]) {
      const report = l.ingest([wireBytes(g)])
      expect(report).toMatchObject({ accepted: 0, refused: 1, held: 0, reasons: { GENESIS: 1 } })
      expect(lastQuarantined(l)).toMatchObject({ code: Reason.GENESIS, retry: false })
    }
    await expect(l.admin.createGenesis('again', [ADMIN.publicKey], ADMIN)).rejects.toThrow(
      /already has a site/,
    )
    expect(l.view.get<{ name: string }>('site/info')?.name).toBe('Test Space')
    await expectUnharmedAndWorking(l, before)
  })
})

describe('Ledger.ingest before the genesis', () => {
  it('records that arrive before their genesis → NO_GENESIS, held until it arrives', async () => {
    const src = await site()
    await src.append('test.put', { k: 'b', v: 2 }, ADMIN)
    const [genesis, ...rest] = [...src.query.records()]
    expect(genesis!.type).toBe('site.genesis')
    const l = await open()
    const report = l.ingest(rest.map(wireBytes))
    expect(report.accepted).toBe(0)
    expect(report.reasons).toEqual({ NO_GENESIS: rest.length })
    expect(report.held).toBe(rest.length)
    expect(l.count).toBe(0)
    // The detail says such records are held until the genesis arrives: once it does, the
    // ledger must hold them all (as a ledger whose site is pinned does).
    l.ingest([wireBytes(genesis!)])
    expect(l.count).toBe(src.count)
    expect(l.stateHash).toBe(src.stateHash)
  })
  it('with the site pinned, records before the genesis are held and accepted once it arrives', async () => {
    const src = await site()
    await src.append('test.put', { k: 'b', v: 2 }, ADMIN)
    const [genesis, ...rest] = [...src.query.records()]
    const l = await open({ site: src.site })
    const report = l.ingest(rest.map(wireBytes))
    expect(report).toMatchObject({ accepted: 0, refused: 0, held: rest.length })
    expect(l.ingest([wireBytes(genesis!)])).toMatchObject({ accepted: 1 })
    expect(l.count).toBe(src.count)
    expect(l.stateHash).toBe(src.stateHash)
  })
})

describe('Ledger revocation with a cut point (REVOKED at fold time)', () => {
  it('device records ingested BEFORE the revocation arrives: seq > cut undone, seq <= cut kept', async () => {
    // Source: the device appends seq 1..3, then the admin revokes it with cut = 1.
    const src = await site()
    const d2 = await src.append('test.put', { k: 'b', v: 2 }, DEVICE)
    const d3 = await src.append('test.put', { k: 'c', v: 3 }, DEVICE)
    const d1 = src.query.range(DEVICE.id, 1, 1)[0]!
    const revoke = await src.append('site.revoke', { key: DEVICE.publicKey, cut: 1, reason: 'lost' }, ADMIN)
    expect(revoke.rejection).toBeNull()

    const l = await open()
    const wires = [...src.query.records()].map(wireBytes)
    const revokeWire = wireBytes(revoke.record)
    const rest = wires.filter((w) => !Buffer.from(w).equals(Buffer.from(revokeWire)))
    expect(l.ingest(rest)).toMatchObject({ accepted: rest.length, refused: 0, held: 0 })
    expect([l.view.get('test/a'), l.view.get('test/b'), l.view.get('test/c')]).toEqual([1, 2, 3])
    const before = snapshot(l)
    const replays = l.query.counters.replays

    expect(l.ingest([revokeWire])).toMatchObject({ accepted: 1, refused: 0 })
    // Effects of seq 2 and 3 are undone; seq 1 stays applied.
    expect(l.stateHash).not.toBe(before.stateHash)
    expect(l.count).toBe(before.count + 1)
    expect(l.query.rejectionOf(toHex(d1.id))).toBeNull()
    expect(l.query.rejectionOf(toHex(d2.record.id))?.code).toBe(Reason.REVOKED)
    expect(l.query.rejectionOf(toHex(d3.record.id))?.code).toBe(Reason.REVOKED)
    expect([l.view.get('test/a'), l.view.get('test/b'), l.view.get('test/c')]).toEqual([
      1,
      undefined,
      undefined,
    ])
    expect(l.roleOf(DEVICE.id)).toBeNull()
    expect(l.query.counters.replays).toBeGreaterThan(replays)
    // Same state as the node that saw the records in causal order.
    expect(l.stateHash).toBe(src.stateHash)
    // Nothing committed was lost: the revoked records are still in the ledger.
    expect(l.query.range(DEVICE.id, 1, 10).map((r) => toHex(r.id))).toEqual(
      [d1.id, d2.record.id, d3.record.id].map(toHex),
    )
    // Later records by the device are stored, and rejected.
    const late = await l.append('test.put', { k: 'd', v: 4 }, DEVICE)
    expect(late.rejection?.code).toBe(Reason.REVOKED)
    expect(l.view.get('test/d')).toBeUndefined()
    await expectUnharmedAndWorking(l, snapshot(l))
  })

  it('device records arriving AFTER the revocation (made concurrently): seq > cut rejected, seq <= cut applied', async () => {
    const l = await site()
    const d1 = l.query.range(DEVICE.id, 1, 1)[0]!
    // The device, on another node, keeps appending (these sort before the revocation).
    const away = await open()
    away.ingest([...l.query.records()].map(wireBytes))
    const d2 = await away.append('test.put', { k: 'b', v: 2 }, DEVICE)
    const d3 = await away.append('test.put', { k: 'c', v: 3 }, DEVICE)
    const revoke = await l.append('site.revoke', { key: DEVICE.publicKey, cut: 1, reason: 'stolen' }, ADMIN)
    expect(revoke.rejection).toBeNull()
    expect(l.roleOf(DEVICE.id)).toBeNull()
    const before = snapshot(l)

    const report = l.ingest([wireBytes(d2.record), wireBytes(d3.record)])
    expect(report).toMatchObject({ accepted: 2, refused: 0, held: 0 })
    expect(l.count).toBe(before.count + 2)
    expect(l.query.rejectionOf(toHex(d1.id))).toBeNull()
    expect(l.query.rejectionOf(toHex(d2.record.id))?.code).toBe(Reason.REVOKED)
    expect(l.query.rejectionOf(toHex(d3.record.id))?.code).toBe(Reason.REVOKED)
    expect([l.view.get('test/a'), l.view.get('test/b'), l.view.get('test/c')]).toEqual([
      1,
      undefined,
      undefined,
    ])

    // The other order (device records first, then the revocation) reaches the same state.
    away.ingest([...l.query.records()].map(wireBytes))
    expect(away.count).toBe(l.count)
    expect(away.stateHash).toBe(l.stateHash)
    await expectUnharmedAndWorking(l, snapshot(l))
  })

  it('cut = 0 rejects every record of the key', async () => {
    const l = await site()
    const d1 = l.query.range(DEVICE.id, 1, 1)[0]!
    await l.append('site.revoke', { key: DEVICE.publicKey, cut: 0, reason: 'never trusted' }, ADMIN)
    expect(l.query.rejectionOf(toHex(d1.id))?.code).toBe(Reason.REVOKED)
    expect(l.view.get('test/a')).toBeUndefined()
    await expectUnharmedAndWorking(l, snapshot(l))
  })
})
