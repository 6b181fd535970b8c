/**
 * Property tests (fast-check, fixed seeds, bounded runs): random bytes and mutated records never
 * crash the decoder and are never accepted; arbitrary interleavings of two authors' records
 * converge to one state.
 */
import * as dagCbor from '@ipld/dag-cbor'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HybridClock } from './hlc.ts'
import type { Ledger } from './ledger.ts'
import { Reason } from './reasons.ts'
import {
  decodeWire,
  encodeBody,
  equalBytes,
  fromHex,
  RECORD_VERSION,
  RecordError,
  type SignedRecord,
  signRecord,
  toHex,
  wireBytes,
} from './record.ts'
import { ADMIN, DEVICE, openTestLedger, provision, testKey } from './testing/fixtures.ts'

const RUNS = 300
const CODES: ReadonlySet<string> = new Set(Object.values(Reason))
const wiresOf = (l: Ledger) => [...l.query.records()].map(wireBytes)

/** decodeWire returns a record or throws a RecordError with a known code: nothing else. */
function decodeOrCode(wire: Uint8Array): SignedRecord | string {
  try {
    return decodeWire(wire)
  } catch (err) {
    if (!(err instanceof RecordError)) throw new Error(`decodeWire threw a non-RecordError: ${String(err)}`)
    if (!CODES.has(err.code)) throw new Error(`decodeWire threw an unknown code ${err.code}`)
    return err.code
  }
}

