/**
 * Test support (no test runner here): fake libgpiod tools, v1 or v2 syntax, generated as one
 * bash script into a directory and linked as gpiodetect/gpioinfo/gpioget/gpioset/gpiomon.
 * Put `env().PATH` first and the gpiod backend runs them instead of the real tools. They
 * behave like the real ones where the backend depends on it: a line is held by one process at
 * a time (EBUSY otherwise), v2 gpioset holds until killed and prints its `--banner`, v1 gpioset
 * `--mode=wait` holds until end of file on stdin, gpiomon prints one line per edge in the
 * requested `--format`, gpioinfo shows who holds what, unknown options and chips fail.
 * Every call's argv is appended to `argv.log` (tab-separated) for syntax assertions;
 * `drive()` plays an edge on an input, `levels()` lists the levels an output was requested at.
 */
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import { type ChipTable, PI4_CHIPS, resolveLine } from './chips.ts'
import { TOOLS } from './gpiod-tools.ts'
import type { Level, LineRef } from './types.ts'

export interface FakeGpiodOptions {
  version: 1 | 2
  /** What `--version` prints after `v`; 1.6.3 or 2.1.3 by default. */
  versionText?: string
  chips?: readonly ChipTable[]
}

/** The tools: one bash script beside this file, with the state dir and version filled in. */
const SCRIPT_URL = new URL('./fake-gpiod.sh', import.meta.url)

export class FakeGpiod {
  readonly binDir: string
  readonly stateDir: string
  readonly chips: readonly ChipTable[]

  private constructor(dir: string, chips: readonly ChipTable[]) {
    this.binDir = join(dir, 'bin')
    this.stateDir = join(dir, 'state')
    this.chips = chips
  }

  /** Writes the tools and an idle board into `dir` (a test's temp dir). */
  static create(dir: string, opts: FakeGpiodOptions): FakeGpiod {
    const fake = new FakeGpiod(dir, opts.chips ?? PI4_CHIPS)
    const versionText = opts.versionText ?? (opts.version === 1 ? '1.6.3' : '2.1.3')
    mkdirSync(fake.binDir, { recursive: true })
    mkdirSync(join(fake.stateDir, 'lines'), { recursive: true })
    mkdirSync(join(fake.stateDir, 'names'), { recursive: true })
    writeFileSync(join(fake.stateDir, 'argv.log'), '')
    writeFileSync(
      join(fake.stateDir, 'chips'),
      fake.chips.map((c) => `${c.name} ${c.label} ${c.lines.length}\n`).join(''),
    )
    for (const c of fake.chips) {
      writeFileSync(join(fake.stateDir, 'names', c.name), c.lines.map((n) => `${n ?? ''}\n`).join(''))
    }
    const script = join(fake.binDir, 'fake-libgpiod')
    writeFileSync(
      script,
      readFileSync(SCRIPT_URL, 'utf8')
        .replace('__BASH__', findBash())
        .replace('__STATE__', shellQuote(fake.stateDir))
        .replace('__V__', String(opts.version))
        .replace('__VT__', shellQuote(versionText)),
      { mode: 0o755 },
    )
    for (const tool of TOOLS) symlinkSync(script, join(fake.binDir, tool))
    return fake
  }

  /** An environment whose PATH finds the fake tools first. */
  env(): NodeJS.ProcessEnv {
    return { ...process.env, PATH: `${this.binDir}:${process.env.PATH ?? '/usr/bin:/bin'}` }
  }

  #file(ref: LineRef, ext: string): string {
    const info = resolveLine(this.chips, ref)
    return join(this.stateDir, 'lines', `${info.chipName}-${info.offset}.${ext}`)
  }

  /** Puts a physical level on a line from outside; a change is an edge gpiomon reports. */
  drive(ref: LineRef, level: Level): void {
    const before = existsSync(this.#file(ref, 'level'))
      ? readFileSync(this.#file(ref, 'level'), 'utf8').trim()
      : '0'
    writeFileSync(this.#file(ref, 'driven'), '')
    writeFileSync(this.#file(ref, 'level'), `${level}\n`)
    if (before !== String(level)) appendFileSync(this.#file(ref, 'events'), `${level}\n`)
  }

  /** The physical levels gpioset requested the line at, in order. */
  levels(ref: LineRef): Level[] {
    const file = this.#file(ref, 'writes')
    if (!existsSync(file)) return []
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((v) => (v === '1' ? 1 : 0))
  }

  /** Lines some fake tool holds now, as `chip-label:offset`. */
  held(): string[] {
    const label = new Map(this.chips.map((c) => [c.name, c.label]))
    return readdirSync(join(this.stateDir, 'lines'))
      .filter((f) => f.endsWith('.held'))
      .map((f) => {
        const m = /^(.*)-(\d+)\.held$/.exec(f)!
        return `${label.get(m[1]!)}:${m[2]}`
      })
      .sort()
  }

  /** The pid of the tool holding a line, or null. */
  holder(ref: LineRef): number | null {
    const file = this.#file(ref, 'held')
    if (!existsSync(file)) return null
    return Number(readFileSync(file, 'utf8').trim().split(' ')[2])
  }

  /** Every call so far as argv arrays (tool first), optionally of one tool. */
  calls(tool?: string): string[][] {
    return readFileSync(join(this.stateDir, 'argv.log'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\t'))
      .filter((argv) => tool === undefined || argv[0] === tool)
  }
}

function findBash(): string {
  const bash = ['/bin/bash', '/usr/bin/bash', '/usr/local/bin/bash'].find((p) => existsSync(p))
  if (!bash) throw new Error('fake libgpiod tools need bash')
  return bash
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`
}
