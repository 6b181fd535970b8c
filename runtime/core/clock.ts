/**
 * An injectable clock (after MQTT.js's KeepaliveManager): every relay pulse, unlock window,
 * debounce, idle timeout and heartbeat takes a Clock, so tests run on fake time.
 */
export interface TimerHandle {
  readonly id: number
}

export interface Clock {
  /** Milliseconds, monotonic within a process. */
  now(): number
  setTimeout(fn: () => void, ms: number): TimerHandle
  clearTimeout(handle: TimerHandle | null | undefined): void
  /**
   * Runs `fn` in the next turn of the event loop, after pending I/O; cancelled with
   * clearTimeout. A clock without it is used through `setTimeout(fn, 0)`.
   */
  setImmediate?(fn: () => void): TimerHandle
}

/** The real clock: performance.now() and Node timers (unref'd: a pending timer never keeps a stopped node alive). */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms)
    t.unref()
    return { id: Number(t[Symbol.toPrimitive]()), t } as TimerHandle
  },
  clearTimeout(handle) {
    if (!handle) return
    const h = handle as unknown as { t?: NodeJS.Timeout; i?: NodeJS.Immediate }
    if (h.i) clearImmediate(h.i)
    else clearTimeout(h.t)
  },
  // Not unref'd: work handed to the next turn (a group commit) is what a caller awaits.
  setImmediate(fn) {
    return { id: 0, i: setImmediate(fn) } as TimerHandle
  },
}

/** A manual clock for tests: time moves only when `advance()` is called. */
export class FakeClock implements Clock {
  #now = 0
  #next = 1
  #timers = new Map<number, { at: number; fn: () => void }>()

  constructor(start = 0) {
    this.#now = start
  }

  now(): number {
    return this.#now
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.#next++
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), fn })
    return { id }
  }

  clearTimeout(handle: TimerHandle | null | undefined): void {
    if (handle) this.#timers.delete(handle.id)
  }

  /** Due at once: fires on the next `advance` (`advance(0)` included). */
  setImmediate(fn: () => void): TimerHandle {
    return this.setTimeout(fn, 0)
  }

  /** Pending timers, for assertions. */
  get pending(): number {
    return this.#timers.size
  }

  /** Moves time forward by `ms`, firing due timers in order (timers they set fire too, if due). */
  advance(ms: number): void {
    const end = this.#now + ms
    for (;;) {
      let nextId = -1
      let nextAt = Number.POSITIVE_INFINITY
      for (const [id, t] of this.#timers) {
        if (t.at <= end && (t.at < nextAt || (t.at === nextAt && id < nextId))) {
          nextId = id
          nextAt = t.at
        }
      }
      if (nextId < 0) break
      const t = this.#timers.get(nextId)!
      this.#timers.delete(nextId)
      this.#now = Math.max(this.#now, t.at)
      t.fn()
    }
    this.#now = end
  }
}