describe('hostile bytes', () => {
  let l: Ledger
  let stored: Uint8Array[]
  /** A valid record that was never ingested: its mutations must not get in either. */
  let pending: SignedRecord

  beforeAll(async () => {
    l = await openTestLedger()
    await provision(l)
    for (let i = 0; i < 4; i++) {
      await l.append('test.put', { k: `k${i}`, v: i }, DEVICE)
      await l.append('test.event', { n: i }, ADMIN)
    }
    await l.append('site.revoke', { key: testKey(77).publicKey, cut: 0, reason: 'x' }, ADMIN) // site.UNKNOWN_KEY
    stored = wiresOf(l)
    const head = l.heads().get(DEVICE.id)!
    pending = signRecord(
      {
        v: RECORD_VERSION,
        site: l.site!,
        author: DEVICE.publicKey,
        seq: head.seq + 1,
        prev: fromHex(head.id),
        parents: [],
        hlc: l.admin.clock.tick(),
        type: 'test.put',
        body: encodeBody({ k: 'pending', v: 1 }),
      },
      DEVICE.privateKeyObject,
    )
  })
  afterAll(() => l.close())

  const unchanged = () => ({ count: l.count, stateHash: l.stateHash })

  it('random byte arrays never crash decodeWire and are never accepted', () => {
    const before = unchanged()
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 600 }),
      // A signature-sized prefix, then a CBOR map header of the right size and noise.
      fc
        .tuple(fc.uint8Array({ minLength: 64, maxLength: 64 }), fc.uint8Array({ maxLength: 300 }))
        .map(([sig, tail]) => new Uint8Array([...sig, 0xa9, ...tail])),
    )
    fc.assert(
      fc.property(bytes, (wire) => {
        decodeOrCode(wire)
        const report = l.ingest([wire])
        expect(report.accepted).toBe(0)
        expect(report.accepted + report.duplicates + report.held + report.refused).toBe(1)
        expect(unchanged()).toEqual(before)
      }),
      { numRuns: RUNS, seed: 0x1a7c4 },
    )
  })

  it('random record-shaped CBOR maps with random signatures are never accepted', () => {
    const before = unchanged()
    const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 })
    const scalar = fc.oneof(
      fc.integer(),
      fc.string({ maxLength: 20 }),
      fc.uint8Array({ maxLength: 40 }),
      fc.constant(null),
      fc.boolean(),
    )
    // Each field is mostly valid (as in a real record), sometimes anything.
    const mostly = <T>(valid: fc.Arbitrary<T>, ...others: fc.Arbitrary<unknown>[]) =>
      fc.oneof(
        { arbitrary: valid as fc.Arbitrary<unknown>, weight: 12 },
        ...others.map((o) => ({ arbitrary: o, weight: 1 })),
      )
    const record = fc.record({
      v: mostly(fc.constant(1), fc.constant(2), scalar),
      site: mostly(fc.constant(l.site!), bytes32, scalar),
      author: mostly(fc.constantFrom(DEVICE.publicKey, ADMIN.publicKey), bytes32, scalar),
      seq: mostly(fc.constant(pending.seq), fc.integer({ min: 0, max: 20 }), scalar),
      prev: mostly(fc.constant(pending.prev!), fc.constant(null), bytes32, scalar),
      parents: mostly(fc.constant([]), fc.array(bytes32, { maxLength: 3 }), scalar),
      hlc: mostly(fc.tuple(fc.nat(), fc.nat({ max: 0xffff })), fc.tuple(fc.nat(), fc.nat()), scalar),
      type: mostly(fc.constantFrom('test.put', 'test.event', 'site.enrol', 'site.genesis'), scalar),
      body: mostly(
        fc.constant(encodeBody({ k: 'x', v: 1 })),
        fc.jsonValue({ maxDepth: 2 }).map((j) => encodeBody(JSON.parse(JSON.stringify(j)) ?? null)),
        scalar,
      ),
    })
    const sig = fc.uint8Array({ minLength: 64, maxLength: 64 })
    const seen = new Map<string, number>()
    fc.assert(
      fc.property(record, sig, fc.boolean(), (fields, s, tipVerification) => {
        let bytes: Uint8Array
        try {
          bytes = dagCbor.encode(fields)
        } catch {
          return // not encodable (e.g. -0 from jsonValue): nothing to send
        }
        const wire = new Uint8Array([...s, ...bytes])
        decodeOrCode(wire)
        const report = l.ingest([wire], { tipVerification })
        expect(report.accepted).toBe(0)
        for (const code of Object.keys(report.reasons)) seen.set(code, (seen.get(code) ?? 0) + 1)
        expect(unchanged()).toEqual(before)
      }),
      { numRuns: RUNS, seed: 0x5eed },
    )
    // The generator reaches past the decoder: some inputs decode and fail only the signature.
    expect(seen.get(Reason.BAD_SIGNATURE)).toBeGreaterThan(0)
    expect(seen.get(Reason.BAD_FIELD)).toBeGreaterThan(0)
  })

  it('mutated valid records are refused or, with the same id, duplicates; never a different record', () => {
    const before = unchanged()
    const targets = [...stored, wireBytes(pending)]
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
      fc.record({
        kind: fc.constant('insert' as const),
        at: fc.nat(),
        bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
      }),
      fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 8 }) }),
    )
    const mutate = (wire: Uint8Array, m: Mutation) => {
      const out = [...wire]
      const at = m.at % (wire.length + (m.kind === 'insert' ? 1 : 0))
      if (m.kind === 'flip') out[at] = out[at]! ^ m.mask
      else if (m.kind === 'truncate') out.length = at
      else if (m.kind === 'insert') out.splice(at, 0, ...m.bytes)
      else out.splice(at, m.n)
      return new Uint8Array(out)
    }
    const seen = new Map<string, number>()
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: targets.length - 1 }),
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        (i, ms, tipVerification) => {
          const original = targets[i]!
          const wire = ms.reduce(mutate, original)
          fc.pre(!equalBytes(wire, original))
          const decoded = decodeOrCode(wire)
          const report = l.ingest([wire], { tipVerification })
          expect(report.accepted).toBe(0)
          expect(report.duplicates + report.held + report.refused).toBe(1)
          if (report.duplicates === 1) {
            // Only a change of the signature bytes keeps the id: it is the same record.
            expect(typeof decoded).toBe('object')
            expect(toHex((decoded as SignedRecord).id)).toBe(toHex(decodeWire(original).id))
            expect(i).toBeLessThan(stored.length)
          }
          const outcome = report.duplicates ? 'duplicate' : Object.keys(report.reasons)[0]!
          seen.set(outcome, (seen.get(outcome) ?? 0) + 1)
          expect(unchanged()).toEqual(before)
        },
      ),
      { numRuns: RUNS, seed: 0xbadf00d },
    )
    // Both outcomes were exercised: refusals (several kinds) and same-id duplicates.
    expect(seen.get('duplicate')).toBeGreaterThan(0)
    expect(seen.get(Reason.BAD_SIGNATURE)).toBeGreaterThan(0)
    expect(seen.get(Reason.MALFORMED)).toBeGreaterThan(0)
  })

  it('after all that, nothing committed changed and the node still works', async () => {
    expect((await l.query.verifyAll()).problem).toBeNull()
    expect(wiresOf(l)).toEqual(stored)
    expect(l.ingest([wireBytes(pending)])).toMatchObject({ accepted: 1 })
    expect(l.view.get('test/pending')).toBe(1)
    const r = await l.append('test.put', { k: 'after', v: 2 }, ADMIN)
    expect(r.rejection).toBeNull()
  })
})

