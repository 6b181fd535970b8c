/**
 * Reader health: a snapshot a status page or `doctor` can show, and a change event for logs and
 * alerts (DESIGN: readers that die silently and nobody notices for weeks).
 *   down      the device is absent, closed, or does not answer (PN532 without ACK)
 *   degraded  working, but it sent a bad frame or missed an answer within the last `degradedMs`
 *   ok        working, and quiet about problems for `degradedMs`
 * The monitor owns one timer (the end of a degraded spell), on the injected clock.
 */

import type { Clock, TimerHandle } from '../../runtime/core/clock.ts'
import type { LatchkeyError } from '../../runtime/core/errors.ts'

export type HealthState = 'ok' | 'degraded' | 'down'

export interface ReaderHealth {
  readonly state: HealthState
  /** Clock time of the last valid frame (a badge, or a PN532 answer), null before the first. */
  readonly lastFrameAt: number | null
  /** Frames rejected by their checksum, parity, length or syntax, plus runs of line noise. */
  readonly badFrames: number
  /** Times the device came back after being lost. */
  readonly reconnects: number
  readonly lastError: { readonly code: string; readonly message: string; readonly at: number } | null
}

export interface HealthMonitorOptions {
  clock: Clock
  /** How long a bad frame or a missed answer keeps the reader `degraded`. */
  degradedMs: number
  onChange: (health: ReaderHealth) => void
}

export class HealthMonitor {
  readonly #clock: Clock
  readonly #degradedMs: number
  readonly #onChange: (health: ReaderHealth) => void
  #up = false
  #degradedTimer: TimerHandle | null = null
  #lastFrameAt: number | null = null
  #badFrames = 0
  #reconnects = 0
  #lastError: ReaderHealth['lastError'] = null
  #reported: HealthState = 'down'

  constructor(opts: HealthMonitorOptions) {
    this.#clock = opts.clock
    this.#degradedMs = opts.degradedMs
    this.#onChange = opts.onChange
  }

  snapshot(): ReaderHealth {
    return Object.freeze({
      state: this.#state(),
      lastFrameAt: this.#lastFrameAt,
      badFrames: this.#badFrames,
      reconnects: this.#reconnects,
      lastError: this.#lastError,
    })
  }

  get state(): HealthState {
    return this.#state()
  }

  /** The device is open and answering. */
  up(): void {
    this.#up = true
    this.#changed()
  }

  /** The device is gone or does not answer. */
  down(err: LatchkeyError): void {
    this.#up = false
    this.#error(err)
    this.#changed()
  }

  /** The device came back after being lost. */
  reconnected(): void {
    this.#reconnects++
  }

  /** A valid frame arrived. */
  frame(): void {
    this.#lastFrameAt = this.#clock.now()
  }

  /** A frame was rejected: counted, and the reader is degraded for a while. */
  badFrame(err: LatchkeyError): void {
    this.#badFrames++
    this.fault(err)
  }

  /** Something went wrong that is not a bad frame (a missed answer): degraded for a while. */
  fault(err: LatchkeyError): void {
    this.#error(err)
    this.#clock.clearTimeout(this.#degradedTimer)
    this.#degradedTimer = this.#clock.setTimeout(() => {
      this.#degradedTimer = null
      this.#changed()
    }, this.#degradedMs)
    this.#changed()
  }

  /** Releases the timer (the reader closed). The snapshot says `down`; no change event, no alarm. */
  close(): void {
    this.#clock.clearTimeout(this.#degradedTimer)
    this.#degradedTimer = null
    this.#up = false
    this.#reported = 'down'
  }

  #state(): HealthState {
    if (!this.#up) return 'down'
    return this.#degradedTimer ? 'degraded' : 'ok'
  }

  #error(err: LatchkeyError): void {
    this.#lastError = Object.freeze({ code: err.code, message: err.message, at: this.#clock.now() })
  }

  #changed(): void {
    const state = this.#state()
    if (state === this.#reported) return
    this.#reported = state
    this.#onChange(this.snapshot())
  }
}
