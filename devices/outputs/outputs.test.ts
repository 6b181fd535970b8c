import { describe, expect, it, onTestFinished } from 'vitest'
import { FakeClock } from '../../runtime/core/clock.ts'
import { SimGpio } from '../gpio/sim.ts'
import type { LineRef } from '../gpio/types.ts'
import { BUZZ, Buzzer } from './buzzer.ts'
import { Led } from './led.ts'
import { Lock, type LockOptions } from './lock.ts'
import { ToolRelay } from './relay.ts'
import { applySafeStates } from './safe-state.ts'

const DOOR: LineRef = { chip: 'pinctrl-bcm2711', offset: 17 }
const TOOL: LineRef = { chip: 'pinctrl-bcm2711', offset: 18 }
const BUZZER: LineRef = { chip: 'pinctrl-bcm2711', offset: 27 }
const LED: LineRef = { name: 'GPIO22' }

function board(start = 0) {
  const clock = new FakeClock(start)
  const gpio = new SimGpio({ clock })
  onTestFinished(() => gpio.close())
  const history = (line: LineRef) => gpio.historyOf(line).map(({ value, at, op }) => ({ value, at, op }))
  return { clock, gpio, history }
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (err) {
    return (err as { code?: string }).code ?? String(err)
  }
  return 'resolved'
}

describe('Lock', () => {
  it('is requested directly at its safe state: the sim never sees an unlocked level during open', async () => {
    for (const energise of ['unlock', 'lock'] as const) {
      for (const fail of ['secure', 'safe'] as const) {
        for (const activeLow of [false, true]) {
          const { clock, gpio } = board()
          const lock = new Lock({ name: 'door', gpio, clock, line: DOOR, energise, fail, activeLow })
          await lock.ready()
          // Energised = logical 1; the pin is inverted when activeLow.
          const lockedLogical = energise === 'unlock' ? 0 : 1
          const safeLogical = fail === 'secure' ? lockedLogical : 1 - lockedLogical
          const safePin = activeLow ? 1 - safeLogical : safeLogical
          expect(gpio.historyOf(DOOR), `${energise}/${fail}/activeLow=${activeLow}`).toEqual([
            { line: 'pinctrl-bcm2711:17', value: safePin, at: 0, op: 'request' },
          ])
          expect(lock.state).toBe(fail === 'secure' ? 'locked' : 'unlocked')
          await lock.close()
        }
      }
    }
  })

  it('a pulse unlocks at once and relocks exactly N ms later', async () => {
    const { clock, gpio, history } = board(1000)
    const lock = new Lock({ name: 'door', gpio, clock, line: DOOR })
    await lock.ready()
    await lock.pulse(3000)
    expect(lock.state).toBe('unlocked')
    clock.advance(2999)
    expect(lock.state).toBe('unlocked')
    expect(gpio.level(DOOR)).toBe(1)
    clock.advance(1)
    expect(lock.state).toBe('locked')
    expect(history(DOOR)).toEqual([
      { value: 0, at: 1000, op: 'request' },
      { value: 1, at: 1000, op: 'write' },
      { value: 0, at: 4000, op: 'write' },
    ])
    expect(clock.pending).toBe(0)
  })

  it('a pulse during a pulse extends it without another write', async () => {
    const { clock, gpio, history } = board()
    const lock = new Lock({ name: 'door', gpio, clock, line: DOOR })
    await lock.ready()
    await lock.pulse(3000)
    clock.advance(2000)
    await lock.pulse(3000)
    clock.advance(2999)
    expect(lock.state).toBe('unlocked')
    clock.advance(1)
    expect(history(DOOR).map((h) => [h.value, h.at])).toEqual([
      [0, 0],
      [1, 0],
      [0, 5000],
    ])
  })

  it('holds unlocked until lock(); a pulse during a hold changes nothing', async () => {
    const { clock, gpio, history } = board()
    const lock = new Lock({ name: 'door', gpio, clock, line: DOOR })
    await lock.ready()
    await lock.unlock()
    clock.advance(3_600_000)
    await lock.pulse(3000)
    clock.advance(10_000)
    expect(lock.state).toBe('unlocked')
    await lock.lock()
    expect(lock.state).toBe('locked')
    expect(history(DOOR).map((h) => [h.value, h.at])).toEqual([
      [0, 0],
      [1, 0],
      [0, 3_610_000],
    ])
  })

  it('lock() during a pulse locks now and cancels the relock', async () => {
    const { clock, gpio } = board()
    const lock = new Lock({ name: 'door', gpio, clock, line: DOOR })
    await lock.ready()
    await lock.pulse(5000)
    clock.advance(100)
    await lock.lock()
    expect(clock.pending).toBe(0)
    expect(gpio.levels(DOOR)).toEqual([0, 1, 0])
  })

  it('a maglock (energise to lock) is energised while locked, and de-energised during a pulse', async () => {
    const { clock, gpio } = board()
    const lock = new Lock({ name: 'maglock', gpio, clock, line: DOOR, energise: 'lock', activeLow: true })
    await lock.ready()
    await lock.pulse(500)
    clock.advance(500)
    // Logical 1 (energised, locked) is a low pin on this active-low board: pins 0, 1, 0.
    expect(gpio.levels(DOOR)).toEqual([0, 1, 0])
  })

  it('close() returns to the safe state, cancels the relock timer and releases the line', async () => {
    const { clock, gpio } = board()
    const lock = new Lock({ name: 'door', gpio, clock, line: DOOR })
    await lock.ready()
    await lock.pulse(5000)
    await lock.close()
    expect(gpio.levels(DOOR)).toEqual([0, 1, 0])
    expect(clock.pending).toBe(0)
    expect(gpio.held()).toEqual([])
    expect(await code(lock.pulse(100))).toBe('LK_DEVICE_CLOSED')
  })

  it('refuses to act before ready() and rejects nonsense durations', async () => {
    const { clock, gpio } = board()
    const lock = new Lock({ name: 'door', gpio, clock, line: DOOR })
    expect(await code(lock.unlock())).toBe('LK_DEVICE_NOT_READY')
    expect(await code(lock.pulse(100))).toBe('LK_DEVICE_NOT_READY')
    expect([lock.state, clock.pending]).toEqual(['locked', 0])
    await lock.ready()
    for (const ms of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(await code(lock.pulse(ms))).toBe('LK_DEVICE_CONFIG')
    }
    expect(lock.state).toBe('locked')
  })
})

