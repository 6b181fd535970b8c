/**
 * The fast canonical readers against the library path (cborg strict decode + dag-cbor
 * re-encode): whatever the fast readers accept, the library accepts with the same value; what
 * the library refuses, the fast readers refuse. Fixed seeds, bounded runs.
 */
import { createHash } from 'node:crypto'
import * as dagCbor from '@ipld/dag-cbor'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { makeDomainHasher, NOT_FAST, readCanonicalBody, readRecordLayout } from './canonical.ts'
import {
  compareBytes,
  encodeRecord,
  encodeRecordReference,
  ID_DOMAIN,
  MAX_RECORD_BYTES,
  RECORD_VERSION,
  type RecordFields,
  recordId,
  strictDecode,
} from './record.ts'

const RUNS = 400

/** The library's verdict on a body: its value when canonical, else null. */
function libraryBody(bytes: Uint8Array): { value: unknown } | null {
  try {
    const value = strictDecode(bytes)
    return Buffer.compare(dagCbor.encode(value), bytes) === 0 ? { value } : null
  } catch {
    return null
  }
}

/** Values dag-cbor can hold in a ledger body (no floats, safe integers). */
const bodyValue = fc.letrec((tie) => ({
  leaf: fc.oneof(
    fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
    fc.constantFrom(0, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, -24, -25, -257),
    fc.string({ maxLength: 40 }),
    fc.string({ unit: 'binary', maxLength: 10 }),
    fc.uint8Array({ maxLength: 40 }),
    fc.boolean(),
    fc.constant(null),
  ),
  node: fc.oneof({ depthSize: 'small' }, tie('leaf'), tie('array'), tie('map')),
  array: fc.array(tie('node'), { maxLength: 5 }),
  map: fc.dictionary(fc.string({ maxLength: 8 }), tie('node'), { maxKeys: 5 }),
})).node

function mutate(bytes: Uint8Array, edits: Array<[number, number]>): Uint8Array {
  const out = new Uint8Array(bytes)
  for (const [at, v] of edits) if (out.length > 0) out[at % out.length] = v
  return out
}

describe('readCanonicalBody', () => {
  it('decodes every canonical encoding to the library value', () => {
    fc.assert(
      fc.property(bodyValue, (v) => {
        const bytes = new Uint8Array(dagCbor.encode(v)) // a plain Uint8Array, as the ledger holds
        const fast = readCanonicalBody(bytes)
        expect(fast).not.toBe(NOT_FAST)
        expect(fast).toEqual(strictDecode(bytes))
      }),
      { numRuns: RUNS, seed: 11 },
    )
  })

  it('never accepts what the library refuses, and agrees on the value when both accept (mutations, random bytes)', () => {
    const check = (bytes: Uint8Array) => {
      const fast = readCanonicalBody(bytes)
      if (fast === NOT_FAST) return
      const lib = libraryBody(bytes)
      expect(lib, `fast reader accepted ${Buffer.from(bytes).toString('hex')}`).not.toBeNull()
      expect(fast).toEqual(lib!.value)
    }
    fc.assert(
      fc.property(
        bodyValue,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }),
        (v, edits) => check(mutate(dagCbor.encode(v), edits)),
      ),
      { numRuns: RUNS * 3, seed: 12 },
    )
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), check), { numRuns: RUNS * 3, seed: 13 })
  })

  it('refuses the non-canonical forms by name', () => {
    const refuse = (hex: string) => expect(readCanonicalBody(Buffer.from(hex, 'hex'))).toBe(NOT_FAST)
    refuse('1801') // 1 written in two bytes
    refuse('190001') // 1 written in three bytes
    refuse('a2616201616101') // keys out of order (b before a)
    refuse('a2616101616102') // duplicate key
    refuse('a16161') // missing value
    refuse('f93c00') // a float (1.0, half precision)
    refuse('d82a4100') // a tag
    refuse('9f01ff') // indefinite array
    refuse('62c328') // invalid UTF-8
    refuse('0101') // trailing bytes
    refuse('1b0020000000000000') // 2^53: beyond safe integers
  })
})

