import { spawn } from 'node:child_process'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { pino } from 'pino'
import { describe, expect, it, onTestFinished } from 'vitest'
import { tmpDir } from '../../test/helpers/index.ts'
import { FakeGpiod } from './fake-gpiod.ts'
import { GpiodGpio, type GpiodOptions } from './gpiod.ts'
import { parseEvent, parseGetValue, parseGpiodetect, parseGpioinfo, parseVersion } from './gpiod-tools.ts'
import type { LineEvent } from './types.ts'

const L17 = { chip: 'pinctrl-bcm2711', offset: 17 }
const L22 = { chip: 'pinctrl-bcm2711', offset: 22 }

function setup(version: 1 | 2, opts: Partial<GpiodOptions> & { versionText?: string } = {}) {
  const fake = FakeGpiod.create(tmpDir(), {
    version,
    ...(opts.versionText ? { versionText: opts.versionText } : {}),
  })
  const lines: Array<Record<string, unknown>> = []
  const log = pino(
    { level: 'debug' },
    new Writable({
      write(chunk, _enc, done) {
        lines.push(JSON.parse(String(chunk)))
        done()
      },
    }),
  )
  const gpio = new GpiodGpio({ env: fake.env(), log, ...opts })
  onTestFinished(() => gpio.close())
  return { fake, gpio, lines }
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (err) {
    return (err as { code?: string }).code ?? String(err)
  }
  return 'resolved'
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function until(check: () => void, ms = 3000): Promise<void> {
  const end = Date.now() + ms
  for (;;) {
    try {
      check()
      return
    } catch (err) {
      if (Date.now() > end) throw err
      await new Promise((r) => setTimeout(r, 5))
    }
  }
}

describe('libgpiod output parsers (formats from libgpiod v1.6 and v2.1 sources)', () => {
  it('reads the version line of both generations', () => {
    expect(parseVersion('gpioset (libgpiod) v1.6.3\nCopyright (C) 2017-2018 Bartosz Golaszewski\n')).toEqual({
      major: 1,
      text: 'v1.6.3',
    })
    expect(parseVersion('gpioinfo (libgpiod) v2.1.3\n')).toEqual({ major: 2, text: 'v2.1.3' })
    expect(parseVersion('gpioset (libgpiod) v2.2-devel\n')?.major).toBe(2)
    expect(parseVersion('gpioset: command not found')).toBeNull()
  })

  it('reads gpiodetect', () => {
    expect(
      parseGpiodetect('gpiochip0 [pinctrl-bcm2711] (58 lines)\ngpiochip1 [raspberrypi-exp-gpio] (8 lines)\n'),
    ).toEqual([
      { name: 'gpiochip0', label: 'pinctrl-bcm2711', lines: 58 },
      { name: 'gpiochip1', label: 'raspberrypi-exp-gpio', lines: 8 },
    ])
  })

  it('reads v1 gpioinfo rows (right-aligned columns, quoted consumer, [used] flags)', () => {
    const out = [
      'gpiochip0 - 54 lines:',
      '\tline   0:     "ID_SDA"       unused   input  active-high ',
      '\tline  17:     "GPIO17"       unused   input  active-high ',
      '\tline  18:     "GPIO18"    "gpioset"  output  active-high [used]',
      '\tline  19:      unnamed     "kernel"   input  active-high [used pull-up]',
      '\tline  20:      unnamed       kernel   input   active-low [used]',
    ].join('\n')
    expect(parseGpioinfo(out).get('gpiochip0')).toEqual([
      { offset: 0, name: 'ID_SDA', direction: 'input', consumer: null },
      { offset: 17, name: 'GPIO17', direction: 'input', consumer: null },
      { offset: 18, name: 'GPIO18', direction: 'output', consumer: 'gpioset' },
      { offset: 19, name: null, direction: 'input', consumer: 'kernel' },
      { offset: 20, name: null, direction: 'input', consumer: 'kernel' },
    ])
  })

  it('reads v2 gpioinfo rows (tab-separated, attributes, consumer=)', () => {
    const out = [
      'gpiochip0 - 54 lines:',
      '\tline  17:\t"GPIO17"        \tinput',
      '\tline  18:\t"GPIO18"        \toutput consumer="latchkey"',
      '\tline  22:\t"GPIO22"        \tinput active-low bias=pull-up edges=both consumer="gpiomon"',
      '\tline  30:\tunnamed         \toutput drive=open-drain consumer="my app"',
      'gpiochip1 - 8 lines:',
      '\tline   0:\t"BT_ON"         \toutput consumer="kernel"',
    ].join('\n')
    const chips = parseGpioinfo(out)
    expect(chips.get('gpiochip0')).toEqual([
      { offset: 17, name: 'GPIO17', direction: 'input', consumer: null },
      { offset: 18, name: 'GPIO18', direction: 'output', consumer: 'latchkey' },
      { offset: 22, name: 'GPIO22', direction: 'input', consumer: 'gpiomon' },
      { offset: 30, name: null, direction: 'output', consumer: 'my app' },
    ])
    expect(chips.get('gpiochip1')?.[0]).toMatchObject({ name: 'BT_ON', consumer: 'kernel' })
  })

  it('reads gpioget values and gpiomon events of both generations', () => {
    expect(parseGetValue('1\n')).toBe(1)
    expect(parseGetValue('0\n')).toBe(0)
    expect(parseGetValue('"17"=active\n')).toBe(1)
    expect(parseGetValue('"17"=inactive\n')).toBe(0)
    expect(parseGetValue('what')).toBeNull()
    expect(parseEvent('17 1')).toEqual({ offset: 17, level: 1 })
    expect(parseEvent('17 0')).toEqual({ offset: 17, level: 0 }) // v1 falling
    expect(parseEvent('17 2')).toEqual({ offset: 17, level: 0 }) // v2 falling
    expect(parseEvent("Monitoring line '17'...")).toBeNull()
  })
})

describe('gpiod backend', () => {
  for (const version of [1, 2] as const) {
    it(`v${version}: detects the syntax from --version and resolves chips with gpiodetect + gpioinfo`, async () => {
      const { fake, gpio, lines } = setup(version)
      await gpio.ready()
      expect(gpio.version).toBe(version)
      expect(
        fake
          .calls()
          .filter((c) => c[1] === '--version')
          .map((c) => c[0])
          .sort(),
      ).toEqual(['gpiodetect', 'gpioget', 'gpioinfo', 'gpiomon', 'gpioset'])
      expect(fake.calls('gpiodetect')).toContainEqual(['gpiodetect'])
      expect(fake.calls('gpioinfo')).toContainEqual(['gpioinfo'])
      expect(await gpio.resolve({ name: 'GPIO17' })).toEqual({
        chip: 'pinctrl-bcm2711',
        chipName: 'gpiochip0',
        offset: 17,
        name: 'GPIO17',
      })
      const ready = lines.find((l) => l.msg === 'gpiod backend ready')
      expect(ready).toMatchObject({ libgpiod: version === 1 ? 'v1.6.3' : 'v2.1.3', syntax: `v${version}` })
    })
  }

  it('v1 syntax: gpioset --mode=wait <chip> <offset>=<value>, gpioget then gpiomon --line-buffered', async () => {
    const { fake, gpio } = setup(1)
    await gpio.openOutput({ line: L17, initial: 1 })
    await gpio.openInput({ line: L22, bias: 'disabled', onChange: () => {} })
    expect(fake.calls('gpioset').filter((c) => c[1] !== '--version')).toEqual([
      ['gpioset', '--mode=wait', 'gpiochip0', '17=1'],
    ])
    expect(fake.calls('gpioget').filter((c) => c[1] !== '--version')).toEqual([
      ['gpioget', '--bias=disable', 'gpiochip0', '22'],
    ])
    expect(fake.calls('gpiomon').filter((c) => c[1] !== '--version')).toEqual([
      ['gpiomon', '--line-buffered', '--format=%o %e', '--bias=disable', 'gpiochip0', '22'],
    ])
    // v1 prints nothing on success: the request is confirmed through gpioinfo.
    expect(fake.calls('gpioinfo')).toContainEqual(['gpioinfo', 'gpiochip0'])
  })

  it('v2 syntax: gpioset --banner -C latchkey -c <chip> <offset>=<value> (chip by name: v2 takes no labels)', async () => {
    const { fake, gpio } = setup(2)
    await gpio.openOutput({ line: L17, initial: 0 })
    await gpio.openInput({ line: L22, bias: 'pull-up', onChange: () => {} })
    expect(fake.calls('gpioset').filter((c) => c[1] !== '--version')).toEqual([
      ['gpioset', '--banner', '-C', 'latchkey', '-c', 'gpiochip0', '17=0'],
    ])
    expect(fake.calls('gpioget').filter((c) => c[1] !== '--version')).toEqual([
      ['gpioget', '--numeric', '-C', 'latchkey', '--bias=pull-up', '-c', 'gpiochip0', '22'],
    ])
    expect(fake.calls('gpiomon').filter((c) => c[1] !== '--version')).toEqual([
      ['gpiomon', '--banner', '-C', 'latchkey', '--format=%o %e', '--bias=pull-up', '-c', 'gpiochip0', '22'],
    ])
  })

  it('changing a level replaces the holding gpioset; writing the same level starts nothing', async () => {
    const { fake, gpio } = setup(2)
    const out = await gpio.openOutput({ line: L17, initial: 0 })
    const first = fake.holder(L17)!
    await out.write(0)
    expect(fake.holder(L17)).toBe(first)
    await out.write(1)
    const second = fake.holder(L17)!
    expect(second).not.toBe(first)
    expect(alive(first)).toBe(false)
    expect(fake.levels(L17)).toEqual([0, 1])
    expect(fake.calls('gpioset').filter((c) => c[1] !== '--version')).toHaveLength(2)
  })

  it('a line held by another process fails with LK_GPIO_LINE_BUSY and is left alone', async () => {
    const { fake, gpio } = setup(2)
    await gpio.ready()
    const other = spawn('gpioset', ['-c', 'gpiochip0', '17=1'], { env: fake.env(), stdio: 'ignore' })
    onTestFinished(() => {
      other.kill()
    })
    await until(() => expect(fake.held()).toEqual(['pinctrl-bcm2711:17']))
    expect(await code(gpio.openOutput({ line: L17, initial: 0 }))).toBe('LK_GPIO_LINE_BUSY')
    expect(fake.levels(L17)).toEqual([1])
    expect(fake.holder(L17)).toBe(other.pid)
  })

  it('a missing tool fails ready() with LK_GPIO_TOOL_MISSING naming it', async () => {
    const { fake, gpio } = setup(2)
    rmSync(join(fake.binDir, 'gpiomon'))
    const env = { ...fake.env(), PATH: fake.binDir }
    const bare = new GpiodGpio({ env })
    onTestFinished(() => bare.close())
    const err = await bare.ready().catch((e) => e)
    expect(err.code).toBe('LK_GPIO_TOOL_MISSING')
    expect(err.details).toEqual({ tool: 'gpiomon' })
    await gpio.close()
  })

  it('an unknown libgpiod generation fails ready() with LK_GPIO_TOOL_VERSION', async () => {
    const { gpio } = setup(2, { versionText: '3.0.0' })
    expect(await code(gpio.ready())).toBe('LK_GPIO_TOOL_VERSION')
  })

  it('a gpioset that never confirms is ended and reported with LK_GPIO_TIMEOUT', async () => {
    const { fake, gpio } = setup(2, { timeoutMs: 300 })
    await gpio.ready()
    // A v2 gpioset that requests nothing and prints no banner.
    const pidFile = join(fake.stateDir, 'stuck.pid')
    writeFileSync(
      join(fake.binDir, 'gpioset'),
      `#!/usr/bin/env bash\necho $$ > '${pidFile}'\nexec sleep 30\n`,
      {
        mode: 0o755,
      },
    )
    expect(await code(gpio.openOutput({ line: L17, initial: 1 }))).toBe('LK_GPIO_TIMEOUT')
    const { readFileSync } = await import('node:fs')
    expect(alive(Number(readFileSync(pidFile, 'utf8')))).toBe(false)
    // The line was never claimed, so it can be requested once the tool works again.
    expect(fake.held()).toEqual([])
  })

  it('a gpioset killed from outside is logged; the next write requests the line again', async () => {
    const { fake, gpio, lines } = setup(2)
    const out = await gpio.openOutput({ line: L17, initial: 1 })
    process.kill(fake.holder(L17)!, 'SIGTERM')
    await until(() =>
      expect(lines.find((l) => l.msg === 'output line released unexpectedly')).toMatchObject({
        line: 'pinctrl-bcm2711:17',
        err: expect.objectContaining({ code: 'LK_GPIO_HOLDER_EXITED' }),
      }),
    )
    await out.write(1)
    expect(fake.held()).toEqual(['pinctrl-bcm2711:17'])
    expect(fake.levels(L17)).toEqual([1, 1])
  })

  it('a gpiomon killed from outside is reported through onError', async () => {
    const { fake, gpio } = setup(1)
    const errors: Error[] = []
    await gpio.openInput({ line: L22, onChange: () => {}, onError: (e) => errors.push(e) })
    process.kill(fake.holder(L22)!, 'SIGTERM')
    await until(() =>
      expect(errors.map((e) => (e as { code?: string }).code)).toEqual(['LK_GPIO_HOLDER_EXITED']),
    )
  })

  it('events report the level after each edge, in order, for both generations', async () => {
    for (const version of [1, 2] as const) {
      const { fake, gpio } = setup(version)
      const events: LineEvent[] = []
      await gpio.openInput({ line: L22, onChange: (e) => events.push(e) })
      for (const level of [1, 0, 1, 0] as const) fake.drive(L22, level)
      await until(() => expect(events.map((e) => e.value)).toEqual([1, 0, 1, 0]))
      await gpio.close()
    }
  })

  it('close() ends every tool process it started', async () => {
    const { fake, gpio } = setup(1)
    await gpio.openOutput({ line: L17, initial: 1 })
    await gpio.openInput({ line: L22, onChange: () => {} })
    const pids = [fake.holder(L17)!, fake.holder(L22)!]
    expect(pids.every(alive)).toBe(true)
    await gpio.close()
    expect(pids.some(alive)).toBe(false)
    expect(fake.held()).toEqual([])
  })
})
