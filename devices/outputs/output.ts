/**
 * What every output shares: a declared safe state, applied when the line is requested (the
 * line is requested directly at its safe level, never at a default and then set), on close,
 * and whenever `applySafeState()` is called (boot, shutdown, the supervisor after a crash).
 * Every timer belongs to the output and is cancelled when it returns to its safe state.
 */
import { pino } from 'pino'
import { type Clock, systemClock } from '../../runtime/core/clock.ts'
import { deviceErrors } from '../../runtime/core/errors/index.ts'
import { Resource } from '../../runtime/core/lifecycle.ts'
import type { Logger } from '../../runtime/core/log.ts'
import type { GpioDriver, Level, LineRef, OutputLine } from '../gpio/types.ts'

/** `secure`: the safe state is locked / de-energised; `safe`: unlocked / energised. */
export type FailMode = 'secure' | 'safe'

export interface OutputOptions {
  /** The output's name in logs and errors, e.g. `front-door-lock`. */
  name: string
  gpio: GpioDriver
  line: LineRef
  /** The driver board switches on a low pin. */
  activeLow?: boolean
  clock?: Clock
  log?: Logger
}

/** Anything that can be put in its safe state (see `applySafeStates`). */
export interface SafeStateful {
  readonly name: string
  /** Opens the output at its safe level, or stops what it is doing and returns to it. */
  applySafeState(): Promise<void>
}

export abstract class Output extends Resource implements SafeStateful {
  readonly name: string
  protected readonly clock: Clock
  protected readonly log: Logger
  #gpio: GpioDriver
  #lineRef: LineRef
  #activeLow: boolean
  #line: OutputLine | null = null
  #closing = false

  constructor(opts: OutputOptions) {
    super()
    this.name = opts.name
    this.#gpio = opts.gpio
    this.#lineRef = opts.line
    this.#activeLow = opts.activeLow === true
    this.clock = opts.clock ?? systemClock
    this.log = opts.log ?? pino({ level: 'silent' })
  }

  /** The logical level of the safe state (1 = energised). */
  abstract get safeLevel(): Level

  /** Cancels timers and resets the output's own state to its safe state (no I/O). */
  protected abstract _reset(): void

  protected async _open(): Promise<void> {
    // Rule: requested at the safe level in one step, so a relay never clicks during start-up.
    this.#line = await this.#gpio.openOutput({
      line: this.#lineRef,
      initial: this.safeLevel,
      activeLow: this.#activeLow,
    })
    this.log.debug({ output: this.name, level: this.safeLevel }, 'output requested at its safe level')
  }

  override close(): Promise<void> {
    this.#closing = true
    return super.close()
  }

  protected async _close(): Promise<void> {
    this._reset()
    const line = this.#line
    if (!line) return
    try {
      await line.write(this.safeLevel)
    } finally {
      await line.close()
    }
  }

  async applySafeState(): Promise<void> {
    if (this.#closing) return this.close()
    if (!this.opened) return this.ready()
    this._reset()
    await this.#line!.write(this.safeLevel)
  }

  /** Throws unless the output can act now; call it before changing any state. */
  protected _check(): void {
    if (this.#closing) throw deviceErrors.DEVICE_CLOSED(this.name)
    if (!this.#line) throw deviceErrors.DEVICE_NOT_READY(this.name)
  }

  /** Drives the line now (a synchronous backend completes before this returns). */
  protected _drive(level: Level): Promise<void> {
    try {
      this._check()
    } catch (err) {
      return Promise.reject(err)
    }
    return this.#line!.write(level)
  }

  /** Drives the line from a timer: a failure is logged, since nobody awaits it. */
  protected _driveLater(level: Level, what: string): void {
    this._drive(level).catch((err) => this.log.error({ output: this.name, err }, `${what} failed`))
  }
}

export function checkMs(device: string, key: string, ms: number): number {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0) {
    throw deviceErrors.DEVICE_CONFIG(
      device,
      key,
      `must be a positive number of milliseconds, got ${String(ms)}`,
    )
  }
  return ms
}
