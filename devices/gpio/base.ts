/**
 * What every backend shares, so each backend file only talks to its hardware: the lifecycle,
 * one request per line, active-low (backends see physical levels only), writes applied in call
 * order, change events stamped by the Clock, and closing every line when the backend closes.
 */
import { pino } from 'pino'
import { type Clock, systemClock } from '../../runtime/core/clock.ts'
import { deviceErrors } from '../../runtime/core/errors/index.ts'
import { Resource } from '../../runtime/core/lifecycle.ts'
import type { Logger } from '../../runtime/core/log.ts'
import {
  type Bias,
  type GpioDriver,
  type GpioKind,
  type InputLine,
  type InputRequest,
  invert,
  type Level,
  type LineInfo,
  type LineRef,
  lineKey,
  type OutputLine,
  type OutputRequest,
} from './types.ts'

export interface GpioBaseOptions {
  /** Stamps change events and runs every timer of the backend. */
  clock?: Clock
  /** A child logger for this component. */
  log?: Logger
}

/** A requested output as a backend sees it: physical levels only. */
export interface PhysicalOutput {
  /** Drives the pin; a backend that completes synchronously returns undefined (so fake-clock tests see exact times). */
  set(level: Level): Promise<void> | undefined
  release(): Promise<void>
}

/** A requested input as a backend sees it. */
export interface PhysicalInput {
  /** The physical level now. */
  get(): Promise<Level>
  release(): Promise<void>
}

/** What a backend gets to report on an input line. */
export interface InputSink {
  /** The physical level after an edge. */
  level(level: Level): void
  /** The backend stopped watching the line on its own. */
  error(err: Error): void
}

export abstract class GpioBase extends Resource implements GpioDriver {
  abstract readonly kind: GpioKind
  readonly clock: Clock
  protected readonly log: Logger
  #lines = new Map<string, { close(): Promise<void> } | null>()
  #closing = false

  constructor(opts: GpioBaseOptions = {}) {
    super()
    this.clock = opts.clock ?? systemClock
    this.log = opts.log ?? pino({ level: 'silent' })
  }

  /** Resolves a reference against the board; called only once the backend is open. */
  protected abstract _resolve(ref: LineRef): LineInfo
  /** Requests an output already at `level` (physical). */
  protected abstract _requestOutput(info: LineInfo, level: Level): Promise<PhysicalOutput>
  /** Requests an input; `initial` is its physical level at the request. */
  protected abstract _requestInput(
    info: LineInfo,
    bias: Bias | undefined,
    sink: InputSink,
  ): Promise<PhysicalInput & { initial: Level }>
  /** Releases what the backend holds beyond its lines (runs after every line is closed). */
  protected abstract _release(): Promise<void>

  override close(): Promise<void> {
    this.#closing = true
    return super.close()
  }

