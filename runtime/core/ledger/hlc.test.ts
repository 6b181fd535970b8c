import { describe, expect, it } from 'vitest'
import { compareHlc, HLC_MAX_COUNTER, HybridClock } from './hlc.ts'

describe('hybrid logical clock', () => {
  it('follows the wall clock when it moves forward', () => {
    let now = 1_000
    const clock = new HybridClock({ now: () => now })
    expect(clock.tick()).toEqual({ ms: 1_000, c: 0 })
    now = 1_005
    expect(clock.tick()).toEqual({ ms: 1_005, c: 0 })
  })

  it('never goes backwards when the wall clock does (a board whose time was reset)', () => {
    let now = 50_000
    const clock = new HybridClock({ now: () => now })
    const a = clock.tick()
    now = 10_000
    const b = clock.tick()
    const c = clock.tick()
    expect(compareHlc(b, a)).toBeGreaterThan(0)
    expect(compareHlc(c, b)).toBeGreaterThan(0)
    expect(b).toEqual({ ms: 50_000, c: 1 })
    expect(clock.backwardsMs).toBe(40_000)
  })

  it('counts within a millisecond and borrows the next one when the counter is exhausted', () => {
    const clock = new HybridClock({ now: () => 7 })
    let last = clock.tick()
    for (let i = 0; i < HLC_MAX_COUNTER + 5; i++) {
      const next = clock.tick()
      expect(compareHlc(next, last)).toBeGreaterThan(0)
      last = next
    }
    expect(last.ms).toBe(8)
  })

  it('tickAfter is after the given clock even when that clock is ahead of the wall', () => {
    const clock = new HybridClock({ now: () => 1_000 })
    expect(clock.tickAfter({ ms: 2_000, c: 3 })).toEqual({ ms: 2_000, c: 4 })
  })

  it('refuses a remote clock implausibly far ahead (clamping) and counts it', () => {
    const clock = new HybridClock({ now: () => 1_000_000, maxAheadMs: 60_000 })
    expect(clock.observe({ ms: 1_000_000 + 59_000, c: 0 })).toBe(true)
    expect(clock.observe({ ms: 1_000_000 + 61_000, c: 0 })).toBe(false)
    expect(clock.refusedAhead).toBe(1)
    expect(clock.isTooFarAhead({ ms: 1_000_000 + 3_600_000, c: 0 })).toBe(true)
    // The refused clock was not adopted: the next local tick stays near the wall clock.
    expect(clock.tick().ms).toBe(1_000_000 + 59_000)
  })
})
