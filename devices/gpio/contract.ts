/**
 * The GPIO contract suite (after aedes-persistence's abstract.js): every backend must pass it.
 * `gpioContract(name, setup)` registers the tests; `setup` runs inside each test (so helpers
 * that register their own teardown work) and returns a fresh backend plus a view of the board
 * from outside: drive an input, list the levels an output was set to, list held lines.
 * Lines used: pinctrl-bcm2711 (gpiochip0) offsets 17, 18, 22, 23 (named GPIO23), 24.
 */
import { describe, expect, it, onTestFinished } from 'vitest'
import type { Clock } from '../../runtime/core/clock.ts'
import type { GpioDriver, Level, LineEvent, LineRef } from './types.ts'

export interface GpioHarness {
  driver: GpioDriver
  /** The clock the driver stamps events with. */
  clock: Clock
  /** Puts a physical level on a line from outside the board. */
  drive(line: LineRef, level: Level): void
  /** The physical levels an output line was requested and written at, in order. */
  levels(line: LineRef): Level[]
  /** Lines the board sees as requested, as `chip-label:offset`. */
  held(): string[]
  /** What the backend supports (addressing by name, pull resistors). */
  can: { byName: boolean; bias: boolean }
}

const CHIP = 'pinctrl-bcm2711'
const OUT: LineRef = { chip: CHIP, offset: 17 }
const OUT2: LineRef = { chip: CHIP, offset: 18 }
const IN: LineRef = { chip: CHIP, offset: 22 }
const NAMED: LineRef = { chip: CHIP, offset: 23 }
const IN2: LineRef = { chip: CHIP, offset: 24 }

/** Waits (real time) until `check` passes: real backends report through processes. */
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

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (err) {
    return (err as { code?: string }).code ?? String(err)
  }
  return 'resolved'
}

