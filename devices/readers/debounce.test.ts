/**
 * Debounce on fake time: one event per presentation.
 */
import { describe, expect, it } from 'vitest'
import { FakeClock } from '../../runtime/core/clock.ts'
import { Debouncer } from './debounce.ts'

describe('Debouncer', () => {
  it('one event per presentation: repeats within the window (which each repeat extends) are dropped', () => {
    const clock = new FakeClock()
    const d = new Debouncer(1_000, clock)
    expect(d.accept('em:1')).toBe(true)
    for (let i = 0; i < 30; i++) {
      clock.advance(100)
      expect(d.accept('em:1')).toBe(false) // held at the reader for 3 s
    }
    expect(d.accept('em:2')).toBe(true) // another badge is not held back
    clock.advance(999)
    expect(d.accept('em:1')).toBe(false)
    clock.advance(1_000)
    expect(d.accept('em:1')).toBe(true) // taken away and presented again
  })

  it('a zero window lets every read through', () => {
    const d = new Debouncer(0, new FakeClock())
    expect([d.accept('a'), d.accept('a')]).toEqual([true, true])
  })
})
