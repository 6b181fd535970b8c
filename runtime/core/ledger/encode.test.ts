import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { encodeRecord, encodeRecordReference, type RecordFields } from './record.ts'

const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 })
const uint = (max: number) =>
  fc.oneof(
    fc.constantFrom(0, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, max),
    fc.integer({ min: 0, max: Math.min(max, 2 ** 31) }),
    fc.double({ min: 0, max, noNaN: true }).map(Math.floor),
  )

const record: fc.Arbitrary<RecordFields> = fc.record({
  v: uint(2 ** 53 - 1),
  site: bytes32,
  author: bytes32,
  seq: uint(2 ** 53 - 2).map((n) => n + 1),
  prev: fc.option(bytes32, { nil: null }),
  parents: fc.array(bytes32, { maxLength: 16 }),
  hlc: fc.record({ ms: uint(2 ** 48 - 1), c: uint(0xffff) }),
  type: fc.string({ unit: 'grapheme', maxLength: 300 }),
  body: fc.uint8Array({ maxLength: 5000 }),
})

describe('encodeRecord (the spelled-out layout)', () => {
  it('equals the dag-cbor reference encoding for random records, byte for byte', () => {
    fc.assert(
      fc.property(record, (r) => {
        expect(Buffer.from(encodeRecord(r)).equals(Buffer.from(encodeRecordReference(r)))).toBe(true)
      }),
      { numRuns: 2000, seed: 42 },
    )
  })
})
