/**
 * Crafted Ed25519 signatures for the refusal vectors of docs/PROTOCOL.md (scripts/protocol-vectors.ts):
 * a non-reduced scalar, a mixed-order R, a small-order key, and what noble's strict and ZIP-215
 * verification make of each. Every value is derived from fixed inputs, so every run is the same.
 */
import { createHash } from 'node:crypto'
import * as ed from '@noble/ed25519'
import { encodeRecord, type RecordFields, recordId } from '../runtime/core/ledger/record.ts'

ed.hashes.sha512 = (m) => new Uint8Array(createHash('sha512').update(m).digest())
/** Ed25519 group order L. */
const L = 2n ** 252n + 27742317777372353535851937790883648493n
/** A point of order 8 (the torsion generator used by ZIP-215 and the "Taming the many EdDSAs" vectors). */
const TORSION8 = 'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a'

function leToBigint(b: Uint8Array): bigint {
  let n = 0n
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]!)
  return n
}

function bigintToLe32(n: bigint): Uint8Array {
  if (n < 0n || n >= 2n ** 256n) throw new Error('scalar does not fit in 32 bytes')
  const out = new Uint8Array(32)
  for (let i = 0; i < 32; i++) {
    out[i] = Number(n & 0xffn)
    n >>= 8n
  }
  return out
}

export const concat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts))

export /** `S + L`: the same signature with a non-reduced scalar (refused by strict verification). */
function withSPlusL(sig: Uint8Array): Uint8Array {
  const s = leToBigint(sig.subarray(32))
  return concat(sig.subarray(0, 32), bigintToLe32(s + L))
}

/**
 * A signature by `seed` over `msg` whose R has an order-8 component: R = rB + T. Cofactored
 * verifiers ([8]SB = [8]R + [8]kA) accept it; cofactorless ones (SB − kA encodes to R) refuse it.
 */
export function mixedOrderSignature(seed: Uint8Array, msg: Uint8Array): Uint8Array {
  const { scalar, pointBytes } = ed.utils.getExtendedPublicKey(seed)
  const r =
    leToBigint(new Uint8Array(createHash('sha512').update('latchkey/vector/mixed-order-r').digest())) % L
  const R = ed.Point.BASE.multiply(r).add(ed.Point.fromHex(TORSION8)).toBytes()
  const k =
    leToBigint(new Uint8Array(createHash('sha512').update(R).update(pointBytes).update(msg).digest())) % L
  return concat(R, bigintToLe32((r + k * scalar) % L))
}

/**
 * A record by the order-8 public key T with a signature (R, S = 5) crafted so that
 * SB − kT encodes to R. Valid under ZIP-215 and under cofactorless equations alike; only the
 * small-order check refuses it. `recordAt` is the record for HLC counter `c`; tries counters until
 * one of the 8 torsion multiples fits k.
 */
export function smallOrderForgery(recordAt: (author: Uint8Array, c: number) => RecordFields): {
  record: RecordFields
  sig: Uint8Array
  bytes: Uint8Array
} {
  const T = ed.Point.fromHex(TORSION8)
  const author = T.toBytes()
  for (let c = 0; c < 64; c++) {
    const record = recordAt(author, c)
    const bytes = encodeRecord(record)
    const id = recordId(bytes)
    for (let j = 0n; j < 8n; j++) {
      const R = ed.Point.BASE.multiply(5n)
        .add(T.multiply(j === 0n ? 8n : j))
        .toBytes()
      const k =
        leToBigint(new Uint8Array(createHash('sha512').update(R).update(author).update(id).digest())) % L
      if ((k + j) % 8n === 0n) return { record, sig: concat(R, bigintToLe32(5n)), bytes }
    }
  }
  throw new Error('no small-order forgery found')
}

export function nobleVerdicts(sig: Uint8Array, id: Uint8Array, author: Uint8Array): Array<[string, string]> {
  const strict = ed.verify(sig, id, author, { zip215: false })
  const zip215 = ed.verify(sig, id, author, { zip215: true })
  return [
    ['noble_strict', String(strict)],
    ['noble_zip215', String(zip215)],
  ]
}
