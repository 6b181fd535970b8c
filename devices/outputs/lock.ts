/**
 * A door lock on one relay line. `energise` says what powering the relay does (a strike or a
 * fail-secure bolt unlocks, a maglock locks); `fail` says which state is safe (secure = locked,
 * the default). Unlock by pulse (relocks after N ms; a pulse during a pulse extends it) or hold
 * (until `lock()`).
 */
import type { TimerHandle } from '../../runtime/core/clock.ts'
import { invert, type Level } from '../gpio/types.ts'
import { checkMs, type FailMode, Output, type OutputOptions } from './output.ts'

export interface LockOptions extends OutputOptions {
  /** What energising the relay does: `unlock` (strike, fail-secure bolt; default) or `lock` (maglock). */
  energise?: 'unlock' | 'lock'
  /** The safe state: `secure` = locked (default), `safe` = unlocked. */
  fail?: FailMode
}

export type LockState = 'locked' | 'unlocked'

export class Lock extends Output {
  readonly safeState: LockState
  #locked: Level
  #mode: 'locked' | 'pulse' | 'held'
  #timer: TimerHandle | null = null

  constructor(opts: LockOptions) {
    super(opts)
    this.#locked = (opts.energise ?? 'unlock') === 'unlock' ? 0 : 1
    this.safeState = (opts.fail ?? 'secure') === 'secure' ? 'locked' : 'unlocked'
    this.#mode = this.safeState === 'locked' ? 'locked' : 'held'
  }

  get safeLevel(): Level {
    return this.safeState === 'locked' ? this.#locked : invert(this.#locked)
  }

  get state(): LockState {
    return this.#mode === 'locked' ? 'locked' : 'unlocked'
  }

  /** Unlocks now and relocks `ms` later; during a pulse it extends the pulse, during a hold it does nothing. */
  async pulse(ms: number): Promise<void> {
    checkMs(this.name, 'pulse', ms)
    this._check()
    if (this.#mode === 'held') return
    this.clock.clearTimeout(this.#timer)
    // The relock is timed from the request, so the window never outlasts `ms`.
    this.#timer = this.clock.setTimeout(() => {
      this.#timer = null
      this.#mode = 'locked'
      this._driveLater(this.#locked, 'relock')
    }, ms)
    if (this.#mode === 'pulse') return
    this.#mode = 'pulse'
    await this._drive(invert(this.#locked))
  }

  /** Unlocks until `lock()`. */
  async unlock(): Promise<void> {
    this._check()
    this.clock.clearTimeout(this.#timer)
    this.#timer = null
    const was = this.#mode
    this.#mode = 'held'
    if (was === 'locked') await this._drive(invert(this.#locked))
  }

  /** Locks now, ending any pulse or hold. */
  async lock(): Promise<void> {
    this._check()
    this.clock.clearTimeout(this.#timer)
    this.#timer = null
    const was = this.#mode
    this.#mode = 'locked'
    if (was !== 'locked') await this._drive(this.#locked)
  }

  protected _reset(): void {
    this.clock.clearTimeout(this.#timer)
    this.#timer = null
    this.#mode = this.safeState === 'locked' ? 'locked' : 'held'
  }
}
