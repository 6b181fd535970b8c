/**
 * A serial device that comes back: opens the port, and when it is lost (USB unplugged) or cannot
 * be opened, retries with exponential backoff on the injected clock (no jitter: one reader per
 * port, nothing to de-synchronise). Owns its one retry timer; `stop()` cancels it and closes the
 * port, also when an open is still in flight.
 */

import type { Clock, TimerHandle } from '../../../runtime/core/clock.ts'
import { isLatchkeyError, type LatchkeyError } from '../../../runtime/core/errors.ts'
import type { Logger } from '../../../runtime/core/log.ts'
import type { SerialLink, SerialOpener } from './port.ts'

export interface Backoff {
  /** First retry delay. Default 250 ms. */
  initialMs: number
  /** Longest retry delay. Default 5000 ms. */
  maxMs: number
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 250, maxMs: 5000 }

/** Delay before retry number `attempt` (0-based). */
export function backoffDelay(b: Backoff, attempt: number): number {
  return Math.min(b.maxMs, b.initialMs * 2 ** Math.min(attempt, 30))
}

export interface SerialConnectionEvents {
  /** The port is open; `reconnected` when it had been open before and was lost. */
  up(link: SerialLink, reconnected: boolean): void
  down(err: LatchkeyError): void
  data(chunk: Uint8Array): void
}

export interface SerialConnectionOptions {
  path: string
  baudRate: number
  opener: SerialOpener
  clock: Clock
  log: Logger
  backoff: Backoff
  events: SerialConnectionEvents
}

export class SerialConnection {
  readonly #o: SerialConnectionOptions
  #link: SerialLink | null = null
  #timer: TimerHandle | null = null
  #attempt = 0
  #everOpened = false
  #stopped = false
  #opening: Promise<void> | null = null

  constructor(opts: SerialConnectionOptions) {
    this.#o = opts
  }

  get link(): SerialLink | null {
    return this.#link
  }

  /** First open attempt; never rejects for an absent device (it reports `down` and retries). */
  start(): Promise<void> {
    return this.#open()
  }

  async stop(): Promise<void> {
    this.#stopped = true
    this.#o.clock.clearTimeout(this.#timer)
    this.#timer = null
    await this.#opening
    const link = this.#link
    this.#link = null
    await link?.close()
  }

  #open(): Promise<void> {
    const { path, baudRate, opener, events, log } = this.#o
    const opening = opener
      .open(path, baudRate, {
        data: (chunk) => {
          if (this.#link && !this.#stopped) events.data(chunk)
        },
        lost: (err) => {
          if (this.#stopped || !this.#link) return
          this.#link = null
          log.warn({ code: err.code, path }, err.message)
          events.down(err)
          this.#retry()
        },
      })
      .then(
        async (link) => {
          if (this.#stopped) {
            await link.close()
            return
          }
          const reconnected = this.#everOpened
          this.#everOpened = true
          this.#attempt = 0
          this.#link = link
          log.info({ path, reconnected }, 'serial port open')
          events.up(link, reconnected)
        },
        (err: unknown) => {
          // A programmer error (bad options) is rethrown; only operational failures are retried.
          if (!isLatchkeyError(err)) throw err
          if (this.#stopped) return
          const e = err
          if (this.#attempt === 0) log.warn({ code: e.code, path }, e.message)
          else log.debug({ code: e.code, path, attempt: this.#attempt }, e.message)
          events.down(e)
          this.#retry()
        },
      )
      .finally(() => {
        if (this.#opening === opening) this.#opening = null
      })
    this.#opening = opening
    return opening
  }

  #retry(): void {
    if (this.#stopped) return
    const delay = backoffDelay(this.#o.backoff, this.#attempt++)
    this.#o.clock.clearTimeout(this.#timer)
    this.#timer = this.#o.clock.setTimeout(() => {
      this.#timer = null
      if (!this.#stopped) void this.#open()
    }, delay)
  }
}
