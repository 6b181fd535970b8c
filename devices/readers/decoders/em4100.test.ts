/**
 * RDM6300 / ID-12LA decoder fixtures: every split point, glued frames, line noise, bad checksums
 * (rejected and counted, never accepted).
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { expectChunkingInvariant, frames, reasons } from '../testing/chunks.ts'
import { BADGE, concat, emFrame, HIGH_BADGE } from '../testing/fixtures.ts'
import { Em4100Decoder } from './em4100.ts'

const make = () => new Em4100Decoder()

describe('Em4100Decoder (RDM6300, ID-12LA)', () => {
  it('decodes one RDM6300 frame into the 32-bit card number and version byte', () => {
    const [r] = make().push(emFrame(BADGE.bytes))
    expect(r).toEqual({ ok: true, frame: { bytes: BADGE.bytes, card: BADGE.card, version: 0x1a } })
  })

  it('builds the frame the docs show for the example fob (checksum 4B)', () => {
    expect(Buffer.from(emFrame(BADGE.bytes)).toString('latin1')).toBe('\x021A004227344B\x03')
  })

  it('decodes the ID-12LA variant (CR LF before ETX) with the same result', () => {
    expect(make().push(emFrame(BADGE.bytes, { crlf: true }))).toEqual(make().push(emFrame(BADGE.bytes)))
  })

  it('gives the same frames for every split point, byte by byte and random chunkings, of glued frames after line noise', () => {
    const stream = concat(
      Uint8Array.of(0xff, 0x13, 0x37, 0x00, 0x03), // power-on noise, including a stray ETX
      emFrame(BADGE.bytes),
      emFrame(HIGH_BADGE.bytes, { crlf: true }),
      emFrame(BADGE.bytes, { badChecksum: true }),
      emFrame(BADGE.bytes),
    )
    const results = expectChunkingInvariant(make, stream)
    expect(frames(results).map((f) => f.card)).toEqual([BADGE.card, HIGH_BADGE.card, BADGE.card])
    expect(reasons(results)).toEqual(['noise', 'checksum'])
  })

  it('rejects every frame whose checksum is wrong, whatever byte is off', () => {
    for (let bit = 0; bit < 8; bit++) {
      const good = emFrame(BADGE.bytes)
      const bad = Uint8Array.from(good)
      // Flip one bit of the first data byte's hex digit into another hex digit.
      const text = Buffer.from(bad.subarray(1, 13)).toString('latin1')
      const digit = ((Number.parseInt(text[0]!, 16) ^ (1 << (bit % 4))) & 0xf).toString(16).toUpperCase()
      bad[1] = digit.charCodeAt(0)
      const [r] = make().push(bad)
      expect(r).toMatchObject({ ok: false, reason: 'checksum' })
    }
  })

  it('rejects non-hex content, truncated frames and frames without ETX, and resynchronises at the next STX', () => {
    const stream = concat(
      '\x02GHIJKLMNOPQR\x03', // not hex
      '\x020A00', // cut off by the next STX
      emFrame(BADGE.bytes),
      '\x02' + '0'.repeat(20), // never ends
      emFrame(BADGE.bytes),
    )
    const results = expectChunkingInvariant(make, stream)
    // The rest of the endless frame is noise until the next STX.
    expect(reasons(results)).toEqual(['malformed', 'incomplete', 'overlong', 'noise'])
    expect(frames(results).map((f) => f.card)).toEqual([BADGE.card, BADGE.card])
  })

  it('never accepts a frame with one byte changed (only a hex letter changing case reads the same)', () => {
    const good = emFrame(BADGE.bytes)
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 255 }), (pos, value) => {
        const bad = Uint8Array.from(good)
        bad[pos] = value
        for (const r of make().push(bad)) if (r.ok) expect(r.frame.bytes).toEqual(BADGE.bytes)
      }),
      { seed: 7, numRuns: 1000 },
    )
  })
})
