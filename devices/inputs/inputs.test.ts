import { describe, expect, it, onTestFinished } from 'vitest'
import { FakeClock } from '../../runtime/core/clock.ts'
import { SimGpio } from '../gpio/sim.ts'
import type { Level, LineRef } from '../gpio/types.ts'
import { CurrentSense } from './current-sense.ts'
import { DebouncedInput, type InputChange } from './debounced.ts'
import { type DoorAlarm, DoorContact } from './door-contact.ts'
import { EStop } from './estop.ts'
import { ExitButton } from './exit-button.ts'

const LINE: LineRef = { chip: 'pinctrl-bcm2711', offset: 4 }

function board(start = 0) {
  const clock = new FakeClock(start)
  const gpio = new SimGpio({ clock })
  onTestFinished(() => gpio.close())
  /** Moves to absolute time `t`, then puts `level` on the pin. */
  const at = (t: number, level: Level) => {
    clock.advance(t - clock.now())
    gpio.drive(LINE, level)
  }
  const until = (t: number) => clock.advance(t - clock.now())
  return { clock, gpio, at, until }
}

function record<T>(subscribe: (fn: (e: T) => void) => unknown): T[] {
  const seen: T[] = []
  subscribe((e) => seen.push(e))
  return seen
}

describe('debouncing', () => {
  it('bounce within the debounce window is ignored', async () => {
    const { clock, gpio, at, until } = board()
    gpio.drive(LINE, 0)
    const input = new DebouncedInput({ name: 'in', gpio, line: LINE, clock, debounceMs: 20 })
    await input.ready()
    const changes = record<InputChange>((fn) => input.onChange(fn))
    at(1000, 1)
    at(1005, 0)
    at(1008, 1)
    at(1012, 0)
    until(2000)
    expect(changes).toEqual([])
    expect(input.value).toBe(0)
  })

  it('a change counts after exactly debounceMs, stamped with when the line got there', async () => {
    const { clock, gpio, at, until } = board()
    gpio.drive(LINE, 0)
    const input = new DebouncedInput({ name: 'in', gpio, line: LINE, clock, debounceMs: 20 })
    await input.ready()
    const changes = record<InputChange>((fn) => input.onChange(fn))
    at(1000, 1)
    at(1004, 0) // bounce
    at(1006, 1)
    until(1025)
    expect(changes).toEqual([])
    until(1026)
    expect(changes).toEqual([{ value: 1, at: 1006 }])
    expect(input.value).toBe(1)
  })

  it('close() stops reporting and leaves no timer behind', async () => {
    const { clock, gpio, at } = board()
    const input = new DebouncedInput({ name: 'in', gpio, line: LINE, clock })
    await input.ready()
    const changes = record<InputChange>((fn) => input.onChange(fn))
    at(10, 1)
    await input.close()
    expect(clock.pending).toBe(0)
    clock.advance(1000)
    expect(changes).toEqual([])
    expect(gpio.held()).toEqual([])
  })

  it('rejects nonsense durations with LK_DEVICE_CONFIG', () => {
    const { clock, gpio } = board()
    expect(() => new DebouncedInput({ name: 'in', gpio, line: LINE, clock, debounceMs: -1 })).toThrow(
      expect.objectContaining({ code: 'LK_DEVICE_CONFIG' }),
    )
    expect(() => new DoorContact({ name: 'door', gpio, line: LINE, clock, heldOpenMs: 0 })).toThrow(
      expect.objectContaining({ code: 'LK_DEVICE_CONFIG', details: { device: 'door', key: 'heldOpenMs' } }),
    )
  })
})

