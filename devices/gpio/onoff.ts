/**
 * The onoff backend: legacy sysfs GPIO through the onoff package (Pi OS Bookworm and older;
 * Trixie has no /sys/class/gpio). A line's global sysfs number is never configured: it is the
 * base of the chip with that label plus the offset, read from `<root>/gpiochipN/{label,base,
 * ngpio}` (base 512 on a Pi 4 and 571 on a Pi 5 under kernel 6.6+, 0 before). The sysfs root is
 * injectable so the resolution is tested against a fake tree; the onoff part is kept thin
 * (export, write, watch, unexport) because it only runs on a board.
 *
 * Outputs are exported with direction `high`/`low`, which the kernel applies as one operation
 * (no glitch through the other level). onoff's own activeLow is forced off (a stale `active_low`
 * left by another program would invert writes); active-low is applied above, like every backend.
 * sysfs has no line names and no pull resistors (set pulls in config.txt, e.g. `gpio=17=ip,pu`).
 */
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { deviceErrors } from '../../runtime/core/errors/index.ts'
import {
  GpioBase,
  type GpioBaseOptions,
  type InputSink,
  type PhysicalInput,
  type PhysicalOutput,
} from './base.ts'
import type { Bias, Level, LineInfo, LineRef } from './types.ts'
import { lineKey } from './types.ts'

/** The part of onoff's `Gpio` this backend uses. */
export interface OnoffGpioLike {
  read(): Promise<Level>
  write(value: Level): Promise<void>
  watch(callback: (err: Error | null | undefined, value: Level) => void): void
  unwatchAll(): void
  unexport(): void
}

export type OnoffGpioClass = new (
  gpio: number,
  direction: 'in' | 'out' | 'high' | 'low',
  edge?: 'none' | 'rising' | 'falling' | 'both',
  options?: { activeLow?: boolean },
) => OnoffGpioLike

export interface OnoffOptions extends GpioBaseOptions {
  /** Where sysfs GPIO lives; /sys/class/gpio by default. */
  sysfsRoot?: string
  /** The Gpio class; onoff's, loaded at ready(), by default. */
  Gpio?: OnoffGpioClass
}

export interface SysfsChip {
  /** The sysfs directory name, `gpiochip<base>`. */
  name: string
  label: string
  base: number
  ngpio: number
}

/** Reads every chip under a sysfs GPIO root. */
export async function readSysfsChips(root: string): Promise<SysfsChip[]> {
  let entries: string[]
  try {
    entries = await readdir(root)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw deviceErrors.GPIO_SYSFS(
      root,
      code === 'ENOENT'
        ? 'it does not exist (kernels without sysfs GPIO need the gpiod backend)'
        : String(code),
    )
  }
  const chips: SysfsChip[] = []
  for (const name of entries.filter((e) => /^gpiochip\d+$/.test(e))) {
    const read = (f: string) => readFile(join(root, name, f), 'utf8').then((s) => s.trim())
    const [label, base, ngpio] = await Promise.all([read('label'), read('base'), read('ngpio')])
    chips.push({ name, label, base: Number(base), ngpio: Number(ngpio) })
  }
  return chips.sort((a, b) => a.base - b.base)
}

/** A line's sysfs number: the base of the chip with that label (or sysfs name) plus the offset. */
export function sysfsLine(chips: readonly SysfsChip[], ref: LineRef): { info: LineInfo; number: number } {
  if ('name' in ref) {
    throw deviceErrors.GPIO_UNSUPPORTED(
      'onoff',
      `address line \`${ref.name}\` by name (sysfs has no line names); use { chip, offset }`,
    )
  }
  const matches = chips.filter((c) => c.label === ref.chip || c.name === ref.chip)
  if (matches.length === 0) {
    throw deviceErrors.GPIO_CHIP_NOT_FOUND(
      ref.chip,
      chips.map((c) => `${c.label} (base ${c.base})`),
    )
  }
  if (matches.length > 1) {
    throw deviceErrors.GPIO_LINE_AMBIGUOUS(
      ref.chip,
      matches.map((c) => c.name),
    )
  }
  const chip = matches[0]!
  if (!Number.isInteger(ref.offset) || ref.offset < 0 || ref.offset >= chip.ngpio) {
    throw deviceErrors.GPIO_LINE_NOT_FOUND(
      `${ref.chip}:${ref.offset}`,
      `${chip.label} has lines 0–${chip.ngpio - 1}`,
    )
  }
  return {
    info: { chip: chip.label, chipName: chip.name, offset: ref.offset, name: null },
    number: chip.base + ref.offset,
  }
}

export class OnoffGpio extends GpioBase {
  readonly kind = 'onoff' as const
  #root: string
  #Gpio: OnoffGpioClass | null
  #chips: SysfsChip[] = []
  #warnedBias = false

  constructor(opts: OnoffOptions = {}) {
    super(opts)
    this.#root = opts.sysfsRoot ?? '/sys/class/gpio'
    this.#Gpio = opts.Gpio ?? null
  }

  protected async _open(): Promise<void> {
    this.#chips = await readSysfsChips(this.#root)
    if (!this.#Gpio) this.#Gpio = (await import('onoff')).Gpio as OnoffGpioClass
    this.log.info(
      { sysfs: this.#root, chips: this.#chips.map((c) => `${c.label} base ${c.base} (${c.ngpio} lines)`) },
      'onoff backend ready',
    )
  }

  protected async _release(): Promise<void> {}

  protected _resolve(ref: LineRef): LineInfo {
    return sysfsLine(this.#chips, ref).info
  }

  #export(info: LineInfo, direction: 'in' | 'high' | 'low', edge: 'none' | 'both'): OnoffGpioLike {
    const { number } = sysfsLine(this.#chips, { chip: info.chipName, offset: info.offset })
    try {
      return new this.#Gpio!(number, direction, edge, { activeLow: false })
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? String(err)
      if (code === 'EBUSY') throw deviceErrors.GPIO_LINE_BUSY(lineKey(info), `sysfs gpio${number} is in use`)
      throw deviceErrors.GPIO_IO(lineKey(info), `exporting sysfs gpio${number} failed: ${code}`)
    }
  }

  protected async _requestOutput(info: LineInfo, level: Level): Promise<PhysicalOutput> {
    const gpio = this.#export(info, level === 1 ? 'high' : 'low', 'none')
    return {
      set: (l) => gpio.write(l),
      release: async () => gpio.unexport(),
    }
  }

  protected async _requestInput(
    info: LineInfo,
    bias: Bias | undefined,
    sink: InputSink,
  ): Promise<PhysicalInput & { initial: Level }> {
    if (bias && !this.#warnedBias) {
      this.#warnedBias = true
      this.log.warn(
        { line: lineKey(info), bias },
        'sysfs GPIO cannot set pull resistors; set them in config.txt',
      )
    }
    const gpio = this.#export(info, 'in', 'both')
    const initial = await gpio.read()
    gpio.watch((err, value) => {
      if (err) sink.error(deviceErrors.GPIO_IO(lineKey(info), `watching failed: ${err.message}`))
      else sink.level(value)
    })
    return {
      initial,
      get: () => gpio.read(),
      release: async () => {
        gpio.unwatchAll()
        gpio.unexport()
      },
    }
  }
}