type Mutation =
  | { kind: 'flip'; at: number; mask: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; n: number }

describe('convergence', () => {
  let base: Uint8Array[]
  let chainA: Uint8Array[]
  let chainB: Uint8Array[]
  let ref: { count: number; stateHash: string }
  const open: Ledger[] = []

  /**
   * Base: genesis + enrolment. Then, apart, ADMIN (on A) and DEVICE (on B) append interleaved
   * in time; halfway they sync once (so later records name the other side as parent); at the
   * end ADMIN revokes DEVICE with a cut inside DEVICE's chain.
   */
  beforeAll(async () => {
    const t = { now: 1_700_000_000_000 }
    const clock = () => new HybridClock({ now: () => t.now })
    const a = await openTestLedger({ clock: clock() })
    const b = await openTestLedger({ clock: clock() })
    open.push(a, b)
    await provision(a)
    base = wiresOf(a)
    b.ingest(base)
    for (let i = 0; i < 8; i++) {
      t.now += 10
      await a.append('test.put', { k: i % 2 ? 'x' : 'y', v: i }, ADMIN)
      t.now += 3
      await b.append('test.put', { k: i % 3 ? 'x' : 'y', v: 100 + i }, DEVICE)
      if (i === 3) {
        a.ingest(wiresOf(b))
        b.ingest(wiresOf(a))
      }
      if (i === 5) await b.append('test.put', { k: 'neg', v: -1 }, DEVICE)
    }
    await a.append('site.revoke', { key: DEVICE.publicKey, cut: 5, reason: 'lost' }, ADMIN)
    const isBase = (w: Uint8Array) => base.some((x) => equalBytes(x, w))
    chainA = [...a.query.range(ADMIN.id, 1, 1000)].map(wireBytes).filter((w) => !isBase(w))
    chainB = [...b.query.range(DEVICE.id, 1, 1000)].map(wireBytes).filter((w) => !isBase(w))
    const r = await openTestLedger()
    open.push(r)
    r.ingest([...base, ...chainA, ...chainB])
    ref = { count: r.count, stateHash: r.stateHash }
    expect(ref.count).toBe(base.length + chainA.length + chainB.length)
  })
  afterAll(async () => {
    for (const l of open) await l.close()
  })

  async function ingestInBatches(order: Uint8Array[], sizes: number[], tipVerification: boolean) {
    const l = await openTestLedger()
    try {
      l.ingest(base)
      let i = 0
      let s = 0
      while (i < order.length) {
        const n = sizes[s++ % sizes.length]!
        l.ingest(order.slice(i, i + n), { tipVerification })
        i += n
      }
      return { count: l.count, stateHash: l.stateHash }
    } finally {
      await l.close()
    }
  }

  it('arbitrary interleavings of two authors’ records converge to one state hash', async () => {
    const n = chainA.length + chainB.length
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.boolean(), { minLength: n, maxLength: n }),
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 10 }),
        fc.boolean(),
        async (picks, sizes, tipVerification) => {
          const order: Uint8Array[] = []
          let ia = 0
          let ib = 0
          for (const pickA of picks) {
            if ((pickA && ia < chainA.length) || ib >= chainB.length) order.push(chainA[ia++]!)
            else order.push(chainB[ib++]!)
          }
          expect(await ingestInBatches(order, sizes, tipVerification)).toEqual(ref)
        },
      ),
      { numRuns: RUNS, seed: 0xc0ffee },
    )
  })

  it('arbitrary permutations (each chain out of order, so records are held) converge too', async () => {
    const all = [...chainA, ...chainB]
    await fc.assert(
      fc.asyncProperty(
        fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length }),
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 10 }),
        fc.boolean(),
        async (order, sizes, tipVerification) => {
          expect(await ingestInBatches(order, sizes, tipVerification)).toEqual(ref)
        },
      ),
      // Each run opens a fresh ledger: fewer runs than the byte-level properties, same seed.
      { numRuns: 100, seed: 0xfeed },
    )
  }, 60_000)
})
