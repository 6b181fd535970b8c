/**
 * Hybrid logical clock: 48-bit wall-clock milliseconds + 16-bit counter. Keeps causality when
 * boards have no RTC and boot with a wrong date: a clock never goes backwards, and a record's
 * clock is always greater than the clocks of the records it follows.
 *
 * A remote clock implausibly far ahead of this board's wall clock (more than `maxAheadMs`) is
 * not adopted: adopting it would drag every node's clock into the future. Such records are held
 * back by the ledger (reason CLOCK_FUTURE) until the wall clock catches up.
 */
export interface Hlc {
  /** Milliseconds since the epoch, < 2^48. */
  readonly ms: number
  /** Counter within the millisecond, < 2^16. */
  readonly c: number
}

export const HLC_MAX_MS = 2 ** 48 - 1
export const HLC_MAX_COUNTER = 0xffff
export const ZERO_HLC: Hlc = Object.freeze({ ms: 0, c: 0 })

export function compareHlc(a: Hlc, b: Hlc): number {
  return a.ms - b.ms || a.c - b.c
}

export function isValidHlc(h: unknown): h is Hlc {
  const x = h as Hlc
  return (
    Number.isInteger(x?.ms) &&
    Number.isInteger(x?.c) &&
    x.ms >= 0 &&
    x.ms <= HLC_MAX_MS &&
    x.c >= 0 &&
    x.c <= HLC_MAX_COUNTER
  )
}

export function formatHlc(h: Hlc): string {
  return `${new Date(h.ms).toISOString()}+${h.c}`
}

export interface ClockOptions {
  /** Wall clock in ms; injectable so tests run on fake time. */
  now?: () => number
  /** A remote clock further ahead than this is refused (default 10 minutes). */
  maxAheadMs?: number
}

export class HybridClock {
  readonly maxAheadMs: number
  #now: () => number
  #last: Hlc = ZERO_HLC
  /** Count of remote clocks refused for being too far ahead: surfaced in status/doctor. */
  refusedAhead = 0
  /** Largest wall-clock step backwards seen (ms): a board whose clock was set back. */
  backwardsMs = 0
  #lastWall = 0

  constructor(opts: ClockOptions = {}) {
    this.#now = opts.now ?? Date.now
    this.maxAheadMs = opts.maxAheadMs ?? 10 * 60_000
  }

  get last(): Hlc {
    return this.#last
  }

  wall(): number {
    const w = this.#now()
    if (w < this.#lastWall) this.backwardsMs = Math.max(this.backwardsMs, this.#lastWall - w)
    this.#lastWall = w
    return w
  }

  /** A new timestamp for a local event, greater than every timestamp seen so far. */
  tick(): Hlc {
    return this.#advance(this.wall(), this.#last)
  }

  /** A new timestamp greater than `after` (the clocks of the records a new record follows). */
  tickAfter(after: Hlc): Hlc {
    this.observe(after)
    return this.tick()
  }

  /**
   * Merges a remote clock. Returns false (and leaves the clock alone) when the remote clock is
   * implausibly far ahead of the wall clock.
   */
  observe(remote: Hlc): boolean {
    if (remote.ms > this.wall() + this.maxAheadMs) {
      this.refusedAhead++
      return false
    }
    if (compareHlc(remote, this.#last) > 0) this.#last = remote
    return true
  }

  isTooFarAhead(h: Hlc): boolean {
    return h.ms > this.wall() + this.maxAheadMs
  }

  #advance(wall: number, last: Hlc): Hlc {
    let next: Hlc
    if (wall > last.ms) next = { ms: Math.min(wall, HLC_MAX_MS), c: 0 }
    else if (last.c < HLC_MAX_COUNTER) next = { ms: last.ms, c: last.c + 1 }
    else next = { ms: last.ms + 1, c: 0 } // counter exhausted: borrow the next millisecond
    this.#last = next
    return next
  }
}