export function gpioContract(name: string, setup: () => GpioHarness | Promise<GpioHarness>): void {
  async function open(): Promise<GpioHarness> {
    const h = await setup()
    onTestFinished(() => h.driver.close())
    await h.driver.ready()
    return h
  }

  function watch(h: GpioHarness, line: LineRef, extra: { activeLow?: boolean } = {}) {
    const events: LineEvent[] = []
    const opened = h.driver.openInput({ line, ...extra, onChange: (e) => events.push(e) })
    return { events, opened }
  }

  describe(`GPIO contract: ${name}`, () => {
    it('ready() and close() are idempotent; a closed backend refuses requests', async () => {
      const h = await setup()
      await Promise.all([h.driver.ready(), h.driver.ready()])
      await Promise.all([h.driver.close(), h.driver.close()])
      await h.driver.close()
      expect(await code(h.driver.openOutput({ line: OUT, initial: 0 }))).toBe('LK_GPIO_CLOSED')
    })

    it('an output is requested at its initial value, never the opposite first', async () => {
      const h = await open()
      const high = await h.driver.openOutput({ line: OUT, initial: 1 })
      const low = await h.driver.openOutput({ line: OUT2, initial: 0 })
      expect(h.levels(OUT)).toEqual([1])
      expect(h.levels(OUT2)).toEqual([0])
      expect(await high.read()).toBe(1)
      expect(await low.read()).toBe(0)
      expect(h.held()).toEqual([`${CHIP}:17`, `${CHIP}:18`])
    })

    it('write() drives the line, read() returns it, and writes apply in call order', async () => {
      const h = await open()
      const out = await h.driver.openOutput({ line: OUT, initial: 1 })
      await Promise.all([out.write(0), out.write(1), out.write(0), out.write(1)])
      expect(h.levels(OUT)).toEqual([1, 0, 1, 0, 1])
      expect(await out.read()).toBe(1)
      await out.write(0)
      expect(await out.read()).toBe(0)
    })

    it('activeLow inverts from the request on: logical 1 is a low pin', async () => {
      const h = await open()
      const out = await h.driver.openOutput({ line: OUT, initial: 1, activeLow: true })
      expect(h.levels(OUT)).toEqual([0])
      await out.write(0)
      expect(h.levels(OUT)).toEqual([0, 1])
      expect(await out.read()).toBe(0)
    })

    it('a line is requested once: a second request fails with LK_GPIO_LINE_BUSY', async () => {
      const h = await open()
      await h.driver.openOutput({ line: NAMED, initial: 0 })
      expect(await code(h.driver.openOutput({ line: NAMED, initial: 1 }))).toBe('LK_GPIO_LINE_BUSY')
      expect(await code(h.driver.openInput({ line: NAMED, onChange: () => {} }))).toBe('LK_GPIO_LINE_BUSY')
      if (h.can.byName) {
        expect(await code(h.driver.openInput({ line: { name: 'GPIO23' }, onChange: () => {} }))).toBe(
          'LK_GPIO_LINE_BUSY',
        )
      }
      // The refused requests changed nothing.
      expect(h.levels(NAMED)).toEqual([0])
    })

    it('unknown chips and lines fail with stable codes', async () => {
      const h = await open()
      expect(await code(h.driver.openOutput({ line: { chip: 'no-such-chip', offset: 1 }, initial: 0 }))).toBe(
        'LK_GPIO_CHIP_NOT_FOUND',
      )
      expect(await code(h.driver.openOutput({ line: { chip: CHIP, offset: 99 }, initial: 0 }))).toBe(
        'LK_GPIO_LINE_NOT_FOUND',
      )
      expect(await code(h.driver.resolve({ name: 'NO_SUCH_LINE' }))).toBe(
        h.can.byName ? 'LK_GPIO_LINE_NOT_FOUND' : 'LK_GPIO_UNSUPPORTED',
      )
      expect(h.held()).toEqual([])
    })

    it('a line by name is the line at its chip and offset (or refused where names are unknown)', async () => {
      const h = await open()
      if (!h.can.byName) {
        expect(await code(h.driver.openOutput({ line: { name: 'GPIO23' }, initial: 1 }))).toBe(
          'LK_GPIO_UNSUPPORTED',
        )
        expect(h.levels(NAMED)).toEqual([])
        return
      }
      const byName = await h.driver.resolve({ name: 'GPIO23' })
      expect(byName).toEqual(await h.driver.resolve(NAMED))
      expect(byName).toMatchObject({ chip: CHIP, offset: 23, name: 'GPIO23' })
      const out = await h.driver.openOutput({ line: { name: 'GPIO23' }, initial: 1 })
      expect(out.info.offset).toBe(23)
      expect(h.levels(NAMED)).toEqual([1])
    })

    it('an input reads the pin and reports each change once, stamped by the clock', async () => {
      const h = await open()
      h.drive(IN, 1)
      const { events, opened } = watch(h, IN)
      const input = await opened
      expect(await input.read()).toBe(1)
      const before = h.clock.now()
      h.drive(IN, 0)
      await until(() => expect(events).toHaveLength(1))
      h.drive(IN, 0) // no edge: the same level again
      h.drive(IN, 1)
      await until(() => expect(events).toHaveLength(2))
      const after = h.clock.now()
      expect(events.map((e) => e.value)).toEqual([0, 1])
      for (const e of events) {
        expect(e.at).toBeGreaterThanOrEqual(before)
        expect(e.at).toBeLessThanOrEqual(after)
      }
      expect(await input.read()).toBe(1)
    })

    it('activeLow inverts an input: a high pin reads 0', async () => {
      const h = await open()
      h.drive(IN, 1)
      const { events, opened } = watch(h, IN, { activeLow: true })
      const input = await opened
      expect(await input.read()).toBe(0)
      h.drive(IN, 0)
      await until(() => expect(events.map((e) => e.value)).toEqual([1]))
      expect(await input.read()).toBe(1)
    })

    it('pull-up bias: an input nobody drives reads 1 (where the backend can set pulls)', async () => {
      const h = await open()
      const input = await h.driver.openInput({ line: IN2, bias: 'pull-up', onChange: () => {} })
      // Without pull control (sysfs) the request still succeeds and reads the pin as it is.
      expect(await input.read()).toBe(h.can.bias ? 1 : 0)
    })

    it('closing a line releases it: no more events, writes fail, it can be requested again', async () => {
      const h = await open()
      const out = await h.driver.openOutput({ line: OUT, initial: 0 })
      const { events, opened } = watch(h, IN)
      const input = await opened
      await Promise.all([out.close(), out.close(), input.close()])
      expect(await code(out.write(1))).toBe('LK_GPIO_LINE_CLOSED')
      expect(await code(input.read())).toBe('LK_GPIO_LINE_CLOSED')
      expect(h.held()).toEqual([])
      h.drive(IN, 1)
      const again = await h.driver.openInput({ line: IN, onChange: () => {} })
      expect(await again.read()).toBe(1)
      expect(events).toEqual([])
      const out2 = await h.driver.openOutput({ line: OUT, initial: 1 })
      expect(await out2.read()).toBe(1)
      expect(h.levels(OUT)).toEqual([0, 1])
    })

    it('close() releases every line and leaves nothing running', async () => {
      const h = await open()
      const out = await h.driver.openOutput({ line: OUT, initial: 1 })
      const input = await h.driver.openInput({ line: IN, onChange: () => {} })
      expect(h.held()).toHaveLength(2)
      await h.driver.close()
      expect(h.held()).toEqual([])
      expect(await code(out.write(0))).toBe('LK_GPIO_LINE_CLOSED')
      expect(await code(input.read())).toBe('LK_GPIO_LINE_CLOSED')
      expect(await code(h.driver.openInput({ line: IN, onChange: () => {} }))).toBe('LK_GPIO_CLOSED')
    })
  })
}
