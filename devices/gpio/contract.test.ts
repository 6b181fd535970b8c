import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { FakeClock, systemClock } from '../../runtime/core/clock.ts'
import { tmpDir } from '../../test/helpers/index.ts'
import { gpioContract } from './contract.ts'
import { FakeGpiod } from './fake-gpiod.ts'
import { GpiodGpio } from './gpiod.ts'
import { OnoffGpio, type OnoffGpioClass, type OnoffGpioLike } from './onoff.ts'
import { SimGpio } from './sim.ts'
import type { Level, LineRef } from './types.ts'

gpioContract('sim', () => {
  const clock = new FakeClock(1000)
  const sim = new SimGpio({ clock })
  return {
    driver: sim,
    clock,
    drive: (line, level) => {
      clock.advance(1)
      sim.drive(line, level)
    },
    levels: (line) => sim.levels(line),
    held: () => sim.held(),
    can: { byName: true, bias: true },
  }
})

for (const version of [1, 2] as const) {
  gpioContract(`gpiod v${version} (fake libgpiod tools)`, () => {
    const fake = FakeGpiod.create(tmpDir(), { version })
    return {
      driver: new GpiodGpio({ env: fake.env() }),
      clock: systemClock,
      drive: (line, level) => fake.drive(line, level),
      levels: (line) => fake.levels(line),
      held: () => fake.held(),
      can: { byName: true, bias: true },
    }
  })
}

/** A sysfs board in memory behind onoff's Gpio API (pinctrl-bcm2711 at base 512). */
function fakeOnoffBoard() {
  const levels = new Map<number, Level>()
  const writes = new Map<number, Level[]>()
  const exported = new Map<number, Set<(err: null, v: Level) => void>>()
  const Gpio: OnoffGpioClass = class implements OnoffGpioLike {
    #n: number
    constructor(n: number, direction: 'in' | 'out' | 'high' | 'low') {
      if (exported.has(n)) throw Object.assign(new Error('EBUSY: resource busy'), { code: 'EBUSY' })
      this.#n = n
      exported.set(n, new Set())
      if (direction === 'high' || direction === 'low') this.#set(direction === 'high' ? 1 : 0)
    }
    #set(v: Level) {
      levels.set(this.#n, v)
      writes.set(this.#n, [...(writes.get(this.#n) ?? []), v])
    }
    async read() {
      return levels.get(this.#n) ?? 0
    }
    async write(v: Level) {
      this.#set(v)
    }
    watch(cb: (err: null, v: Level) => void) {
      exported.get(this.#n)?.add(cb)
    }
    unwatchAll() {
      exported.get(this.#n)?.clear()
    }
    unexport() {
      exported.delete(this.#n)
    }
  }
  const num = (line: LineRef) => 512 + ('offset' in line ? line.offset : -1)
  return {
    Gpio,
    drive(line: LineRef, v: Level) {
      const n = num(line)
      const before = levels.get(n) ?? 0
      levels.set(n, v)
      // onoff reports from its epoll thread: asynchronously.
      if (before !== v) for (const cb of exported.get(n) ?? []) setImmediate(() => cb(null, v))
    },
    levels: (line: LineRef) => writes.get(num(line)) ?? [],
    held: () => [...exported.keys()].sort().map((n) => `pinctrl-bcm2711:${n - 512}`),
  }
}

function fakeSysfs(dir: string, chips: Array<{ base: number; label: string; ngpio: number }>): string {
  const root = join(dir, 'sys', 'class', 'gpio')
  mkdirSync(root, { recursive: true })
  writeFileSync(join(root, 'export'), '')
  writeFileSync(join(root, 'unexport'), '')
  for (const c of chips) {
    const chip = join(root, `gpiochip${c.base}`)
    mkdirSync(chip)
    writeFileSync(join(chip, 'label'), `${c.label}\n`)
    writeFileSync(join(chip, 'base'), `${c.base}\n`)
    writeFileSync(join(chip, 'ngpio'), `${c.ngpio}\n`)
  }
  return root
}

gpioContract('onoff (fake sysfs tree, in-memory Gpio class)', () => {
  const board = fakeOnoffBoard()
  const sysfsRoot = fakeSysfs(tmpDir(), [
    { base: 512, label: 'pinctrl-bcm2711', ngpio: 58 },
    { base: 570, label: 'raspberrypi-exp-gpio', ngpio: 8 },
  ])
  return {
    driver: new OnoffGpio({ sysfsRoot, Gpio: board.Gpio }),
    clock: systemClock,
    drive: board.drive,
    levels: board.levels,
    held: board.held,
    can: { byName: false, bias: false },
  }
})
