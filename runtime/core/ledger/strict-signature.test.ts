/**
 * Strict Ed25519 in the ledger (docs/PROTOCOL.md §1.3): a record whose signature breaks one of
 * the byte-level rules, yet satisfies the cofactorless equation, is BAD_SIGNATURE on every path
 * that judges a signature — ingest, a catch-up's relay session, submit, the whole-ledger check —
 * whatever the OpenSSL build under node:crypto would say about it.
 */
import { createHash } from 'node:crypto'
import * as ed from '@noble/ed25519'
import { describe, expect, it, onTestFinished } from 'vitest'
import { tmpDir } from '../../../test/helpers/index.ts'
import { strictPrecheck } from '../ed25519-strict.ts'
import type { Ledger } from './ledger.ts'
import {
  encodeBody,
  prepareRecord,
  RECORD_VERSION,
  type SignedRecord,
  verifySignature,
  verifySignatureAsync,
  wireBytes,
} from './record.ts'
import { DEVICE, dbOf, openTestLedger, provision } from './testing/fixtures.ts'
import type { IngestReport } from './types.ts'
import { VerifyPool } from './verify-pool.ts'

ed.hashes.sha512 = (m) => new Uint8Array(createHash('sha512').update(m).digest())

const L = 2n ** 252n + 27742317777372353535851937790883648493n
/** The identity point: a key of order 1 (vectors `small-order-key-0t`, `small-order-r-0t`). */
const IDENTITY = new Uint8Array(32)
IDENTITY[0] = 1

function le32(n: bigint): Uint8Array {
  const out = new Uint8Array(32)
  for (let i = 0; i < 32; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn)
  return out
}

function leInt(b: Uint8Array): bigint {
  let n = 0n
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]!)
  return n
}

const concat = (a: Uint8Array, b: Uint8Array) => new Uint8Array([...a, ...b])

/**
 * Under the identity as key, R = [s]B and S = s satisfy the cofactorless equation for any
 * message: only rule 4 (`a-small-order`) refuses it.
 */
function identityKeyForgery(): Uint8Array {
  const s = 7n
  return concat(ed.Point.BASE.multiply(s).toBytes(), le32(s))
}

/**
 * The key of DEVICE's seed "signing" `id` with R = the identity and S = k·a: [S]B − [k]A = R
 * holds exactly, so only rule 6 (`r-small-order`) refuses it.
 */
function identityRForgery(id: Uint8Array): Uint8Array {
  const seed = new Uint8Array(32)
  seed[0] = 2 // DEVICE is testKey(2)
  seed[31] = 0x5a
  const { scalar, pointBytes } = ed.utils.getExtendedPublicKey(seed)
  expect(pointBytes).toEqual(DEVICE.publicKey)
  const k = leInt(createHash('sha512').update(IDENTITY).update(pointBytes).update(id).digest()) % L
  return concat(IDENTITY, le32((k * scalar) % L))
}

async function site(): Promise<Ledger> {
  const l = await openTestLedger({ dir: tmpDir() })
  onTestFinished(() => l.close())
  await provision(l)
  return l
}

/** Both forged records on one site: a stranger with the identity as key, and DEVICE with R = identity. */
function forged(l: Ledger): Array<{ rule: string; record: SignedRecord }> {
  const site = l.site!
  const [head] = [...l.heads().values()].filter((h) => h.seq > 0)
  const stranger = prepareRecord({
    v: RECORD_VERSION,
    site,
    author: IDENTITY,
    seq: 1,
    prev: null,
    parents: [new Uint8Array(Buffer.from(head!.id, 'hex'))],
    hlc: l.admin.clock.tick(),
    type: 'test.event',
    body: encodeBody({ n: 1 }),
  })
  const device = l.admin.prepare('test.event', encodeBody({ n: 2 }), DEVICE.publicKey)
  return [
    { rule: 'a-small-order', record: { ...stranger, sig: identityKeyForgery() } },
    { rule: 'r-small-order', record: { ...device, sig: identityRForgery(device.id) } },
  ]
}

describe('strict Ed25519 in the ledger', () => {
  it('the forgeries break exactly their rule and nothing else', async () => {
    const l = await site()
    for (const { rule, record } of forged(l)) {
      expect(strictPrecheck(record.author, record.sig)).toBe(rule)
      // The equation alone holds (cofactorless, on noble's points): only the rule refuses it.
      const R = ed.Point.fromBytes(record.sig.subarray(0, 32))
      const A = ed.Point.fromBytes(record.author)
      const k =
        leInt(
          createHash('sha512')
            .update(record.sig.subarray(0, 32))
            .update(record.author)
            .update(record.id)
            .digest(),
        ) % L
      const S = leInt(record.sig.subarray(32))
      const kA = k === 0n ? ed.Point.ZERO : A.multiply(k, false)
      expect(ed.Point.BASE.multiply(S).subtract(kA).equals(R)).toBe(true)
      expect(verifySignature(record)).toBe(false)
      expect(await verifySignatureAsync(record)).toBe(false)
    }
  })

  it('ingest refuses each with BAD_SIGNATURE', async () => {
    const l = await site()
    for (const { record } of forged(l)) {
      const report = l.ingest([wireBytes(record)])
      expect(report).toMatchObject({ accepted: 0, refused: 1, reasons: { BAD_SIGNATURE: 1 } })
    }
  })

  it('bulk catch-up (tip verification) refuses each with BAD_SIGNATURE', async () => {
    const l = await site()
    for (const { record } of forged(l)) {
      expect(l.ingest([wireBytes(record)], { tipVerification: true }).reasons).toEqual({ BAD_SIGNATURE: 1 })
    }
  })

  it("a catch-up's relay session refuses each with BAD_SIGNATURE", async () => {
    const l = await site()
    const reports: IngestReport[] = []
    l.relay().push(
      forged(l).map((f) => wireBytes(f.record)),
      { done: (r) => reports.push(r) },
    )
    for (let i = 0; l.relay().step(50, false).more; i++) if (i > 1000) throw new Error('no end')
    expect(reports).toHaveLength(1)
    expect(reports[0]).toMatchObject({ accepted: 0, reasons: { BAD_SIGNATURE: 2 } })
  })

  it('submit refuses each with BAD_SIGNATURE', async () => {
    const l = await site()
    for (const { record } of forged(l)) {
      let err: { code?: string; details?: Record<string, unknown> } = {}
      try {
        l.admin.submit(wireBytes(record))
      } catch (e) {
        err = e as typeof err
      }
      expect(err.code).toBe('LK_RECORD_INVALID')
      expect(err.details?.reason).toBe('BAD_SIGNATURE')
    }
  })

  it('the whole-ledger check names a stored record whose signature is replaced by a forgery', async () => {
    const l = await site()
    const ok = await l.append('test.event', { n: 3 }, DEVICE)
    const sig = identityRForgery(ok.record.id)
    dbOf(l).prepare('UPDATE records SET sig = ? WHERE id = ?').run(sig, ok.record.id)
    const v = await l.query.verifyAll()
    expect(v.problem).toMatchObject({ seq: ok.record.seq, reason: 'BAD_SIGNATURE' })
  })

  it('the verify pool answers 0 for each, as the record check does', async () => {
    const l = await site()
    const pool = new VerifyPool(1)
    onTestFinished(() => pool.close())
    const honest = (await l.append('test.event', { n: 4 }, DEVICE)).record
    const out = await pool.verify([honest, ...forged(l).map((f) => f.record)])
    expect([...out]).toEqual([1, 0, 0])
  })
})
