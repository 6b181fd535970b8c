/**
 * Wiegand decoder fixtures: 26/34-bit frames, every flipped bit rejected by parity, glued frames
 * split on the gap, out-of-order edges.
 */
import { describe, expect, it } from 'vitest'
import { frames, reasons } from '../testing/chunks.ts'
import { BADGE } from '../testing/fixtures.ts'
import type { Decoded } from './types.ts'
import { type Edge, WiegandDecoder, type WiegandFrame, wiegandBits } from './wiegand.ts'

function edges(bits: number[], at: number, periodMs = 2): Edge[] {
  return bits.map((b, i) => ({ line: b ? 'd1' : 'd0', at: at + i * periodMs }))
}

function run(d: WiegandDecoder, list: Edge[]): Decoded<WiegandFrame>[] {
  return [...list.flatMap((e) => d.push(e)), ...d.flush()]
}

describe('WiegandDecoder', () => {
  it('decodes 26 bits into facility and card with both parities checked', () => {
    const bits = wiegandBits(26, BADGE.card & 0xffffff)
    const r = run(new WiegandDecoder({ formats: [26] }), edges(bits, 100))
    expect(r).toEqual([{ ok: true, frame: { bits: 26, facility: 0x42, card: 0x2734, value: 0x422734 } }])
  })

  it('decodes 34 bits into the 32-bit number', () => {
    const r = run(new WiegandDecoder({ formats: [34] }), edges(wiegandBits(34, 0xa1422734), 100))
    expect(r).toEqual([{ ok: true, frame: { bits: 34, value: 0xa1422734 } }])
  })

  it('rejects every single flipped bit (parity), never accepting a wrong number', () => {
    for (const format of [26, 34] as const) {
      const good = wiegandBits(format, 0x00422734)
      for (let i = 0; i < good.length; i++) {
        const bad = [...good]
        bad[i] = 1 - bad[i]!
        const r = run(new WiegandDecoder({ formats: [format] }), edges(bad, 0))
        expect(r).toEqual([expect.objectContaining({ ok: false, reason: 'parity' })])
      }
    }
  })

  it('splits glued frames on the 25 ms gap, and counts stray pulses and wrong lengths', () => {
    const d = new WiegandDecoder({ formats: [26] })
    const list = [
      ...edges([1, 0], 0), // a glitch: two stray pulses
      ...edges(wiegandBits(26, 0x422734), 100),
      ...edges(wiegandBits(34, 0x422734), 200), // a 34-bit frame on a 26-bit reader
      ...edges(wiegandBits(26, 0x123456), 300),
    ]
    const r = run(d, list)
    expect(reasons(r)).toEqual(['noise', 'length'])
    expect(frames(r).map((f) => f.value)).toEqual([0x422734, 0x123456])
  })

  it('keeps pulses less than the gap apart in one frame, and orders bits by timestamp, not arrival', () => {
    const slow = edges(wiegandBits(26, 0x422734), 0, 20) // a slow reader: 20 ms per bit is still one frame
    expect(frames(run(new WiegandDecoder({ formats: [26] }), slow)).map((f) => f.value)).toEqual([0x422734])
    const shuffled = edges(wiegandBits(26, 0x422734), 0, 2)
    // gpiomon v1 reads each line's fd separately: swap neighbours across lines.
    for (let i = 0; i + 1 < shuffled.length; i += 2)
      [shuffled[i], shuffled[i + 1]] = [shuffled[i + 1]!, shuffled[i]!]
    const r = run(new WiegandDecoder({ formats: [26] }), shuffled)
    expect(frames(r).map((f) => f.value)).toEqual([0x422734])
  })
})
