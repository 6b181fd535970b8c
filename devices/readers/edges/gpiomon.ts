/**
 * An EdgeSource on libgpiod's `gpiomon` (Debian package `gpiod`): no native code, works on the
 * character device on every Pi kernel. Its syntax differs by major version, so the version is
 * asked once (`gpiomon --version`, or given) and the command line is built for it:
 *   v1 (Bookworm): gpiomon --falling-edge --line-buffered --format='%o %e %s %n' <chip> <d0> <d1>
 *   v2 (Trixie):   gpiomon --chip <chip> --edges falling --format='%o %E %S %l' <d0> <d1>
 * (v1 block-buffers a pipe without --line-buffered, which would hold pulses back; v2 flushes
 * after every batch.) The parser also reads both versions' default output, for wrappers that do
 * not pass our format. Timestamps are the kernel's event times (monotonic by default), so bit
 * order and frame gaps do not depend on when the pipe is read. When gpiomon exits on its own the
 * source reports `down` and restarts it with backoff; `close()` ends it.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { type Clock, systemClock, type TimerHandle } from '../../../runtime/core/clock.ts'
import { readerErrors } from '../../../runtime/core/errors/index.ts'
import type { LatchkeyError } from '../../../runtime/core/errors.ts'
import { Resource } from '../../../runtime/core/lifecycle.ts'
import { createLogger, type Logger } from '../../../runtime/core/log.ts'
import type { WiegandLine } from '../decoders/wiegand.ts'
import { type Backoff, backoffDelay, DEFAULT_BACKOFF } from '../serial/connection.ts'
import type { EdgeHandlers, EdgeSource } from './source.ts'

export type GpiomonVersion = 1 | 2

/** A line by offset on the chip, or (gpiomon v2 only) by line name. */
export type LineRef = number | string

export interface GpiomonOptions {
  /** The gpiomon binary (a path, or a name looked up on PATH). Default `gpiomon`. */
  tool?: string
  /** Chip name (`gpiochip0`), number, path, or (v2) label. */
  chip: string
  d0: LineRef
  d1: LineRef
  /** libgpiod major version; asked with `gpiomon --version` when absent. */
  version?: GpiomonVersion
  clock?: Clock
  log?: Logger
  backoff?: Backoff
}

export interface GpiomonEvent {
  readonly offset: number | null
  readonly name: string | null
  readonly edge: 'rising' | 'falling'
  /** Kernel timestamp in milliseconds. */
  readonly at: number
}

/** The command line for one version (what the driver spawns). */
export function gpiomonArgs(version: GpiomonVersion, chip: string, d0: LineRef, d1: LineRef): string[] {
  if (version === 1)
    return ['--falling-edge', '--line-buffered', '--format=%o %e %s %n', chip, String(d0), String(d1)]
  return ['--chip', chip, '--edges', 'falling', '--format=%o %E %S %l', String(d0), String(d1)]
}

/** Reads a major version from `gpiomon --version` output ("gpiomon (libgpiod) v1.6.3"). */
export function parseGpiomonVersion(text: string): GpiomonVersion | null {
  const m = /\bv?(\d+)\.\d+/.exec(text)
  if (!m) return null
  const major = Number(m[1])
  return major === 1 || major === 2 ? major : null
}

const V1_OURS = /^(\d+) ([01]) (\d+) (\d+)$/
const V2_OURS = /^(\d+) (rising|falling) (\d+)\.(\d+) ?(.*)$/
const V1_DEFAULT = /^event:\s+(RISING|FALLING) EDGE offset: (\d+) timestamp: \[\s*(\d+)\.(\d+)\]$/
const V2_DEFAULT = /^(\d+)\.(\d+)\t(rising|falling)\t(.+)$/

function ms(sec: string, nsec: string, padded: boolean): number {
  // v1's %n is not zero-padded (printf "%ld"); `sec.nsec` forms always carry nine digits.
  const ns = padded ? Number(nsec.padEnd(9, '0')) : Number(nsec)
  return Number(sec) * 1000 + ns / 1e6
}

/** Parses one line of gpiomon output (ours or the default, v1 or v2); null when it is not an event. */
export function parseGpiomonLine(line: string): GpiomonEvent | null {
  const l = line.replace(/\r$/, '')
  let m = V1_OURS.exec(l)
  if (m)
    return {
      offset: Number(m[1]),
      name: null,
      edge: m[2] === '1' ? 'rising' : 'falling',
      at: ms(m[3]!, m[4]!, false),
    }
  m = V2_OURS.exec(l)
  if (m) {
    const name = m[5] && m[5] !== 'unnamed' ? m[5] : null
    return { offset: Number(m[1]), name, edge: m[2] as 'rising' | 'falling', at: ms(m[3]!, m[4]!, true) }
  }
  m = V1_DEFAULT.exec(l)
  if (m)
    return {
      offset: Number(m[2]),
      name: null,
      edge: m[1] === 'RISING' ? 'rising' : 'falling',
      at: ms(m[3]!, m[4]!, true),
    }
  m = V2_DEFAULT.exec(l)
  if (m) {
    const id = m[4]!
    const byOffset = /^(\S+) (\d+)$/.exec(id)
    return {
      offset: byOffset ? Number(byOffset[2]) : null,
      name: byOffset ? null : id.replace(/^"(.*)"$/, '$1'),
      edge: m[3] as 'rising' | 'falling',
      at: ms(m[1]!, m[2]!, true),
    }
  }
  return null
}

