/**
 * Choosing a backend. `auto` takes what the board supports: the libgpiod tools on PATH and
 * /dev/gpiochip* present → gpiod; else /sys/class/gpio present → onoff; else sim. One log line
 * names the choice and why (a warning when nothing physical will move).
 */
import { constants } from 'node:fs'
import { access, readdir } from 'node:fs/promises'
import { delimiter, join } from 'node:path'
import { pino } from 'pino'
import type { GpioBaseOptions } from './base.ts'
import type { ChipTable } from './chips.ts'
import { GpiodGpio, type GpiodOptions } from './gpiod.ts'
import { TOOLS } from './gpiod-tools.ts'
import { OnoffGpio, type OnoffGpioClass } from './onoff.ts'
import { SimGpio } from './sim.ts'
import type { GpioDriver, GpioKind } from './types.ts'

export interface DetectOptions {
  /** Whose PATH is searched for the libgpiod tools; process.env by default. */
  env?: NodeJS.ProcessEnv
  /** Where the character devices live; /dev by default. */
  devDir?: string
  /** Where sysfs GPIO lives; /sys/class/gpio by default. */
  sysfsRoot?: string
}

/** Which backend this board supports, and the reason in one sentence. */
export async function detectGpioBackend(
  opts: DetectOptions = {},
): Promise<{ kind: GpioKind; reason: string }> {
  const devDir = opts.devDir ?? '/dev'
  const sysfsRoot = opts.sysfsRoot ?? '/sys/class/gpio'
  const chips = (await readdir(devDir).catch(() => [] as string[]))
    .filter((f) => /^gpiochip\d+$/.test(f))
    .sort()
  const missing: string[] = []
  for (const tool of TOOLS) if (!(await onPath(tool, opts.env ?? process.env))) missing.push(tool)
  const sysfs = await access(sysfsRoot).then(
    () => true,
    () => false,
  )
  const devices = chips.map((c) => join(devDir, c)).join(', ')
  if (chips.length > 0 && missing.length === 0) {
    return { kind: 'gpiod', reason: `${devices} present and the libgpiod tools are on PATH` }
  }
  const noTools =
    chips.length > 0 ? `${devices} present but ${missing.join(', ')} not on PATH (apt install gpiod)` : null
  if (sysfs) {
    return { kind: 'onoff', reason: `${noTools ?? `no ${devDir}/gpiochip*`}; ${sysfsRoot} present` }
  }
  return {
    kind: 'sim',
    reason: noTools
      ? `${noTools}, and no ${sysfsRoot}`
      : `no ${devDir}/gpiochip* and no ${sysfsRoot}: no GPIO here`,
  }
}

async function onPath(tool: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const ok = await access(join(dir, tool), constants.X_OK).then(
      () => true,
      () => false,
    )
    if (ok) return true
  }
  return false
}

export interface CreateGpioOptions extends GpioBaseOptions, DetectOptions {
  backend: 'auto' | GpioKind
  /** gpiod: force v1/v2 syntax, tool timeout, consumer name. */
  gpiod?: Pick<GpiodOptions, 'version' | 'timeoutMs' | 'consumer'>
  /** onoff: the Gpio class (tests). */
  Gpio?: OnoffGpioClass
  /** sim: the board's chips. */
  chips?: readonly ChipTable[]
  /** sim: the file the simulated board keeps its lines in (see SimGpioOptions.journal). */
  simJournal?: string
}

/** Builds the configured backend (detecting it for `auto`) and logs the choice; call ready() on it. */
export async function createGpio(opts: CreateGpioOptions): Promise<GpioDriver> {
  const log = opts.log ?? pino({ level: 'silent' })
  const { kind, reason } =
    opts.backend === 'auto' ? await detectGpioBackend(opts) : { kind: opts.backend, reason: 'configured' }
  const base = { log, ...(opts.clock ? { clock: opts.clock } : {}) }
  // Auto falling back to sim on a board is worth a warning: nothing physical will move.
  const level = kind === 'sim' && opts.backend === 'auto' ? 'warn' : 'info'
  log[level](
    { gpio: kind, reason },
    kind === 'sim' ? 'GPIO backend: sim (in memory)' : `GPIO backend: ${kind}`,
  )
  if (kind === 'sim') {
    return new SimGpio({
      ...base,
      ...(opts.chips ? { chips: opts.chips } : {}),
      ...(opts.simJournal ? { journal: opts.simJournal } : {}),
    })
  }
  if (kind === 'gpiod')
    return new GpiodGpio({ ...base, ...opts.gpiod, ...(opts.env ? { env: opts.env } : {}) })
  return new OnoffGpio({
    ...base,
    ...(opts.sysfsRoot ? { sysfsRoot: opts.sysfsRoot } : {}),
    ...(opts.Gpio ? { Gpio: opts.Gpio } : {}),
  })
}