const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 })
const recordFields: fc.Arbitrary<RecordFields> = fc
  .record({
    site: bytes32,
    author: bytes32,
    seq: fc.oneof(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 2 ** 40 })),
    prev: bytes32,
    parents: fc.uniqueArray(bytes32, { maxLength: 4, selector: (b) => Buffer.from(b).toString('hex') }),
    ms: fc.integer({ min: 0, max: 2 ** 48 - 1 }),
    c: fc.integer({ min: 0, max: 65535 }),
    type: fc.constantFrom('test.event', 'site.enrol', 'door-access.door', 'a.b.c.d'),
    body: bodyValue,
  })
  .map((f) => ({
    v: RECORD_VERSION,
    site: f.site,
    author: f.author,
    seq: f.seq,
    prev: f.seq === 1 ? null : f.prev,
    parents: [...f.parents].sort(Buffer.compare),
    hlc: { ms: f.ms, c: f.c },
    type: f.type,
    body: dagCbor.encode(f.body),
  }))

describe('compareBytes', () => {
  it('orders like Buffer.compare, short and long, equal prefixes included', () => {
    const bytes = fc.uint8Array({ maxLength: 80 })
    fc.assert(
      fc.property(bytes, bytes, fc.nat(80), (a, b, cut) => {
        const c = b.length > cut ? Uint8Array.from([...a, ...b.subarray(cut)]) : b // shared prefixes too
        for (const [x, y] of [
          [a, b],
          [a, c],
          [c, a],
          [a, a],
        ] as const)
          expect(Math.sign(compareBytes(x, y))).toBe(Buffer.compare(x, y))
      }),
      { numRuns: RUNS, seed: 7 },
    )
  })
})

describe('short strings (interned)', () => {
  /** The interning key: FNV-1a over the bytes, seeded with the length (as canonical.ts does). */
  function fnv(s: string): number {
    let h = 0x811c9dc5 ^ s.length
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193)
    return h
  }

  it('two strings whose interning keys collide are each read as themselves, again and again', () => {
    const seen = new Map<number, string>()
    let pair: [string, string] | null = null
    // Pseudo-random 8-letter keys from a fixed seed: a collision turns up after ~80k of them.
    let x = 0x9e3779b9
    for (let i = 0; pair === null && i < 2_000_000; i++) {
      let s = ''
      for (let j = 0; j < 8; j++) {
        x ^= x << 13
        x ^= x >>> 17
        x ^= x << 5
        s += String.fromCharCode(97 + ((x >>> 0) % 26))
      }
      const other = seen.get(fnv(s))
      if (other !== undefined) pair = [other, s]
      else seen.set(fnv(s), s)
    }
    expect(pair).not.toBeNull()
    const [a, b] = pair!
    for (let round = 0; round < 3; round++) {
      for (const body of [{ [a]: 1 }, { [b]: 2 }, { [a]: 3, [b]: 4 }, { t: [a, b, a] }]) {
        expect(readCanonicalBody(dagCbor.encode(body))).toEqual(body)
      }
    }
  })
})

describe('readRecordLayout', () => {
  it('reads every record the reference encoder writes, field for field', () => {
    fc.assert(
      fc.property(recordFields, (r) => {
        const bytes = new Uint8Array(encodeRecordReference(r))
        const fast = readRecordLayout(bytes)
        expect(fast).not.toBe(NOT_FAST)
        if (fast === NOT_FAST) return
        expect(encodeRecord({ ...fast, hlc: { ms: fast.hlc[0], c: fast.hlc[1] } })).toEqual(bytes)
      }),
      { numRuns: RUNS, seed: 21 },
    )
  })

  it('accepts a mutated record only when its bytes are still the canonical encoding of what it read', () => {
    fc.assert(
      fc.property(
        recordFields,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }),
        (r, edits) => {
          const bytes = mutate(encodeRecordReference(r), edits)
          const fast = readRecordLayout(bytes)
          if (fast === NOT_FAST) return
          // Canonical by construction: re-encoding what was read gives the same bytes.
          const again = dagCbor.encode({ ...fast, hlc: fast.hlc })
          expect(Buffer.compare(again, bytes)).toBe(0)
        },
      ),
      { numRuns: RUNS * 3, seed: 22 },
    )
  })
})

describe('makeDomainHasher', () => {
  it('is SHA-256 of domain || bytes, below and above the scratch size', () => {
    const small = makeDomainHasher(ID_DOMAIN, 16)
    for (const n of [0, 1, 16, 17, 300]) {
      const b = new Uint8Array(n).fill(n & 0xff)
      const want = new Uint8Array(createHash('sha256').update(ID_DOMAIN).update(b).digest())
      expect(small(b)).toEqual(want)
    }
    const r = new Uint8Array(MAX_RECORD_BYTES).fill(3)
    expect(recordId(r)).toEqual(recordId(new Uint8Array(r)))
  })
})
