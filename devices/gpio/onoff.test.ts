import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { tmpDir } from '../../test/helpers/index.ts'
import { OnoffGpio, type OnoffGpioClass, readSysfsChips, sysfsLine } from './onoff.ts'
import type { Level } from './types.ts'

/** A /sys/class/gpio tree as the kernel lays it out: gpiochip<base>/{label,base,ngpio}. */
function sysfs(chips: Array<{ base: number; label: string; ngpio: number }>): string {
  const root = join(tmpDir(), 'class', 'gpio')
  mkdirSync(root, { recursive: true })
  writeFileSync(join(root, 'export'), '')
  for (const c of chips) {
    mkdirSync(join(root, `gpiochip${c.base}`))
    writeFileSync(join(root, `gpiochip${c.base}`, 'label'), `${c.label}\n`)
    writeFileSync(join(root, `gpiochip${c.base}`, 'base'), `${c.base}\n`)
    writeFileSync(join(root, `gpiochip${c.base}`, 'ngpio'), `${c.ngpio}\n`)
  }
  return root
}

const PI4_66 = [
  { base: 512, label: 'pinctrl-bcm2711', ngpio: 58 },
  { base: 570, label: 'raspberrypi-exp-gpio', ngpio: 8 },
]
const PI5_66 = [
  { base: 512, label: 'gpio-brcmstb@107d508500', ngpio: 32 },
  { base: 544, label: 'gpio-brcmstb@107d508520', ngpio: 4 },
  { base: 548, label: 'gpio-brcmstb@107d517c00', ngpio: 17 },
  { base: 565, label: 'gpio-brcmstb@107d517c20', ngpio: 6 },
  { base: 571, label: 'pinctrl-rp1', ngpio: 54 },
]
const PI4_61 = [
  { base: 0, label: 'pinctrl-bcm2711', ngpio: 58 },
  { base: 504, label: 'raspberrypi-exp-gpio', ngpio: 8 },
]

/** Records what onoff would be asked to export. */
function recordingGpio() {
  const made: Array<{ n: number; direction: string; edge?: string; options?: object }> = []
  const writes: Array<[number, Level]> = []
  const Gpio: OnoffGpioClass = class {
    #n: number
    constructor(n: number, direction: 'in' | 'out' | 'high' | 'low', edge?: string, options?: object) {
      this.#n = n
      made.push({ n, direction, ...(edge ? { edge } : {}), ...(options ? { options } : {}) })
    }
    async read(): Promise<Level> {
      return 0
    }
    async write(v: Level) {
      writes.push([this.#n, v])
    }
    watch() {}
    unwatchAll() {}
    unexport() {}
  }
  return { Gpio, made, writes }
}

describe('onoff backend: sysfs numbers come from the chip label and base', () => {
  it('reads every chip of a sysfs tree', async () => {
    expect(await readSysfsChips(sysfs(PI5_66))).toHaveLength(5)
    expect((await readSysfsChips(sysfs(PI4_66)))[0]).toEqual({
      name: 'gpiochip512',
      label: 'pinctrl-bcm2711',
      base: 512,
      ngpio: 58,
    })
  })

  it('GPIO17 is 529 on a Pi 4 and 588 on a Pi 5 under kernel 6.6, 17 under 6.1', async () => {
    const line = (chip: string) => ({ chip, offset: 17 })
    expect(sysfsLine(await readSysfsChips(sysfs(PI4_66)), line('pinctrl-bcm2711')).number).toBe(529)
    expect(sysfsLine(await readSysfsChips(sysfs(PI5_66)), line('pinctrl-rp1')).number).toBe(588)
    expect(sysfsLine(await readSysfsChips(sysfs(PI4_61)), line('pinctrl-bcm2711')).number).toBe(17)
    expect(
      sysfsLine(await readSysfsChips(sysfs(PI4_66)), { chip: 'raspberrypi-exp-gpio', offset: 2 }),
    ).toEqual({
      info: { chip: 'raspberrypi-exp-gpio', chipName: 'gpiochip570', offset: 2, name: null },
      number: 572,
    })
  })

  it('refuses what it cannot resolve, with stable codes', async () => {
    const chips = await readSysfsChips(sysfs(PI5_66))
    const codeOf = (f: () => unknown) => {
      try {
        f()
      } catch (err) {
        return (err as { code: string }).code
      }
    }
    expect(codeOf(() => sysfsLine(chips, { chip: 'pinctrl-bcm2711', offset: 17 }))).toBe(
      'LK_GPIO_CHIP_NOT_FOUND',
    )
    expect(codeOf(() => sysfsLine(chips, { chip: 'pinctrl-rp1', offset: 54 }))).toBe('LK_GPIO_LINE_NOT_FOUND')
    expect(codeOf(() => sysfsLine(chips, { name: 'GPIO17' }))).toBe('LK_GPIO_UNSUPPORTED')
  })

  it('a missing sysfs root fails ready() with LK_GPIO_SYSFS', async () => {
    const gpio = new OnoffGpio({ sysfsRoot: join(tmpDir(), 'absent'), Gpio: recordingGpio().Gpio })
    onTestFinished(() => gpio.close())
    const err = await gpio.ready().catch((e) => e)
    expect(err.code).toBe('LK_GPIO_SYSFS')
  })

  it('exports base + offset with the initial level as its direction and onoff active-low forced off', async () => {
    const rec = recordingGpio()
    const gpio = new OnoffGpio({ sysfsRoot: sysfs(PI5_66), Gpio: rec.Gpio })
    onTestFinished(() => gpio.close())
    const out = await gpio.openOutput({
      line: { chip: 'pinctrl-rp1', offset: 17 },
      initial: 1,
      activeLow: true,
    })
    await gpio.openInput({ line: { chip: 'pinctrl-rp1', offset: 27 }, onChange: () => {} })
    expect(rec.made).toEqual([
      // activeLow is ours: logical 1 → pin low, requested as 'low' in one step.
      { n: 588, direction: 'low', edge: 'none', options: { activeLow: false } },
      { n: 598, direction: 'in', edge: 'both', options: { activeLow: false } },
    ])
    await out.write(0)
    expect(rec.writes).toEqual([[588, 1]])
  })

  it('an export the kernel refuses becomes LK_GPIO_LINE_BUSY or LK_GPIO_IO', async () => {
    const failing = (code: string): OnoffGpioClass =>
      class {
        constructor() {
          throw Object.assign(new Error(`${code}: write /sys/class/gpio/export`), { code })
        }
      } as unknown as OnoffGpioClass
    for (const [code, expected] of [
      ['EBUSY', 'LK_GPIO_LINE_BUSY'],
      ['EINVAL', 'LK_GPIO_IO'],
    ]) {
      const gpio = new OnoffGpio({ sysfsRoot: sysfs(PI4_66), Gpio: failing(code!) })
      onTestFinished(() => gpio.close())
      const err = await gpio
        .openOutput({ line: { chip: 'pinctrl-bcm2711', offset: 4 }, initial: 0 })
        .catch((e) => e)
      expect(err.code).toBe(expected)
    }
  })
})
