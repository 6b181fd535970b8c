/**
 * A debounced input line: a change counts once the line has held the new value for
 * `debounceMs` (by the injected clock); bounce inside that window is ignored. A change is
 * reported with the time the line first reached its new value (the start of the stable run),
 * so thresholds measured from it are exact. `immediate` names a value that counts at once
 * (an e-stop engaging must not wait), while leaving it is still debounced.
 */
import { pino } from 'pino'
import { type Clock, systemClock, type TimerHandle } from '../../runtime/core/clock.ts'
import { deviceErrors } from '../../runtime/core/errors/index.ts'
import { Resource } from '../../runtime/core/lifecycle.ts'
import type { Logger } from '../../runtime/core/log.ts'
import type { Bias, GpioDriver, InputLine, Level, LineEvent, LineRef } from '../gpio/types.ts'

export interface InputOptions {
  /** The input's name in logs and errors, e.g. `front-door-contact`. */
  name: string
  gpio: GpioDriver
  line: LineRef
  /** Logical 1 is a low pin (after the pull resistor). */
  activeLow?: boolean
  /** Pull resistor for the line. */
  bias?: Bias
  /** How long a new value must hold before it counts; 20 ms unless the device says otherwise. */
  debounceMs?: number
  clock?: Clock
  log?: Logger
}

/** A debounced change: the new value and when the line first reached it. */
export interface InputChange {
  value: Level
  at: number
}

export type Unsubscribe = () => void

export function checkDuration(device: string, key: string, ms: unknown, min = 0): number {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < min) {
    throw deviceErrors.DEVICE_CONFIG(
      device,
      key,
      `must be a number of milliseconds ≥ ${min}, got ${String(ms)}`,
    )
  }
  return ms
}

export class DebouncedInput extends Resource {
  readonly name: string
  readonly debounceMs: number
  protected readonly clock: Clock
  protected readonly log: Logger
  #opts: InputOptions
  #immediate: Level | null
  #line: InputLine | null = null
  #stable: Level = 0
  #raw: Level = 0
  #rawSince = 0
  #timer: TimerHandle | null = null
  #watching = false
  #listeners = new Set<(change: InputChange) => void>()

  constructor(opts: InputOptions, defaults: { debounceMs: number; immediate?: Level } = { debounceMs: 20 }) {
    super()
    this.name = opts.name
    this.debounceMs = checkDuration(opts.name, 'debounceMs', opts.debounceMs ?? defaults.debounceMs)
    this.#immediate = defaults.immediate ?? null
    this.#opts = opts
    this.clock = opts.clock ?? systemClock
    this.log = opts.log ?? pino({ level: 'silent' })
  }

  /** The debounced value. */
  get value(): Level {
    return this.#stable
  }

  /** Calls `fn` with every debounced change; returns the way to stop. */
  onChange(fn: (change: InputChange) => void): Unsubscribe {
    this.#listeners.add(fn)
    return () => this.#listeners.delete(fn)
  }

  protected async _open(): Promise<void> {
    const { gpio, line, activeLow, bias } = this.#opts
    this.#line = await gpio.openInput({
      line,
      ...(activeLow ? { activeLow } : {}),
      ...(bias ? { bias } : {}),
      onChange: (e) => this.#edge(e),
      onError: (err) => this.log.error({ input: this.name, err }, 'input no longer watched'),
    })
    // Edges before this point are part of the value read now.
    this.#stable = this.#raw = await this.#line.read()
    this.#rawSince = this.clock.now()
    this.#watching = true
    this._started(this.#stable)
  }

  protected async _close(): Promise<void> {
    this.#watching = false
    this.clock.clearTimeout(this.#timer)
    this.#timer = null
    this._stopped()
    await this.#line?.close()
  }

  #edge(e: LineEvent): void {
    this.#raw = e.value
    this.#rawSince = e.at
    this.clock.clearTimeout(this.#timer)
    this.#timer = null
    if (!this.#watching) return
    // Back to the stable value inside the window: it was bounce.
    if (e.value === this.#stable) return
    if (e.value === this.#immediate) {
      this.#commit()
      return
    }
    this.#timer = this.clock.setTimeout(() => {
      this.#timer = null
      this.#commit()
    }, this.debounceMs)
  }

  #commit(): void {
    this.#stable = this.#raw
    const change = { value: this.#stable, at: this.#rawSince }
    this._changed(change)
    for (const fn of this.#listeners) fn(change)
  }

  /** Subclass hook: the initial value is known. */
  protected _started(_value: Level): void {}
  /** Subclass hook: a debounced change, before listeners hear of it. */
  protected _changed(_change: InputChange): void {}
  /** Subclass hook: closing; cancel your timers. */
  protected _stopped(): void {}
}