  protected async _close(): Promise<void> {
    const lines = [...this.#lines.values()].filter((l) => l !== null)
    const results = await Promise.allSettled(lines.map((l) => l.close()))
    await this._release()
    const failed = results.find((r) => r.status === 'rejected')
    if (failed) throw failed.reason
  }

  async resolve(ref: LineRef): Promise<LineInfo> {
    await this.#usable()
    return this._resolve(ref)
  }

  async openOutput(req: OutputRequest): Promise<OutputLine> {
    checkLevel(req.initial, 'initial')
    await this.#usable()
    const info = this._resolve(req.line)
    const key = this.#claim(info)
    const activeLow = req.activeLow === true
    try {
      const phys = await this._requestOutput(info, activeLow ? invert(req.initial) : req.initial)
      const line = new BaseOutputLine(info, activeLow, req.initial, phys, () => this.#lines.delete(key))
      this.#lines.set(key, line)
      this.log.debug({ line: key, initial: req.initial, activeLow }, 'output requested')
      return line
    } catch (err) {
      this.#lines.delete(key)
      throw err
    }
  }

  async openInput(req: InputRequest): Promise<InputLine> {
    await this.#usable()
    const info = this._resolve(req.line)
    const key = this.#claim(info)
    const activeLow = req.activeLow === true
    let line: BaseInputLine | null = null
    const early: Array<Level | Error> = []
    const sink: InputSink = {
      level: (l) => (line ? line.physical(l) : early.push(l)),
      error: (e) => (line ? line.failed(e) : early.push(e)),
    }
    try {
      const phys = await this._requestInput(info, req.bias, sink)
      line = new BaseInputLine(info, activeLow, phys, req, this.clock, () => this.#lines.delete(key))
      this.#lines.set(key, line)
      // Edges reported while the request was settling count from the initial level.
      for (const e of early) e instanceof Error ? line.failed(e) : line.physical(e)
      this.log.debug({ line: key, activeLow, bias: req.bias }, 'input requested')
      return line
    } catch (err) {
      this.#lines.delete(key)
      throw err
    }
  }

  async #usable(): Promise<void> {
    if (this.#closing) throw deviceErrors.GPIO_CLOSED(this.kind)
    await this.ready()
  }

  #claim(info: LineInfo): string {
    const key = lineKey(info)
    if (this.#lines.has(key)) throw deviceErrors.GPIO_LINE_BUSY(key, 'already requested by this process')
    this.#lines.set(key, null)
    return key
  }
}

function checkLevel(value: unknown, what: string): asserts value is Level {
  // A programmer error, not an operational one: rethrown wherever it surfaces.
  if (value !== 0 && value !== 1) throw new TypeError(`${what} must be 0 or 1, got ${String(value)}`)
}

class BaseOutputLine implements OutputLine {
  readonly info: LineInfo
  #activeLow: boolean
  #value: Level
  #phys: PhysicalOutput
  #tail: Promise<void> | null = null
  #closing: Promise<void> | null = null
  #forget: () => void

  constructor(info: LineInfo, activeLow: boolean, value: Level, phys: PhysicalOutput, forget: () => void) {
    this.info = info
    this.#activeLow = activeLow
    this.#value = value
    this.#phys = phys
    this.#forget = forget
  }

  write(value: Level): Promise<void> {
    checkLevel(value, 'value')
    if (this.#closing) return Promise.reject(deviceErrors.GPIO_LINE_CLOSED(lineKey(this.info)))
    const apply = (): Promise<void> | undefined => {
      const pending = this.#phys.set(this.#activeLow ? invert(value) : value)
      if (!pending) {
        this.#value = value
        return undefined
      }
      return pending.then(() => {
        this.#value = value
      })
    }
    // Idle: start now (a synchronous backend completes before write() returns); busy: queue.
    const done = this.#tail ? this.#tail.then(apply) : apply()
    if (!done) return Promise.resolve()
    const tail = done.catch(() => {})
    this.#tail = tail
    tail.then(() => {
      if (this.#tail === tail) this.#tail = null
    })
    return done
  }

  async read(): Promise<Level> {
    if (this.#closing) throw deviceErrors.GPIO_LINE_CLOSED(lineKey(this.info))
    return this.#value
  }

  close(): Promise<void> {
    if (!this.#closing) {
      this.#closing = (async () => {
        try {
          await this.#tail
          await this.#phys.release()
        } finally {
          this.#forget()
        }
      })()
    }
    return this.#closing
  }
}

class BaseInputLine implements InputLine {
  readonly info: LineInfo
  #activeLow: boolean
  #value: Level
  #phys: PhysicalInput
  #req: InputRequest
  #clock: Clock
  #closing: Promise<void> | null = null
  #forget: () => void

  constructor(
    info: LineInfo,
    activeLow: boolean,
    phys: PhysicalInput & { initial: Level },
    req: InputRequest,
    clock: Clock,
    forget: () => void,
  ) {
    this.info = info
    this.#activeLow = activeLow
    this.#phys = phys
    this.#value = this.#logical(phys.initial)
    this.#req = req
    this.#clock = clock
    this.#forget = forget
  }

  #logical(level: Level): Level {
    return this.#activeLow ? invert(level) : level
  }

  /** An edge from the backend: reported when it changes the value (a missed edge cannot report twice). */
  physical(level: Level): void {
    if (this.#closing) return
    const value = this.#logical(level)
    if (value === this.#value) return
    this.#value = value
    this.#req.onChange({ value, at: this.#clock.now() })
  }

  failed(err: Error): void {
    if (this.#closing) return
    if (this.#req.onError) this.#req.onError(err)
  }

  async read(): Promise<Level> {
    if (this.#closing) throw deviceErrors.GPIO_LINE_CLOSED(lineKey(this.info))
    return this.#logical(await this.#phys.get())
  }

  /** The value as last reported (what `read()` returns where the hardware cannot be asked twice). */
  get value(): Level {
    return this.#value
  }

  close(): Promise<void> {
    if (!this.#closing) {
      this.#closing = this.#phys.release().finally(this.#forget)
    }
    return this.#closing
  }
}
