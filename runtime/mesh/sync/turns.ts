/**
 * The core Clock (../../core/clock.ts) with event-loop turns added: sync works its ingest
 * queue one slice per turn, yielding to I/O in between, which a Clock's timers cannot express
 * (a zero-delay timeout runs before pending I/O is polled). A clock that brings its own
 * `setImmediate` (a test's manual loop) is used as it is; otherwise turns are Node's.
 */
import type { Clock, TimerHandle } from '../../core/clock.ts'

export interface TurnClock extends Clock {
  /** Runs `fn` on a later event-loop turn, after pending I/O. */
  setImmediate(fn: () => void): TimerHandle
  clearImmediate(handle: TimerHandle | null | undefined): void
}

export function withTurns(clock: Clock | TurnClock): TurnClock {
  if ('clearImmediate' in clock) return clock
  return {
    now: () => clock.now(),
    setTimeout: (fn, ms) => clock.setTimeout(fn, ms),
    clearTimeout: (handle) => clock.clearTimeout(handle),
    setImmediate(fn) {
      const t = setImmediate(fn)
      return { id: 0, t } as TimerHandle
    },
    clearImmediate(handle) {
      if (handle) clearImmediate((handle as unknown as { t: NodeJS.Immediate }).t)
    },
  }
}
