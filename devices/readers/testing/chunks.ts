/**
 * Shared decoder checks: a byte decoder must give the same results however its input is cut
 * (every split point, byte by byte, random chunkings with fixed seeds).
 */
import fc from 'fast-check'
import { expect } from 'vitest'
import type { ByteDecoder, Decoded } from '../decoders/types.ts'
import { everySplit } from './fixtures.ts'

export function decodeAll<F>(make: () => ByteDecoder<F>, chunks: Uint8Array[]): Decoded<F>[] {
  const d = make()
  return chunks.flatMap((c) => d.push(c))
}

/** Asserts chunking never changes what `make()`'s decoder reports for `stream`; returns the results. */
export function expectChunkingInvariant<F>(make: () => ByteDecoder<F>, stream: Uint8Array): Decoded<F>[] {
  const whole = decodeAll(make, [stream])
  for (const [head, tail] of everySplit(stream)) expect(decodeAll(make, [head, tail])).toEqual(whole)
  expect(
    decodeAll(
      make,
      Array.from(stream, (b) => Uint8Array.of(b)),
    ),
  ).toEqual(whole)
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: stream.length }), { maxLength: 12 }), (cuts) => {
      const points = [...new Set(cuts)].sort((x, y) => x - y)
      const chunks: Uint8Array[] = []
      let at = 0
      for (const p of [...points, stream.length]) {
        chunks.push(stream.subarray(at, p))
        at = p
      }
      expect(decodeAll(make, chunks)).toEqual(whole)
    }),
    { seed: 42, numRuns: 200 },
  )
  return whole
}

/** Only the accepted frames. */
export function frames<F>(results: Decoded<F>[]): F[] {
  return results.flatMap((r) => (r.ok ? [r.frame] : []))
}

/** Only the rejection reasons. */
export function reasons<F>(results: Decoded<F>[]): string[] {
  return results.flatMap((r) => (r.ok ? [] : [r.reason]))
}
