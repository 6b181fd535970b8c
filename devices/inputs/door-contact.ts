/**
 * A door contact (value 1 = open). Raises two alarms, each active until the door closes:
 * - forced: the door opened outside an unlock window (`allowFor(ms)` after a badge or an exit
 *   request) and while not held unlocked (`hold()`);
 * - held-open: the door has been open `heldOpenMs` (from the moment it opened, or from the end
 *   of a hold if it was held) — fires at exactly that threshold.
 * A door already open at start-up is not "forced" (nobody knows how it opened) but is timed.
 * Default wiring: reed switch to ground, closed when the door is closed, with a pull-up.
 */
import type { TimerHandle } from '../../runtime/core/clock.ts'
import type { Level } from '../gpio/types.ts'
import {
  checkDuration,
  DebouncedInput,
  type InputChange,
  type InputOptions,
  type Unsubscribe,
} from './debounced.ts'

export interface DoorContactOptions extends InputOptions {
  /** How long the door may stand open (unless held unlocked) before the held-open alarm. */
  heldOpenMs: number
}

export interface DoorAlarm {
  type: 'forced' | 'held-open'
  /** true when raised, false when cleared (the door closed). */
  active: boolean
  at: number
}

export class DoorContact extends DebouncedInput {
  readonly heldOpenMs: number
  #windowFrom = Number.NEGATIVE_INFINITY
  #windowUntil = Number.NEGATIVE_INFINITY
  #held = false
  #timer: TimerHandle | null = null
  #forced = false
  #heldOpen = false
  #alarmListeners = new Set<(alarm: DoorAlarm) => void>()

  constructor(opts: DoorContactOptions) {
    super({ bias: 'pull-up', ...opts })
    this.heldOpenMs = checkDuration(opts.name, 'heldOpenMs', opts.heldOpenMs, 1)
  }

  get open(): boolean {
    return this.value === 1
  }

  get alarms(): { forced: boolean; heldOpen: boolean } {
    return { forced: this.#forced, heldOpen: this.#heldOpen }
  }

  onAlarm(fn: (alarm: DoorAlarm) => void): Unsubscribe {
    this.#alarmListeners.add(fn)
    return () => this.#alarmListeners.delete(fn)
  }

  /** Opens an unlock window: the door may open from now until `ms` from now. */
  allowFor(ms: number): void {
    checkDuration(this.name, 'allowFor', ms, 1)
    const now = this.clock.now()
    if (this.#windowUntil < now) this.#windowFrom = now
    this.#windowUntil = Math.max(this.#windowUntil, now + ms)
  }

  /** Held unlocked (open hours): openings are authorised and the door may stand open. */
  hold(): void {
    this.#held = true
    this.#cancelTimer()
    if (this.#heldOpen) this.#raise('held-open', false, this.clock.now())
  }

  /** Ends a hold; a door still open is timed from now. */
  release(): void {
    if (!this.#held) return
    this.#held = false
    if (this.open) this.#startTimer(this.clock.now())
  }

  protected override _started(value: Level): void {
    if (value === 1 && !this.#held) this.#startTimer(this.clock.now())
  }

  protected override _changed({ value, at }: InputChange): void {
    if (value === 1) {
      // Authorised when an unlock window overlaps the time between the door opening and now.
      const authorised = this.#held || (this.#windowFrom <= this.clock.now() && this.#windowUntil >= at)
      if (!authorised) this.#raise('forced', true, at)
      if (!this.#held) this.#startTimer(at)
      return
    }
    this.#cancelTimer()
    if (this.#heldOpen) this.#raise('held-open', false, at)
    if (this.#forced) this.#raise('forced', false, at)
  }

  protected override _stopped(): void {
    this.#cancelTimer()
  }

  #startTimer(openedAt: number): void {
    this.#cancelTimer()
    const due = openedAt + this.heldOpenMs
    this.#timer = this.clock.setTimeout(() => {
      this.#timer = null
      this.#raise('held-open', true, this.clock.now())
    }, due - this.clock.now())
  }

  #cancelTimer(): void {
    this.clock.clearTimeout(this.#timer)
    this.#timer = null
  }

  #raise(type: DoorAlarm['type'], active: boolean, at: number): void {
    if (type === 'forced') this.#forced = active
    else this.#heldOpen = active
    this.log[active ? 'warn' : 'info'](
      { input: this.name, alarm: type, active, at },
      `door ${type} ${active ? 'alarm' : 'cleared'}`,
    )
    const alarm = { type, active, at }
    for (const fn of this.#alarmListeners) fn(alarm)
  }
}