describe('ToolRelay', () => {
  it('fail-secure: requested de-energised, never clicking on during start-up', async () => {
    const { clock, gpio, history } = board()
    const relay = new ToolRelay({ name: 'lathe', gpio, clock, line: TOOL, activeLow: true })
    await relay.ready()
    expect(history(TOOL)).toEqual([{ value: 1, at: 0, op: 'request' }])
    await relay.enable()
    expect(relay.enabled).toBe(true)
    expect(gpio.level(TOOL)).toBe(0)
    await relay.disable()
    expect(gpio.levels(TOOL)).toEqual([1, 0, 1])
  })

  it('fail-safe: requested energised', async () => {
    const { clock, gpio } = board()
    const relay = new ToolRelay({ name: 'extraction', gpio, clock, line: TOOL, fail: 'safe' })
    await relay.ready()
    expect(relay.enabled).toBe(true)
    expect(gpio.levels(TOOL)).toEqual([1])
  })
})

describe('Buzzer and LED patterns', () => {
  it('plays [on, off, on] with exact timing and ends silent', async () => {
    const { clock, gpio, history } = board()
    const buzzer = new Buzzer({ name: 'buzzer', gpio, clock, line: BUZZER })
    await buzzer.ready()
    let done = false
    const playing = buzzer.play([100, 50, 100]).then(() => {
      done = true
    })
    clock.advance(249)
    await Promise.resolve()
    expect(done).toBe(false)
    clock.advance(1)
    await playing
    expect(history(BUZZER).map((h) => [h.value, h.at])).toEqual([
      [0, 0],
      [1, 0],
      [0, 100],
      [1, 150],
      [0, 250],
    ])
    expect(clock.pending).toBe(0)
  })

  it('repeats a pattern without drift and stops on demand', async () => {
    const { clock, gpio, history } = board()
    const buzzer = new Buzzer({ name: 'buzzer', gpio, clock, line: BUZZER })
    await buzzer.ready()
    const playing = buzzer.play(BUZZ.heldOpen, { repeat: Number.POSITIVE_INFINITY })
    clock.advance(2750)
    await buzzer.stop()
    await playing
    expect(buzzer.playing).toBe(false)
    expect(clock.pending).toBe(0)
    expect(history(BUZZER).map((h) => [h.value, h.at])).toEqual([
      [0, 0],
      [1, 0],
      [0, 500],
      [1, 1000],
      [0, 1500],
      [1, 2000],
      [0, 2500],
      [0, 2750],
    ])
  })

  it('a new pattern replaces the one playing', async () => {
    const { clock, gpio } = board()
    const buzzer = new Buzzer({ name: 'buzzer', gpio, clock, line: BUZZER })
    await buzzer.ready()
    const first = buzzer.play([1000])
    clock.advance(10)
    const second = buzzer.play([20, 20, 20])
    await first
    clock.advance(60)
    await second
    expect(gpio.historyOf(BUZZER).map((h) => [h.value, h.at])).toEqual([
      [0, 0],
      [1, 0],
      [1, 10],
      [0, 30],
      [1, 50],
      [0, 70],
    ])
  })

  it('rejects malformed patterns with LK_DEVICE_CONFIG', async () => {
    const { clock, gpio } = board()
    const buzzer = new Buzzer({ name: 'buzzer', gpio, clock, line: BUZZER })
    await buzzer.ready()
    for (const bad of [[], [100, -1], [Number.NaN]]) {
      expect(await code(buzzer.play(bad))).toBe('LK_DEVICE_CONFIG')
    }
  })

  it('an LED blinks until switched off, and close() leaves it dark', async () => {
    const { clock, gpio } = board()
    const led = new Led({ name: 'status', gpio, clock, line: LED })
    await led.ready()
    const blinking = led.blink([100, 100])
    clock.advance(350)
    expect(led.lit).toBe(false)
    clock.advance(100)
    expect(led.lit).toBe(true)
    await led.off()
    await blinking
    expect(gpio.levels(LED)).toEqual([0, 1, 0, 1, 0, 1, 0])
    await led.on()
    await led.close()
    expect(gpio.level(LED)).toBe(0)
    expect(clock.pending).toBe(0)
  })
})