describe('DoorContact', () => {
  async function door(opts: { start?: number; initial?: Level } = {}) {
    const b = board(opts.start ?? 0)
    b.gpio.drive(LINE, opts.initial ?? 0)
    const contact = new DoorContact({
      name: 'front-door',
      gpio: b.gpio,
      line: LINE,
      clock: b.clock,
      debounceMs: 20,
      heldOpenMs: 30_000,
    })
    await contact.ready()
    const alarms = record<DoorAlarm>((fn) => contact.onAlarm(fn))
    return { ...b, contact, alarms }
  }

  it('uses a pull-up by default: an unwired contact reads open', async () => {
    const { clock, gpio } = board()
    const contact = new DoorContact({ name: 'd', gpio, line: LINE, clock, heldOpenMs: 1000 })
    await contact.ready()
    expect(contact.open).toBe(true)
  })

  it('an opening inside an unlock window is no alarm; held open, it alarms at exactly the threshold', async () => {
    const { contact, alarms, at, until } = await door()
    contact.allowFor(5000)
    at(100, 1)
    until(120)
    expect(contact.open).toBe(true)
    expect(alarms).toEqual([])
    until(30_099)
    expect(alarms).toEqual([])
    until(30_100)
    expect(alarms).toEqual([{ type: 'held-open', active: true, at: 30_100 }])
    expect(contact.alarms).toEqual({ forced: false, heldOpen: true })
    // It clears when the door closes (stamped with when it closed).
    at(40_000, 0)
    until(40_020)
    expect(alarms[1]).toEqual({ type: 'held-open', active: false, at: 40_000 })
    expect(contact.alarms).toEqual({ forced: false, heldOpen: false })
  })

  it('a door closed in time raises nothing', async () => {
    const { contact, alarms, at, until } = await door()
    contact.allowFor(5000)
    at(100, 1)
    at(29_000, 0)
    until(100_000)
    expect(alarms).toEqual([])
  })

  it('an opening without an unlock window is a forced door, cleared when it closes', async () => {
    const { contact, alarms, at, until } = await door()
    at(500, 1)
    until(519)
    expect(alarms).toEqual([])
    until(520)
    expect(alarms).toEqual([{ type: 'forced', active: true, at: 500 }])
    expect(contact.alarms.forced).toBe(true)
    at(2000, 0)
    until(2020)
    expect(alarms[1]).toEqual({ type: 'forced', active: false, at: 2000 })
  })

  it('an opening after the window has ended is forced', async () => {
    const { contact, alarms, at, until } = await door()
    contact.allowFor(5000)
    at(5001, 1)
    until(6000)
    expect(alarms.map((a) => a.type)).toEqual(['forced'])
  })

  it('bounce of the contact is neither a forced door nor a held-open alarm', async () => {
    const { alarms, at, until } = await door()
    at(100, 1)
    at(105, 0)
    at(110, 1)
    at(115, 0)
    until(60_000)
    expect(alarms).toEqual([])
  })

  it('held unlocked, the door may open and stand open; released, it is timed from then', async () => {
    const { contact, alarms, at, until } = await door()
    contact.hold()
    at(100, 1)
    until(3_600_000)
    expect(alarms).toEqual([])
    contact.release()
    until(3_629_999)
    expect(alarms).toEqual([])
    until(3_630_000)
    expect(alarms).toEqual([{ type: 'held-open', active: true, at: 3_630_000 }])
  })

  it('a door open at start-up is timed from start-up, not called forced', async () => {
    const { alarms, until } = await door({ start: 50, initial: 1 })
    until(30_049)
    expect(alarms).toEqual([])
    until(30_050)
    expect(alarms).toEqual([{ type: 'held-open', active: true, at: 30_050 }])
  })

  it('close() cancels the held-open timer', async () => {
    const { clock, contact, alarms, at } = await door()
    contact.allowFor(1000)
    at(10, 1)
    clock.advance(100)
    await contact.close()
    expect(clock.pending).toBe(0)
    clock.advance(60_000)
    expect(alarms).toEqual([])
  })
})

describe('ExitButton', () => {
  it('reports each press once (active-low with a pull-up by default)', async () => {
    const { clock, gpio, at, until } = board()
    const button = new ExitButton({ name: 'rte', gpio, line: LINE, clock })
    await button.ready()
    // Pull-up, nobody pressing: the pin is high, which is "not pressed".
    expect(gpio.level(LINE)).toBe(1)
    expect(button.pressed).toBe(false)
    const presses = record<{ at: number }>((fn) => button.onPress(fn))
    at(100, 0)
    at(103, 1) // bounce
    at(105, 0)
    at(300, 1)
    at(1000, 0)
    at(1100, 1)
    until(2000)
    expect(presses).toEqual([{ at: 105 }, { at: 1000 }])
  })
})

describe('EStop', () => {
  it('engages on the first edge and releases only once stable', async () => {
    const { clock, gpio, at, until } = board()
    gpio.drive(LINE, 0)
    const estop = new EStop({ name: 'lathe-estop', gpio, line: LINE, clock })
    await estop.ready()
    const changes = record<InputChange>((fn) => estop.onChange(fn))
    at(100, 1)
    expect(estop.engaged).toBe(true)
    expect(changes).toEqual([{ value: 1, at: 100 }])
    at(200, 0)
    at(210, 1) // bounce while releasing
    at(220, 0)
    until(269)
    expect(estop.engaged).toBe(true)
    until(270)
    expect(estop.engaged).toBe(false)
    expect(changes).toEqual([
      { value: 1, at: 100 },
      { value: 0, at: 220 },
    ])
  })

  it('a cut wire reads as engaged (normally-closed contact with a pull-up)', async () => {
    const { clock, gpio } = board()
    const estop = new EStop({ name: 'lathe-estop', gpio, line: LINE, clock })
    await estop.ready()
    expect(estop.engaged).toBe(true)
  })
})

describe('CurrentSense', () => {
  it('ignores mains-frequency chatter and reports a running tool after 250 ms', async () => {
    const { clock, gpio, at, until } = board()
    gpio.drive(LINE, 0)
    const sense = new CurrentSense({ name: 'lathe-current', gpio, line: LINE, clock })
    await sense.ready()
    const changes = record<InputChange>((fn) => sense.onChange(fn))
    // 50 Hz half-waves: 10 ms on, 10 ms off, for 200 ms, then steady.
    for (let t = 1000; t < 1200; t += 20) {
      at(t, 1)
      at(t + 10, 0)
    }
    at(1200, 1)
    until(1449)
    expect(sense.running).toBe(false)
    until(1450)
    expect(sense.running).toBe(true)
    expect(changes).toEqual([{ value: 1, at: 1200 }])
  })
})
