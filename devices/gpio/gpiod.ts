/**
 * The gpiod backend: the GPIO character device through the libgpiod command-line tools, v1 or
 * v2 (detected at ready() from `--version`). No native code. Every tool runs as a child of this
 * instance in its own process group and is ended by close(); a process `exit` hook ends them
 * too if the node exits without closing.
 *
 * Outputs: one `gpioset` per line holds it at the requested level from the request on (the
 * kernel applies the value in the request itself). A write that changes the level ends that
 * gpioset, waits for it to exit and starts one with the new level: on Raspberry Pi kernels a
 * released line keeps its level (`persist_gpio_outputs`, the Pi OS default), elsewhere it may
 * float for those few milliseconds. A request counts once confirmed: v2 by gpioset's
 * `--banner` line, v1 (which prints nothing) by `gpioinfo` showing the line held as an output.
 * v1's gpioset runs in `--mode=wait` with stdin on a pipe, so it exits if this process dies.
 *
 * Inputs: `gpioget` reads the initial level, then one `gpiomon` per line reports both edges
 * (a change in the few milliseconds between the two is seen at the next edge). The value is
 * tracked from the events, since the line cannot be read while gpiomon holds it.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import type { TimerHandle } from '../../runtime/core/clock.ts'
import { deviceErrors } from '../../runtime/core/errors/index.ts'
import {
  GpioBase,
  type GpioBaseOptions,
  type InputSink,
  type PhysicalInput,
  type PhysicalOutput,
} from './base.ts'
import { type ChipTable, resolveLine } from './chips.ts'
import {
  gpiogetArgs,
  gpioinfoArgs,
  gpiomonArgs,
  gpiosetArgs,
  parseEvent,
  parseGetValue,
  parseGpiodetect,
  parseGpioinfo,
  parseVersion,
  TOOLS,
  type Tool,
  type ToolVersion,
} from './gpiod-tools.ts'
import type { Bias, Level, LineInfo, LineRef } from './types.ts'
import { lineKey } from './types.ts'

export interface GpiodOptions extends GpioBaseOptions {
  /** The tools' environment; its PATH decides which gpioset runs. process.env by default. */
  env?: NodeJS.ProcessEnv
  /** Use this syntax instead of detecting it. */
  version?: ToolVersion
  /** Longest wait for a tool to answer, confirm a request or exit. Default 5000 ms. */
  timeoutMs?: number
  /** Consumer name v2 tools give the lines they hold (v1 tools use their own name). */
  consumer?: string
}

const POLL_MS = 10

/** A tool process of this backend. */
interface Proc {
  readonly child: ChildProcess
  readonly command: string
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>
  done: boolean
  /** Set before we end it, so its exit is not reported as a fault. */
  stopping: boolean
  stderr: string
}

export class GpiodGpio extends GpioBase {
  readonly kind = 'gpiod' as const
  #env: NodeJS.ProcessEnv
  #forced: ToolVersion | undefined
  #timeoutMs: number
  #consumer: string
  #version: ToolVersion = 2
  #versionText = ''
  #chips: ChipTable[] = []
  #procs = new Set<Proc>()
  #exitHook = () => {
    for (const p of this.#procs) signalGroup(p.child, 'SIGTERM')
  }

  constructor(opts: GpiodOptions = {}) {
    super(opts)
    this.#env = opts.env ?? process.env
    this.#forced = opts.version
    this.#timeoutMs = opts.timeoutMs ?? 5000
    this.#consumer = opts.consumer ?? 'latchkey'
  }

  /** The libgpiod syntax in use (known after ready()). */
  get version(): ToolVersion {
    return this.#version
  }

