/**
 * The sim backend: a board in memory that behaves like the device (a line is requested once,
 * unknown lines and chips fail like on a Pi, pull resistors set an undriven input's level) and
 * can be inspected: every request and write lands in `history` as `{ line, value, at, op }`
 * (physical level, time from the Clock); `drive()` puts a level on an input from outside.
 * Changes are reported synchronously, so fake-clock tests see exact times.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs'
import { deviceErrors } from '../../runtime/core/errors/index.ts'
import {
  GpioBase,
  type GpioBaseOptions,
  type InputSink,
  type PhysicalInput,
  type PhysicalOutput,
} from './base.ts'
import { type ChipTable, PI4_CHIPS, resolveLine } from './chips.ts'
import { type Bias, type Level, type LineInfo, type LineRef, lineKey } from './types.ts'

export interface SimChange {
  /** `chip-label:offset`, e.g. `pinctrl-bcm2711:17`. */
  line: string
  /** The physical level on the pin. */
  value: Level
  at: number
  /** `request`: a line opened as an output at this level; `write`: a later write; `drive`: `sim.drive()`. */
  op: 'request' | 'write' | 'drive'
}

export interface SimGpioOptions extends GpioBaseOptions {
  /** The board's chips; a Raspberry Pi 4 by default. */
  chips?: readonly ChipTable[]
  /**
   * A file the simulated board keeps its lines in across processes, as a real board keeps its
   * pins: every change is appended as a JSON line `{line, value, op, pid, wall}`, and a new
   * SimGpio starts from the levels it records. Lets tests watch a node process's outputs from
   * outside, through a crash and the next start.
   */
  journal?: string
}

/** One line of a sim journal. */
export interface SimJournalEntry {
  line: string
  value: Level
  op: SimChange['op']
  pid: number
  wall: number
}

/** Reads a sim journal (for tests and the supervisor): every change, oldest first. */
export function readSimJournal(file: string): SimJournalEntry[] {
  if (!existsSync(file)) return []
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as SimJournalEntry)
}

export class SimGpio extends GpioBase {
  readonly kind = 'sim' as const
  readonly history: SimChange[] = []
  #chips: readonly ChipTable[]
  #levels = new Map<string, Level>()
  #driven = new Set<string>()
  #held = new Map<string, { direction: 'output' | 'input'; sink?: InputSink }>()
  #faults = new Set<string>()

  #journal: string | undefined

  constructor(opts: SimGpioOptions = {}) {
    super(opts)
    this.#chips = opts.chips ?? PI4_CHIPS
    this.#journal = opts.journal
  }

  protected async _open(): Promise<void> {
    // The board kept its levels while no process held it.
    if (this.#journal) for (const e of readSimJournal(this.#journal)) this.#levels.set(e.line, e.value)
  }

  protected async _release(): Promise<void> {
    this.#held.clear()
  }

  protected _resolve(ref: LineRef): LineInfo {
    return resolveLine(this.#chips, ref)
  }

  /** Puts a physical level on a line from outside the board, as a switch or a sensor would. */
  drive(ref: LineRef, level: Level): void {
    const key = lineKey(this._resolve(ref))
    const held = this.#held.get(key)
    if (held?.direction === 'output') throw new Error(`sim: ${key} is an output; drive() is for inputs`)
    this.#driven.add(key)
    const before = this.#levels.get(key) ?? 0
    this.#levels.set(key, level)
    this.#record({ line: key, value: level, at: this.clock.now(), op: 'drive' })
    if (before !== level) held?.sink?.level(level)
  }

  /** The physical level on a line now. */
  level(ref: LineRef): Level {
    return this.#levels.get(lineKey(this._resolve(ref))) ?? 0
  }

  /** The physical levels an output line was requested and written at, in order. */
  levels(ref: LineRef): Level[] {
    const key = lineKey(this._resolve(ref))
    return this.history.filter((c) => c.line === key && c.op !== 'drive').map((c) => c.value)
  }

  /** The history of one line. */
  historyOf(ref: LineRef): SimChange[] {
    const key = lineKey(this._resolve(ref))
    return this.history.filter((c) => c.line === key)
  }

  /** Lines currently requested, as `chip-label:offset`. */
  held(): string[] {
    return [...this.#held.keys()].sort()
  }

  /** Makes every later request and write on a line fail (a broken driver), or heals it. */
  fault(ref: LineRef, broken = true): void {
    const key = lineKey(this._resolve(ref))
    if (broken) this.#faults.add(key)
    else this.#faults.delete(key)
  }

  #check(key: string, what: string): void {
    if (this.#faults.has(key)) throw deviceErrors.GPIO_IO(key, `${what} failed (sim fault)`)
  }

  #request(info: LineInfo, direction: 'output' | 'input'): string {
    const key = lineKey(info)
    // Like the character device: one request per line, whoever asks.
    if (this.#held.has(key)) throw deviceErrors.GPIO_LINE_BUSY(key, 'held by another request')
    this.#check(key, 'request')
    this.#held.set(key, { direction })
    return key
  }

  protected async _requestOutput(info: LineInfo, level: Level): Promise<PhysicalOutput> {
    const key = this.#request(info, 'output')
    this.#set(key, level, 'request')
    let released = false
    return {
      set: (l) => {
        if (released) return Promise.reject(deviceErrors.GPIO_LINE_CLOSED(key))
        try {
          this.#check(key, 'write')
        } catch (err) {
          return Promise.reject(err)
        }
        this.#set(key, l, 'write')
        return undefined
      },
      release: async () => {
        released = true
        this.#held.delete(key)
      },
    }
  }

  protected async _requestInput(
    info: LineInfo,
    bias: Bias | undefined,
    sink: InputSink,
  ): Promise<PhysicalInput & { initial: Level }> {
    const key = this.#request(info, 'input')
    this.#held.set(key, { direction: 'input', sink })
    // An input nobody drives floats to its pull resistor.
    if (!this.#driven.has(key) && (bias === 'pull-up' || bias === 'pull-down')) {
      this.#levels.set(key, bias === 'pull-up' ? 1 : 0)
    }
    return {
      initial: this.#levels.get(key) ?? 0,
      get: async () => this.#levels.get(key) ?? 0,
      release: async () => {
        this.#held.delete(key)
      },
    }
  }

  #set(key: string, level: Level, op: 'request' | 'write'): void {
    this.#levels.set(key, level)
    this.#record({ line: key, value: level, at: this.clock.now(), op })
  }

  #record(change: SimChange): void {
    this.history.push(change)
    if (this.#journal) {
      const entry: SimJournalEntry = {
        line: change.line,
        value: change.value,
        op: change.op,
        pid: process.pid,
        wall: Date.now(),
      }
      appendFileSync(this.#journal, `${JSON.stringify(entry)}\n`)
    }
  }
}
