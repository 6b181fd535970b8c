/**
 * A session's two cutoffs, idle and maximum length, each with its warning `warnMs` before, on the
 * dapp's clock. Arming a cutoff again replaces its pending timers.
 */
import type { Clock, TimerHandle } from '../../runtime/core/clock.ts'

export type Cutoff = 'idle' | 'max'

export class SessionTimers {
  readonly #clock: Clock
  readonly #pending: Record<Cutoff, TimerHandle[]> = { idle: [], max: [] }

  constructor(clock: Clock) {
    this.#clock = clock
  }

  /** Warns `warnMs` before `ms` (when `warnMs` > 0), then cuts off at `ms`. */
  arm(kind: Cutoff, ms: number, warnMs: number, warn: () => void, cut: () => void): void {
    this.clear(kind)
    if (warnMs > 0) this.#pending[kind].push(this.#clock.setTimeout(warn, ms - warnMs))
    this.#pending[kind].push(this.#clock.setTimeout(cut, ms))
  }

  clear(kind: Cutoff): void {
    for (const t of this.#pending[kind]) this.#clock.clearTimeout(t)
    this.#pending[kind] = []
  }
}
