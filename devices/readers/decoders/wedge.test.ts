/**
 * Keyboard-wedge decoder fixtures: synthesized `struct input_event` bytes (24- and 16-byte), split
 * mid-struct, stray keys, timeouts, SYN_DROPPED.
 */
import { describe, expect, it } from 'vitest'
import { expectChunkingInvariant, frames, reasons } from '../testing/chunks.ts'
import { concat, wedgeKeys } from '../testing/fixtures.ts'
import { EV_KEY, encodeEvent, nativeEventSize, parseEvent, SYN_DROPPED, WedgeDecoder } from './wedge.ts'

describe('WedgeDecoder (evdev struct input_event)', () => {
  for (const size of [24, 16] as const) {
    it(`reads ${size}-byte events: ids typed with ENTER, for every chunking (split mid-struct too)`, () => {
      const stream = concat(wedgeKeys('0004335412', 1_000, size), wedgeKeys('1a2b', 2_000, size))
      const results = expectChunkingInvariant(() => new WedgeDecoder({ eventSize: size }), stream)
      expect(frames(results)).toEqual(['0004335412', '1A2B'])
      expect(reasons(results)).toEqual([])
    })
  }

  it('encodes and parses the struct layout: timeval, type u16, code u16, value s32', () => {
    const e = { at: 1234.5, type: EV_KEY, code: 28, value: -1 }
    const b24 = encodeEvent(e, 24)
    expect(b24.length).toBe(24)
    expect(Buffer.from(b24).readUInt16LE(16)).toBe(EV_KEY)
    expect(Buffer.from(b24).readInt32LE(20)).toBe(-1)
    expect(parseEvent(b24, 0, 24)).toEqual(e)
    expect(parseEvent(encodeEvent(e, 16), 0, 16)).toEqual(e)
    expect(nativeEventSize('arm64')).toBe(24)
    expect(nativeEventSize('arm')).toBe(16)
  })

  it('drops a half-typed id when the keys stop coming, so it never glues onto the next badge', () => {
    const d = new WedgeDecoder({ eventSize: 24, keyTimeoutMs: 500 })
    const half = wedgeKeys('00043', 1_000, 24).subarray(0, 5 * 5 * 24) // five keys, no ENTER
    const results = [...d.push(half), ...d.push(wedgeKeys('0004335412', 5_000, 24))]
    expect(reasons(results)).toEqual(['incomplete'])
    expect(frames(results)).toEqual(['0004335412'])
  })

  it('rejects ids with unexpected keys, overlong ids and ids cut by SYN_DROPPED', () => {
    const d = new WedgeDecoder({ eventSize: 24, maxLength: 12 })
    const q = (at: number) => encodeEvent({ at, type: EV_KEY, code: 16 /* KEY_Q */, value: 1 }, 24)
    const enter = (at: number) => encodeEvent({ at, type: EV_KEY, code: 28, value: 1 }, 24)
    const dropped = (at: number) => encodeEvent({ at, type: 0, code: SYN_DROPPED, value: 0 }, 24)
    const stream = concat(
      wedgeKeys('12', 1_000, 24).subarray(0, 10 * 24),
      q(1_020),
      enter(1_030),
      wedgeKeys('1234567890123', 2_000, 24),
      wedgeKeys('12', 3_000, 24).subarray(0, 5 * 24),
      dropped(3_010),
      wedgeKeys('0004335412', 4_000, 24),
    )
    const results = d.push(stream)
    expect(reasons(results)).toEqual(['malformed', 'overlong', 'dropped'])
    expect(frames(results)).toEqual(['0004335412'])
  })

  it('ignores releases, autorepeat and modifiers (shift for upper-case hex)', () => {
    const d = new WedgeDecoder({ eventSize: 24 })
    const ev = (code: number, value: number, at: number) => encodeEvent({ at, type: EV_KEY, code, value }, 24)
    const stream = concat(
      ev(42, 1, 1),
      ev(30, 1, 2),
      ev(30, 2, 3),
      ev(30, 0, 4),
      ev(42, 0, 5),
      ev(2, 1, 6),
      ev(28, 1, 7),
    )
    expect(d.push(stream)).toEqual([{ ok: true, frame: 'A1' }])
  })
})
