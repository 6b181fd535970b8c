import { describe, expect, it, onTestFinished } from 'vitest'
import { FakeClock } from '../../runtime/core/clock.ts'
import { SimGpio } from './sim.ts'

const OUT = { chip: 'pinctrl-bcm2711', offset: 17 }
const IN = { name: 'GPIO27' }

function sim() {
  const clock = new FakeClock(100)
  const gpio = new SimGpio({ clock })
  onTestFinished(() => gpio.close())
  return { clock, gpio }
}

describe('sim backend (what tests inspect)', () => {
  it('keeps a history of requests, writes and drives: physical level, time from the clock', async () => {
    const { clock, gpio } = sim()
    const out = await gpio.openOutput({ line: OUT, initial: 1, activeLow: true })
    clock.advance(5)
    await out.write(0)
    clock.advance(5)
    gpio.drive(IN, 1)
    expect(gpio.history).toEqual([
      { line: 'pinctrl-bcm2711:17', value: 0, at: 100, op: 'request' },
      { line: 'pinctrl-bcm2711:17', value: 1, at: 105, op: 'write' },
      { line: 'pinctrl-bcm2711:27', value: 1, at: 110, op: 'drive' },
    ])
    expect(gpio.levels(OUT)).toEqual([0, 1])
    expect(gpio.level(IN)).toBe(1)
  })

  it('drive() is for inputs: driving a requested output is a test bug', async () => {
    const { gpio } = sim()
    await gpio.openOutput({ line: OUT, initial: 0 })
    expect(() => gpio.drive(OUT, 1)).toThrow('is an output')
  })

  it('fault() breaks a line like a failing driver would, until healed', async () => {
    const { gpio } = sim()
    const out = await gpio.openOutput({ line: OUT, initial: 0 })
    gpio.fault(OUT)
    await expect(out.write(1)).rejects.toMatchObject({ code: 'LK_GPIO_IO' })
    expect(gpio.level(OUT)).toBe(0)
    gpio.fault(OUT, false)
    await out.write(1)
    expect(gpio.level(OUT)).toBe(1)
  })

  it('a pull-down input nobody drives reads 0; a driven one keeps its level', async () => {
    const { gpio } = sim()
    gpio.drive({ name: 'GPIO5' }, 1)
    const driven = await gpio.openInput({ line: { name: 'GPIO5' }, bias: 'pull-down', onChange: () => {} })
    const floating = await gpio.openInput({ line: { name: 'GPIO6' }, bias: 'pull-down', onChange: () => {} })
    expect([await driven.read(), await floating.read()]).toEqual([1, 0])
  })

  it('a name that two chips share is refused as ambiguous', async () => {
    const clock = new FakeClock()
    const gpio = new SimGpio({
      clock,
      chips: [
        { name: 'gpiochip0', label: 'a', lines: ['LED'] },
        { name: 'gpiochip1', label: 'b', lines: ['LED'] },
      ],
    })
    onTestFinished(() => gpio.close())
    await expect(gpio.resolve({ name: 'LED' })).rejects.toMatchObject({
      code: 'LK_GPIO_LINE_AMBIGUOUS',
      details: { name: 'LED', matches: ['gpiochip0:0', 'gpiochip1:0'] },
    })
  })
})
