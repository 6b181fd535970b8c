/**
 * The libgpiod command-line tools' syntax and output, v1 (1.6, Pi OS Bookworm) and v2 (2.1+,
 * Pi OS Trixie), as pure functions: argument lists in, parsed output out. Checked against
 * libgpiod's own sources (tools/*.c on the v1.6.x branch and at the v2.1 release).
 *
 * v1: `gpioset [opts] <chip> <offset>=<value>`; `--mode=wait` holds the line until a newline
 *     or end of file on stdin. `gpiomon [opts] <chip> <offset>`, `--line-buffered`,
 *     `--format` with `%e` = 1 rising / 0 falling. `--bias=as-is|disable|pull-down|pull-up`.
 *     Chips by name, number, path or label. gpioset/gpiomon print nothing on success.
 * v2: `gpioset [opts] -c <chip> <offset>=<value>` holds the line until killed; `--banner`
 *     prints (and flushes) one line once the line is requested. `gpiomon [opts] -c <chip>
 *     <offset>` flushes every event, `%e` = 1 rising / 2 falling. `--bias=pull-down|pull-up|
 *     disabled`, `-C <consumer>`. Chips by name, number or path only (not label).
 * Both: `gpiodetect` prints `gpiochip0 [pinctrl-bcm2711] (58 lines)`; `gpioinfo` prints a
 * `gpiochip0 - 58 lines:` header per chip then one `line N: "name" …` row per line.
 */
import type { Bias, Level } from './types.ts'

export type ToolVersion = 1 | 2
export const TOOLS = ['gpiodetect', 'gpioinfo', 'gpioget', 'gpioset', 'gpiomon'] as const
export type Tool = (typeof TOOLS)[number]

/** `gpioset (libgpiod) v2.1.3` → { major: 2, text: 'v2.1.3' }; null when it is not libgpiod. */
export function parseVersion(output: string): { major: number; text: string } | null {
  const m = /^\S+ \(libgpiod\) (v(\d+)\.\d+\S*)/m.exec(output)
  return m ? { major: Number(m[2]), text: m[1]! } : null
}

/** `gpiodetect` rows: chip name, label, line count. */
export function parseGpiodetect(output: string): Array<{ name: string; label: string; lines: number }> {
  const chips: Array<{ name: string; label: string; lines: number }> = []
  for (const row of output.split('\n')) {
    const m = /^(\S+) \[(.*)\] \((\d+) lines\)\s*$/.exec(row)
    if (m) chips.push({ name: m[1]!, label: m[2]!, lines: Number(m[3]) })
  }
  return chips
}

export interface InfoLine {
  offset: number
  name: string | null
  direction: 'input' | 'output' | null
  /** Who holds the line (`gpioset`, `latchkey`, `kernel`), or null when it is free. */
  consumer: string | null
}

/** `gpioinfo` output (either version) → lines by chip name. */
export function parseGpioinfo(output: string): Map<string, InfoLine[]> {
  const chips = new Map<string, InfoLine[]>()
  let current: InfoLine[] | null = null
  for (const row of output.split('\n')) {
    const header = /^(\S+) - (\d+) lines:\s*$/.exec(row)
    if (header) {
      current = []
      chips.set(header[1]!, current)
      continue
    }
    const m = /^\s*line\s+(\d+):\s*(.*)$/.exec(row)
    if (!m || !current) continue
    const tokens = [...m[2]!.matchAll(/consumer="([^"]*)"|consumer=(\S+)|"([^"]*)"|(\S+)/g)]
    const first = tokens.shift()
    const name = first?.[3] ?? (first?.[4] === 'unnamed' ? null : (first?.[4] ?? null))
    let consumer: string | null = null
    let direction: InfoLine['direction'] = null
    tokens.forEach((t, i) => {
      if (t[1] !== undefined || t[2] !== undefined) consumer = (t[1] ?? t[2])!
      else if (t[4] === 'input' || t[4] === 'output') direction = t[4]
      // v1: the column after the name is `unused`, `kernel` or the quoted consumer.
      else if (i === 0 && t[3] !== undefined) consumer = t[3]
      else if (i === 0 && t[4] === 'kernel') consumer = 'kernel'
    })
    current.push({ offset: Number(m[1]), name, direction, consumer })
  }
  return chips
}

/** `gpioget` output: `1`, `0` (v1, v2 `--numeric`) or `"17"=active` (v2 default). */
export function parseGetValue(output: string): Level | null {
  const t = output.trim()
  if (t === '1' || /=active$/.test(t)) return 1
  if (t === '0' || /=inactive$/.test(t)) return 0
  return null
}

/** One gpiomon event line in our `%o %e` format → offset and level after the edge. */
export function parseEvent(row: string): { offset: number; level: Level } | null {
  const m = /^(\d+) (\d)\s*$/.exec(row)
  if (!m) return null
  // v1: 1 rising, 0 falling; v2: 1 rising, 2 falling.
  return { offset: Number(m[1]), level: m[2] === '1' ? 1 : 0 }
}

function biasArgs(v: ToolVersion, bias: Bias | undefined): string[] {
  if (!bias) return []
  if (bias === 'disabled') return [v === 1 ? '--bias=disable' : '--bias=disabled']
  return [`--bias=${bias}`]
}

export interface Target {
  chipName: string
  offset: number
}

/** Requests an output at `level` and holds it: v1 until stdin closes, v2 until killed. */
export function gpiosetArgs(v: ToolVersion, t: Target, level: Level, consumer: string): string[] {
  return v === 1
    ? ['--mode=wait', t.chipName, `${t.offset}=${level}`]
    : ['--banner', '-C', consumer, '-c', t.chipName, `${t.offset}=${level}`]
}

/** Watches both edges and prints `<offset> <edge>` per event, flushed. */
export function gpiomonArgs(v: ToolVersion, t: Target, bias: Bias | undefined, consumer: string): string[] {
  return v === 1
    ? ['--line-buffered', '--format=%o %e', ...biasArgs(v, bias), t.chipName, String(t.offset)]
    : ['--banner', '-C', consumer, '--format=%o %e', ...biasArgs(v, bias), '-c', t.chipName, String(t.offset)]
}

/** Reads one line's level (as an input, with the bias it will be watched with). */
export function gpiogetArgs(v: ToolVersion, t: Target, bias: Bias | undefined, consumer: string): string[] {
  return v === 1
    ? [...biasArgs(v, bias), t.chipName, String(t.offset)]
    : ['--numeric', '-C', consumer, ...biasArgs(v, bias), '-c', t.chipName, String(t.offset)]
}

/** Lists one chip's lines. */
export function gpioinfoArgs(v: ToolVersion, chipName: string): string[] {
  return v === 1 ? [chipName] : ['-c', chipName]
}
