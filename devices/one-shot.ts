/**
 * One pending callback on a clock: arming it again replaces what was pending, and `cancel()`
 * drops it. A driver's timeout or its next step is one of these, so it never runs twice.
 */
import type { Clock, TimerHandle } from '../runtime/core/clock.ts'

export class OneShot {
  readonly #clock: Clock
  #handle: TimerHandle | null = null

  constructor(clock: Clock) {
    this.#clock = clock
  }

  get pending(): boolean {
    return this.#handle !== null
  }

  /** Runs `fn` in `ms` on the clock, replacing the pending callback. */
  arm(ms: number, fn: () => void): void {
    this.cancel()
    this.#handle = this.#clock.setTimeout(() => {
      this.#handle = null
      fn()
    }, ms)
  }

  cancel(): void {
    this.#clock.clearTimeout(this.#handle)
    this.#handle = null
  }
}