  protected async _open(): Promise<void> {
    process.on('exit', this.#exitHook)
    const outputs = await Promise.all(TOOLS.map((tool) => this.#run(tool, ['--version'])))
    const versions = outputs.map((out, i) => {
      const v = parseVersion(out)
      if (!v || (v.major !== 1 && v.major !== 2)) throw deviceErrors.GPIO_TOOL_VERSION(TOOLS[i]!, out)
      return v
    })
    const first = versions[0]!
    const odd = versions.findIndex((v) => v.major !== first.major)
    if (odd >= 0) throw deviceErrors.GPIO_TOOL_VERSION(TOOLS[odd]!, outputs[odd]!)
    this.#version = this.#forced ?? (first.major as ToolVersion)
    this.#versionText = first.text
    await this.#readChips()
    this.log.info(
      {
        libgpiod: this.#versionText,
        syntax: `v${this.#version}`,
        chips: this.#chips.map((c) => `${c.name} [${c.label}] (${c.lines.length} lines)`),
      },
      'gpiod backend ready',
    )
  }

  protected async _release(): Promise<void> {
    await Promise.allSettled([...this.#procs].map((p) => this.#stop(p)))
    process.off('exit', this.#exitHook)
  }

  protected _resolve(ref: LineRef): LineInfo {
    return resolveLine(this.#chips, ref)
  }

  async #readChips(): Promise<void> {
    const detected = parseGpiodetect(await this.#run('gpiodetect', []))
    const info = parseGpioinfo(await this.#run('gpioinfo', []))
    this.#chips = detected.map((chip) => {
      const lines: Array<string | null> = Array.from({ length: chip.lines }, () => null)
      for (const l of info.get(chip.name) ?? []) if (l.offset < lines.length) lines[l.offset] = l.name
      return { name: chip.name, label: chip.label, lines }
    })
  }

  protected async _requestOutput(info: LineInfo, level: Level): Promise<PhysicalOutput> {
    const key = lineKey(info)
    let holder: Proc | null = await this.#hold(info, level)
    let current = level
    let released = false
    return {
      set: async (l) => {
        if (released) throw deviceErrors.GPIO_LINE_CLOSED(key)
        if (l === current && holder && !holder.done) return
        if (holder) await this.#stop(holder)
        holder = null
        holder = await this.#hold(info, l)
        current = l
      },
      release: async () => {
        released = true
        if (holder) await this.#stop(holder)
        holder = null
      },
    }
  }

  async #hold(info: LineInfo, level: Level): Promise<Proc> {
    const key = lineKey(info)
    const v = this.#version
    const p = this.#spawn('gpioset', gpiosetArgs(v, info, level, this.#consumer), {
      // v1: the pipe is a lifeline; gpioset --mode=wait exits at end of file.
      stdin: v === 1 ? 'pipe' : 'ignore',
    })
    await this.#confirm(p, info, 'output')
    p.exited.then(({ code, signal }) => {
      if (p.stopping) return
      const err = deviceErrors.GPIO_HOLDER_EXITED(key, 'gpioset', status(code, signal))
      this.log.error({ line: key, err, stderr: p.stderr.trim() }, 'output line released unexpectedly')
    })
    return p
  }

  protected async _requestInput(
    info: LineInfo,
    bias: Bias | undefined,
    sink: InputSink,
  ): Promise<PhysicalInput & { initial: Level }> {
    const key = lineKey(info)
    const v = this.#version
    const out = await this.#run('gpioget', gpiogetArgs(v, info, bias, this.#consumer), key)
    const initial = parseGetValue(out)
    if (initial === null) throw deviceErrors.GPIO_IO(key, `gpioget printed ${JSON.stringify(out.trim())}`)
    let level: Level = initial
    const p = this.#spawn('gpiomon', gpiomonArgs(v, info, bias, this.#consumer), {
      stdin: 'ignore',
      onLine: (row) => {
        const e = parseEvent(row)
        if (!e || e.offset !== info.offset) return
        level = e.level
        sink.level(e.level)
      },
    })
    await this.#confirm(p, info, 'input')
    p.exited.then(({ code, signal }) => {
      if (p.stopping) return
      const err = deviceErrors.GPIO_HOLDER_EXITED(key, 'gpiomon', status(code, signal))
      this.log.error({ line: key, err, stderr: p.stderr.trim() }, 'input line no longer watched')
      sink.error(err)
    })
    return {
      initial,
      get: async () => level,
      release: () => this.#stop(p),
    }
  }

  /** Resolves once the tool holds the line; rejects (and ends it) if it exits or takes too long. */
  async #confirm(p: Proc, info: LineInfo, direction: 'input' | 'output'): Promise<void> {
    const key = lineKey(info)
    let pollTimer: TimerHandle | null = null
    let settled = false
    const confirmed =
      this.#version === 2
        ? // v2: --banner prints one flushed line after the request succeeded.
          new Promise<void>((resolve) => p.child.stdout!.once('data', () => resolve()))
        : // v1 prints nothing: ask gpioinfo until it shows the line held by the tool.
          (async () => {
            const tool = direction === 'output' ? 'gpioset' : 'gpiomon'
            while (!settled) {
              const rows = parseGpioinfo(await this.#run('gpioinfo', gpioinfoArgs(1, info.chipName)))
              const row = rows.get(info.chipName)?.find((r) => r.offset === info.offset)
              if (row && row.consumer === tool && row.direction === direction) return
              await new Promise<void>((r) => {
                pollTimer = this.clock.setTimeout(r, POLL_MS)
              })
            }
          })()
    const failed = p.exited.then(({ code, signal, error }) => {
      throw toolError(p, code, signal, error, key)
    })
    let deadline: TimerHandle | null = null
    const timedOut = new Promise<never>((_, reject) => {
      deadline = this.clock.setTimeout(
        () => reject(deviceErrors.GPIO_TIMEOUT(`${p.command} holding ${key}`, this.#timeoutMs)),
        this.#timeoutMs,
      )
    })
    try {
      await Promise.race([confirmed, failed, timedOut])
    } catch (err) {
      await this.#stop(p)
      throw err
    } finally {
      settled = true
      this.clock.clearTimeout(deadline)
      this.clock.clearTimeout(pollTimer)
      for (const pending of [confirmed, failed, timedOut]) pending.catch(() => {})
    }
  }

  /** Runs a tool to completion and returns its stdout. */
  async #run(tool: Tool, args: string[], line?: string): Promise<string> {
    const p = this.#spawn(tool, args, { stdin: 'ignore' })
    let out = ''
    p.child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
    })
    // All of stdout: it has been read once the pipes close.
    const drained = new Promise((resolve) => p.child.once('close', resolve))
    const timer = this.clock.setTimeout(() => {
      p.stopping = true
      signalGroup(p.child, 'SIGKILL')
    }, this.#timeoutMs)
    const { code, signal, error } = await p.exited
    if (!error) await drained
    this.clock.clearTimeout(timer)
    if (p.stopping && signal === 'SIGKILL') throw deviceErrors.GPIO_TIMEOUT(p.command, this.#timeoutMs)
    if (error || code !== 0) throw toolError(p, code, signal, error, line)
    return out
  }

  #spawn(
    tool: Tool,
    args: string[],
    opts: { stdin: 'pipe' | 'ignore'; onLine?: (row: string) => void },
  ): Proc {
    // Own process group: a tool (or a wrapper script around it) is ended as a whole.
    const child = spawn(tool, args, {
      env: this.#env,
      stdio: [opts.stdin, 'pipe', 'pipe'],
      detached: true,
    })
    const p: Proc = {
      child,
      command: [tool, ...args].join(' '),
      done: false,
      stopping: false,
      stderr: '',
      // 'exit', not 'close': a holder that died counts even if something still has its pipes.
      exited: new Promise((resolve) => {
        child.once('error', (error) => resolve({ code: null, signal: null, error }))
        child.once('exit', (code, signal) => resolve({ code, signal }))
      }),
    }
    child.stdin?.on('error', () => {}) // EPIPE once the tool has gone: its exit is what counts
    this.#procs.add(p)
    p.exited.then(() => {
      p.done = true
      this.#procs.delete(p)
    })
    child.stderr!.on('data', (d: Buffer) => {
      p.stderr += d.toString()
    })
    if (opts.onLine) {
      const onLine = opts.onLine
      let buf = ''
      child.stdout!.on('data', (d: Buffer) => {
        buf += d.toString()
        let nl = buf.indexOf('\n')
        while (nl >= 0) {
          onLine(buf.slice(0, nl))
          buf = buf.slice(nl + 1)
          nl = buf.indexOf('\n')
        }
      })
    }
    return p
  }

  /** Ends a tool (SIGTERM to its group, SIGKILL if it lingers) and waits for it to exit. */
  async #stop(p: Proc): Promise<void> {
    p.stopping = true
    if (p.done) return
    p.child.stdin?.end()
    signalGroup(p.child, 'SIGTERM')
    const timer = this.clock.setTimeout(() => signalGroup(p.child, 'SIGKILL'), this.#timeoutMs)
    await p.exited
    this.clock.clearTimeout(timer)
  }
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
  try {
    process.kill(-child.pid, signal)
  } catch {
    // already gone
  }
}

function status(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `signal ${signal}` : `exit ${code}`
}

function toolError(
  p: Proc,
  code: number | null,
  signal: NodeJS.Signals | null,
  error: Error | undefined,
  line?: string,
): Error {
  if ((error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    return deviceErrors.GPIO_TOOL_MISSING(p.command.split(' ')[0]!)
  }
  // The kernel's EBUSY: another process (or a stale tool) holds the line.
  if (line && /busy/i.test(p.stderr)) return deviceErrors.GPIO_LINE_BUSY(line, p.stderr.trim())
  return deviceErrors.GPIO_TOOL_FAILED(p.command, error ? error.message : status(code, signal), p.stderr)
}