describe('applySafeStates', () => {
  function outputs(gpio: SimGpio, clock: FakeClock, lockOpts: Partial<LockOptions> = {}) {
    return [
      new Lock({ name: 'front-door', gpio, line: DOOR, clock, ...lockOpts }),
      new ToolRelay({ name: 'lathe', gpio, line: TOOL, clock }),
      new Buzzer({ name: 'buzzer', gpio, line: BUZZER, clock }),
      new Led({ name: 'status', gpio, line: LED, clock }),
    ]
  }

  it('at boot, opens every output at its safe level and writes nothing else', async () => {
    const { clock, gpio } = board()
    await applySafeStates(outputs(gpio, clock))
    expect(gpio.history.map((h) => [h.line, h.value, h.op])).toEqual([
      ['pinctrl-bcm2711:17', 0, 'request'],
      ['pinctrl-bcm2711:18', 0, 'request'],
      ['pinctrl-bcm2711:27', 0, 'request'],
      ['pinctrl-bcm2711:22', 0, 'request'],
    ])
  })

  it('while running, stops whatever each output does and returns it to safe (timers too)', async () => {
    const { clock, gpio } = board()
    const [lock, relay, buzzer, led] = outputs(gpio, clock) as [Lock, ToolRelay, Buzzer, Led]
    await applySafeStates([lock, relay, buzzer, led])
    await lock.pulse(5000)
    await relay.enable()
    const playing = buzzer.play(BUZZ.denied)
    const blinking = led.blink([100, 100])
    clock.advance(10)
    await applySafeStates([lock, relay, buzzer, led])
    await Promise.all([playing, blinking])
    expect(clock.pending).toBe(0)
    expect([DOOR, TOOL, BUZZER, LED].map((l) => gpio.level(l))).toEqual([0, 0, 0, 0])
    expect([lock.state, relay.enabled]).toEqual(['locked', false])
  })

  it('one broken output does not keep the others from their safe state; the error names it', async () => {
    const { clock, gpio } = board()
    const all = outputs(gpio, clock)
    await applySafeStates(all)
    const [lock, relay] = all as [Lock, ToolRelay]
    await lock.unlock()
    await relay.enable()
    gpio.fault(DOOR)
    const err = await applySafeStates(all).catch((e) => e)
    expect(err.code).toBe('LK_DEVICE_SAFE_STATE')
    expect(err.details.devices).toEqual(['front-door'])
    expect(gpio.level(TOOL)).toBe(0)
  })

  it('at shutdown, leaves closed outputs in their safe state', async () => {
    const { clock, gpio } = board()
    const all = outputs(gpio, clock, { fail: 'safe' })
    await applySafeStates(all)
    await (all[0] as Lock).lock()
    await Promise.all(all.map((o) => o.close()))
    await applySafeStates(all)
    // The fail-safe lock ends unlocked; everything else off; nothing held.
    expect(gpio.level(DOOR)).toBe(1)
    expect(gpio.held()).toEqual([])
  })
})
