import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { tmpDir } from '../../test/helpers/index.ts'
import { createGpio, detectGpioBackend } from './auto.ts'
import { TOOLS } from './gpiod-tools.ts'

/** A board's /dev, PATH and sysfs, each present or not. */
function board(opts: { chips: number; tools: boolean; sysfs: boolean }) {
  const dir = tmpDir()
  const devDir = join(dir, 'dev')
  const bin = join(dir, 'bin')
  mkdirSync(devDir)
  mkdirSync(bin)
  for (let i = 0; i < opts.chips; i++) writeFileSync(join(devDir, `gpiochip${i}`), '')
  writeFileSync(join(devDir, 'null'), '')
  if (opts.tools) for (const t of TOOLS) writeFileSync(join(bin, t), '#!/bin/sh\n', { mode: 0o755 })
  const sysfsRoot = join(dir, 'sys-class-gpio')
  if (opts.sysfs) mkdirSync(sysfsRoot)
  return { devDir, sysfsRoot, env: { PATH: bin } }
}

describe('auto: picks the backend the board supports', () => {
  it('character devices and the libgpiod tools → gpiod', async () => {
    const b = board({ chips: 2, tools: true, sysfs: true })
    const choice = await detectGpioBackend(b)
    expect(choice.kind).toBe('gpiod')
    expect(choice.reason).toContain('gpiochip0')
  })

  it('no tools but sysfs → onoff, saying which tools are missing', async () => {
    const choice = await detectGpioBackend(board({ chips: 1, tools: false, sysfs: true }))
    expect(choice.kind).toBe('onoff')
    expect(choice.reason).toContain('gpioset')
    expect((await detectGpioBackend(board({ chips: 0, tools: true, sysfs: true }))).kind).toBe('onoff')
  })

  it('neither → sim', async () => {
    expect((await detectGpioBackend(board({ chips: 0, tools: false, sysfs: false }))).kind).toBe('sim')
    const trixieWithoutTools = await detectGpioBackend(board({ chips: 1, tools: false, sysfs: false }))
    expect(trixieWithoutTools.kind).toBe('sim')
    expect(trixieWithoutTools.reason).toContain('apt install gpiod')
  })

  it('createGpio logs one line naming the choice and the reason', async () => {
    const lines: Array<Record<string, unknown>> = []
    const log = pino(
      new Writable({
        write(chunk, _enc, done) {
          lines.push(JSON.parse(String(chunk)))
          done()
        },
      }),
    )
    const b = board({ chips: 1, tools: true, sysfs: false })
    const gpio = await createGpio({ backend: 'auto', log, ...b })
    expect(gpio.kind).toBe('gpiod')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({ gpio: 'gpiod', level: 30, msg: 'GPIO backend: gpiod' })
    expect(String(lines[0]!.reason)).toContain('libgpiod tools are on PATH')

    const sim = await createGpio({ backend: 'auto', log, ...board({ chips: 0, tools: false, sysfs: false }) })
    expect(sim.kind).toBe('sim')
    expect(lines[1]).toMatchObject({ gpio: 'sim', level: 40 })
    await sim.close()
    await gpio.close()
  })
})