/** Which Wiegand line an event belongs to, if any. */
export function lineOf(ev: GpiomonEvent, d0: LineRef, d1: LineRef): WiegandLine | null {
  const is = (ref: LineRef) => (typeof ref === 'number' ? ev.offset === ref : ev.name === ref)
  if (is(d0)) return 'd0'
  if (is(d1)) return 'd1'
  return null
}

export class GpiomonEdgeSource extends Resource implements EdgeSource {
  readonly tool: string
  readonly #o: GpiomonOptions
  readonly #clock: Clock
  readonly #log: Logger
  readonly #backoff: Backoff
  readonly #subs = new Set<EdgeHandlers>()
  #version: GpiomonVersion | null
  #child: ChildProcess | null = null
  #timer: TimerHandle | null = null
  #attempt = 0
  #stopping = false
  #running = false

  constructor(opts: GpiomonOptions) {
    super()
    this.#o = opts
    this.tool = opts.tool ?? 'gpiomon'
    this.#version = opts.version ?? null
    this.#clock = opts.clock ?? systemClock
    this.#log = (opts.log ?? createLogger({ level: 'silent' })).child({ component: 'gpiomon' })
    this.#backoff = opts.backoff ?? DEFAULT_BACKOFF
  }

  /** The version in use (after `ready()`). */
  get version(): GpiomonVersion | null {
    return this.#version
  }

  subscribe(handlers: EdgeHandlers): () => void {
    this.#subs.add(handlers)
    if (this.#running) handlers.up?.()
    return () => this.#subs.delete(handlers)
  }

  protected async _open(): Promise<void> {
    if (this.#version === null) this.#version = await detectVersion(this.tool)
    if (this.#version === 1 && (typeof this.#o.d0 === 'string' || typeof this.#o.d1 === 'string')) {
      throw readerErrors.EDGES_FAILED(this.tool, 'gpiomon v1 takes line offsets, not names')
    }
    await this.#spawn()
  }

  protected async _close(): Promise<void> {
    this.#stopping = true
    this.#clock.clearTimeout(this.#timer)
    this.#timer = null
    const child = this.#child
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    await new Promise<void>((resolve) => {
      const kill = this.#clock.setTimeout(() => child.kill('SIGKILL'), 1000)
      child.once('exit', () => {
        this.#clock.clearTimeout(kill)
        resolve()
      })
      child.kill('SIGTERM')
    })
  }

  /** Starts gpiomon; resolves once it has started or failed to. */
  #spawn(): Promise<void> {
    const args = gpiomonArgs(this.#version!, this.#o.chip, this.#o.d0, this.#o.d1)
    const child = spawn(this.tool, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    this.#child = child
    let stderr = ''
    let partial = ''
    child.stdout!.setEncoding('utf8')
    child.stdout!.on('data', (text: string) => {
      const lines = (partial + text).split('\n')
      partial = lines.pop()!
      for (const line of lines) this.#line(line)
    })
    child.stderr!.setEncoding('utf8')
    child.stderr!.on('data', (text: string) => {
      stderr = (stderr + text).slice(-500)
    })
    return new Promise<void>((resolve) => {
      child.once('spawn', () => {
        this.#attempt = 0
        this.#running = true
        this.#log.info({ tool: this.tool, args, version: this.#version }, 'watching Wiegand lines')
        for (const s of this.#subs) s.up?.()
        resolve()
      })
      child.on('error', (err) => {
        // A failed spawn (ENOENT, EACCES) reports here; a failed kill too, which changes nothing.
        if (this.#running || this.#child !== child) return
        this.#stopped(readerErrors.EDGES_FAILED(this.tool, err.message))
        resolve()
      })
      child.once('exit', (code, signal) => {
        if (!this.#running) return
        this.#running = false
        if (this.#stopping) return
        const why = stderr.trim() || `exited with ${signal ?? `code ${code}`}`
        this.#stopped(readerErrors.EDGES_FAILED(this.tool, why))
      })
    })
  }

  #line(line: string): void {
    const ev = parseGpiomonLine(line)
    if (ev?.edge !== 'falling') return
    const which = lineOf(ev, this.#o.d0, this.#o.d1)
    if (!which) return
    for (const s of this.#subs) s.edge({ line: which, at: ev.at })
  }

  #stopped(err: LatchkeyError): void {
    if (this.#stopping) return
    this.#child = null
    this.#log.warn({ code: err.code }, err.message)
    for (const s of this.#subs) s.down?.(err)
    const delay = backoffDelay(this.#backoff, this.#attempt++)
    this.#clock.clearTimeout(this.#timer)
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = null
      if (!this.#stopping) void this.#spawn()
    }, delay)
  }
}

/** Asks the tool its version; rejects with LK_READER_EDGES_FAILED when it cannot be run. */
export function detectVersion(tool: string): Promise<GpiomonVersion> {
  return new Promise((resolve, reject) => {
    execFile(tool, ['--version'], { timeout: 3000 }, (err, stdout, stderr) => {
      const version = parseGpiomonVersion(`${stdout}\n${stderr}`)
      if (version) resolve(version)
      else reject(readerErrors.EDGES_FAILED(tool, err ? err.message : `unknown version: ${stdout.trim()}`))
    })
  })
}
