/**
 * Repeated reads of a badge held at the reader become one event. A read is new unless the same
 * id was read less than `windowMs` ago; every read (new or not) restarts that id's window, so a
 * badge left on an RDM6300 that repeats its frame every ~100 ms is one event, and taking it away
 * for `windowMs` and presenting it again is a second one. No timers: time comes from the clock.
 */
import type { Clock } from '../../runtime/core/clock.ts'

export class Debouncer {
  readonly windowMs: number
  readonly #clock: Clock
  readonly #lastSeen = new Map<string, number>()

  constructor(windowMs: number, clock: Clock) {
    this.windowMs = windowMs
    this.#clock = clock
  }

  /** True when this read of `id` is a new presentation. */
  accept(id: string): boolean {
    const now = this.#clock.now()
    for (const [seen, at] of this.#lastSeen) if (now - at >= this.windowMs) this.#lastSeen.delete(seen)
    const fresh = !this.#lastSeen.has(id)
    this.#lastSeen.set(id, now)
    return fresh
  }

  clear(): void {
    this.#lastSeen.clear()
  }
}
