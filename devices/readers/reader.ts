/**
 * The BadgeReader contract every driver implements, and `ReaderBase`, the shared part of every
 * driver: lifecycle (runtime/core/lifecycle.ts `Resource`: idempotent ready()/close(), no I/O in the
 * constructor), typed `badge`/`health` events, debounce, and the health monitor.
 */

import { type Clock, systemClock } from '../../runtime/core/clock.ts'
import { readerErrors } from '../../runtime/core/errors/index.ts'
import type { LatchkeyError } from '../../runtime/core/errors.ts'
import { Resource } from '../../runtime/core/lifecycle.ts'
import { createLogger, type Logger } from '../../runtime/core/log.ts'
import type { Credential } from './credential.ts'
import { Debouncer } from './debounce.ts'
import type { RejectReason } from './decoders/types.ts'
import { HealthMonitor, type ReaderHealth } from './health.ts'

export type ReaderType = 'rdm6300' | 'id12la' | 'line' | 'pn532' | 'wedge' | 'wiegand26' | 'wiegand34'

/**
 * A badge presented at a reader: the one event type of the badge path, from the driver to the dapp
 * that owns the reader (the node routes it, runtime/badge-router.ts).
 */
export interface BadgeEvent {
  readonly credential: Credential
  /** The reader's name (from its config). */
  readonly reader: string
  /** When it was decoded, in the reader clock's milliseconds (monotonic, not wall time). */
  readonly at: number
}

export interface ReaderEvents {
  /** A badge was presented (once per presentation: repeats within the debounce window are dropped). */
  badge: BadgeEvent
  /** The health state changed (ok / degraded / down). */
  health: ReaderHealth
}

export type ReaderListener<E extends keyof ReaderEvents> = (payload: ReaderEvents[E]) => void

export interface BadgeReader {
  readonly name: string
  readonly type: ReaderType
  /** Starts the reader. Resolves once it has tried the device once; a missing device is not an error here: the reader reports `down` and keeps retrying. Idempotent. */
  ready(): Promise<void>
  /** Stops the reader, its timers and child processes, and closes the device. Idempotent. */
  close(): Promise<void>
  /** A snapshot of the reader's health. */
  health(): ReaderHealth
  /** Adds a listener; returns a function that removes it. */
  on<E extends keyof ReaderEvents>(event: E, listener: ReaderListener<E>): () => void
  off<E extends keyof ReaderEvents>(event: E, listener: ReaderListener<E>): void
}

/** What every driver takes besides its own settings. */
export interface ReaderCommon {
  name: string
  clock?: Clock
  log?: Logger
  /** Same id within this window → one event. Default 1000 ms. */
  debounceMs?: number
  /** How long a bad frame keeps the reader `degraded`. Default 30 s. */
  degradedMs?: number
}

export abstract class ReaderBase extends Resource implements BadgeReader {
  readonly name: string
  abstract readonly type: ReaderType
  protected readonly clock: Clock
  protected readonly log: Logger
  protected readonly monitor: HealthMonitor
  readonly #debounce: Debouncer
  readonly #listeners = {
    badge: new Set<ReaderListener<'badge'>>(),
    health: new Set<ReaderListener<'health'>>(),
  }
  /** Bad frames are logged at warn once per degraded spell, then at debug. */
  #quietBadFrames = false
  #stopping = false

  constructor(opts: ReaderCommon) {
    super()
    this.name = opts.name
    this.clock = opts.clock ?? systemClock
    this.log = (opts.log ?? createLogger({ level: 'silent' })).child({
      component: 'reader',
      reader: opts.name,
    })
    this.#debounce = new Debouncer(opts.debounceMs ?? 1000, this.clock)
    this.monitor = new HealthMonitor({
      clock: this.clock,
      degradedMs: opts.degradedMs ?? 30_000,
      onChange: (h) => this.#healthChanged(h),
    })
  }

  health(): ReaderHealth {
    return this.monitor.snapshot()
  }

  override close(): Promise<void> {
    this.#stopping = true
    return super.close()
  }

  /** True from the moment `close()` is called: work in flight schedules no more. */
  protected get stopping(): boolean {
    return this.#stopping
  }

  on<E extends keyof ReaderEvents>(event: E, listener: ReaderListener<E>): () => void {
    ;(this.#listeners[event] as Set<ReaderListener<E>>).add(listener)
    return () => this.off(event, listener)
  }

  off<E extends keyof ReaderEvents>(event: E, listener: ReaderListener<E>): void {
    ;(this.#listeners[event] as Set<ReaderListener<E>>).delete(listener)
  }

  /** A decoded credential: marks a valid frame, then emits `badge` unless it repeats a held badge. */
  protected present(credential: Credential): void {
    this.monitor.frame()
    if (!this.#debounce.accept(credential.id)) return
    const event: BadgeEvent = Object.freeze({ credential, reader: this.name, at: this.clock.now() })
    // The read is debug; the decision the owning dapp makes is the info line.
    this.log.debug({ credential: credential.id, bits: credential.bits }, 'badge')
    for (const l of [...this.#listeners.badge]) l(event)
  }

  /** A rejected frame: counted in health, logged. */
  protected badFrame(reason: RejectReason, detail: string): void {
    const err = readerErrors.BAD_FRAME(this.name, reason, detail)
    if (this.#quietBadFrames) this.log.debug({ code: err.code, reason }, err.message)
    else this.log.warn({ code: err.code, reason }, err.message)
    this.#quietBadFrames = true
    this.monitor.badFrame(err)
  }

  /** The device works (again). */
  protected markUp(reconnected: boolean): void {
    if (reconnected) this.monitor.reconnected()
    this.monitor.up()
  }

  protected markDown(err: LatchkeyError): void {
    this.monitor.down(err)
  }

  #healthChanged(h: ReaderHealth): void {
    if (h.state === 'ok') this.#quietBadFrames = false
    const fields = {
      state: h.state,
      badFrames: h.badFrames,
      reconnects: h.reconnects,
      code: h.lastError?.code,
    }
    if (h.state === 'ok') this.log.info(fields, 'reader ok')
    else this.log.warn(fields, `reader ${h.state}${h.lastError ? `: ${h.lastError.message}` : ''}`)
    for (const l of [...this.#listeners.health]) l(h)
  }
}
