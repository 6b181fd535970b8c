/**
 * PN532 driver on the in-memory port and fake time, against the card-side simulator: init
 * sequence, polling, missing ACKs, NACK on a corrupt answer, reconnect.
 */
import { describe, expect, it } from 'vitest'
import { FakeClock } from '../../../runtime/core/clock.ts'
import { PN532_NACK, PN532_WAKEUP, Pn532Command } from '../decoders/pn532.ts'
import type { ReaderHealth } from '../health.ts'
import { createReader } from '../index.ts'
import type { BadgeEvent } from '../reader.ts'
import { MemorySerial } from '../serial/memory.ts'
import { Pn532CardSim } from '../testing/fixtures.ts'
import { flush } from '../testing/flush.ts'

const UID = Uint8Array.of(0x04, 0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6)

function setup(config: Record<string, unknown> = {}) {
  const clock = new FakeClock(0)
  const serial = new MemorySerial()
  const chip = new Pn532CardSim()
  // The chip answers on the next turn of the event loop, like a real port.
  serial.onWrite = (bytes) => {
    const out = chip.feed(bytes)
    if (out.length > 0) setImmediate(() => serial.send(out))
  }
  const reader = createReader(
    {
      type: 'pn532',
      path: '/dev/ttyPN532',
      pollIntervalMs: 100,
      ackTimeoutMs: 50,
      responseTimeoutMs: 200,
      maxFailures: 3,
      debounceMs: 1_000,
      degradedMs: 5_000,
      reconnect: { initialMs: 100, maxMs: 400 },
      ...config,
    },
    { clock, serial },
  )
  const badges: BadgeEvent[] = []
  const states: string[] = []
  reader.on('badge', (e) => badges.push(e))
  reader.on('health', (h: ReaderHealth) => states.push(h.state))
  return { clock, serial, chip, reader, badges, states }
}

async function step(clock: FakeClock, ms: number, by = 10): Promise<void> {
  for (let t = 0; t < ms; t += by) {
    clock.advance(Math.min(by, ms - t))
    await flush()
  }
}

describe('Pn532Reader on an in-memory port and fake time', () => {
  it('wakes the chip, configures the SAM and RF retries, then polls InListPassiveTarget', async () => {
    const { reader, serial, chip, clock, states } = setup()
    await reader.ready()
    await flush()
    const first = serial.written[0]!
    expect(Buffer.from(first.subarray(0, PN532_WAKEUP.length))).toEqual(Buffer.from(PN532_WAKEUP))
    await step(clock, 350)
    expect(chip.commands.slice(0, 3)).toEqual([
      Pn532Command.SAMConfiguration,
      Pn532Command.RFConfiguration,
      Pn532Command.InListPassiveTarget,
    ])
    expect(chip.commands.filter((c) => c === Pn532Command.InListPassiveTarget).length).toBeGreaterThanOrEqual(
      3,
    )
    expect(reader.health()).toMatchObject({ state: 'ok', badFrames: 0 })
    expect(reader.health().lastFrameAt).not.toBeNull()
    expect(states).toEqual(['ok'])
    await reader.close()
    expect(clock.pending).toBe(0)
  })

  it('reports a card in the field once (held card debounced) as uid:<hex>', async () => {
    const { reader, chip, clock, badges } = setup()
    await reader.ready()
    await step(clock, 200)
    chip.uid = UID
    await step(clock, 600) // six polls see the card
    expect(badges.map((b) => b.credential)).toEqual([{ id: 'uid:04a1b2c3d4e5f6', kind: 'uid', bits: 56 }])
    chip.uid = null
    await step(clock, 1_000)
    chip.uid = UID
    await step(clock, 200)
    expect(badges).toHaveLength(2)
    await reader.close()
  })

  it('a chip that stops ACKing is degraded, then down after maxFailures, and is woken again when it answers', async () => {
    const { reader, chip, clock, states } = setup()
    await reader.ready()
    await step(clock, 200)
    expect(reader.health().state).toBe('ok')
    chip.silent = true
    await step(clock, 150) // the next poll is not ACKed within 50 ms
    expect(reader.health()).toMatchObject({ state: 'degraded', lastError: { code: 'LK_READER_NO_ACK' } })
    await step(clock, 500)
    expect(reader.health()).toMatchObject({ state: 'down', lastError: { code: 'LK_READER_NO_ACK' } })
    const before = chip.commands.length
    chip.silent = false
    await step(clock, 1_000)
    // It started over with SAMConfiguration (after the wake-up preamble).
    expect(chip.commands.slice(before)[0]).toBe(Pn532Command.SAMConfiguration)
    expect(reader.health().state).toBe('degraded') // answering again, but the misses are recent
    await step(clock, 5_000)
    expect(reader.health().state).toBe('ok')
    expect(states).toEqual(['ok', 'degraded', 'down', 'degraded', 'ok'])
    await reader.close()
    expect(clock.pending).toBe(0)
  })

  it('asks for a corrupted answer again with a NACK and counts the bad frame', async () => {
    const { reader, serial, chip, clock, badges } = setup()
    await reader.ready()
    await step(clock, 200)
    chip.uid = UID
    chip.corruptNext = true
    await step(clock, 200)
    expect(serial.written.some((w) => Buffer.from(w).equals(Buffer.from(PN532_NACK)))).toBe(true)
    expect(badges.map((b) => b.credential.id)).toEqual(['uid:04a1b2c3d4e5f6'])
    expect(reader.health()).toMatchObject({
      badFrames: 1,
      state: 'degraded',
      lastError: { code: 'LK_READER_BAD_FRAME' },
    })
    await reader.close()
  })

  it('goes down when the port is unplugged and re-initialises the chip after reconnecting', async () => {
    const { reader, serial, chip, clock, badges, states } = setup()
    await reader.ready()
    await step(clock, 200)
    serial.unplug()
    expect(reader.health()).toMatchObject({ state: 'down', lastError: { code: 'LK_READER_LOST' } })
    await step(clock, 1_000)
    serial.plug()
    const before = chip.commands.length
    await step(clock, 600)
    expect(chip.commands[before]).toBe(Pn532Command.SAMConfiguration)
    expect(reader.health()).toMatchObject({ state: 'ok', reconnects: 1 })
    chip.uid = UID
    await step(clock, 200)
    expect(badges).toHaveLength(1)
    expect(states).toEqual(['ok', 'down', 'ok'])
    await reader.close()
    expect(clock.pending).toBe(0)
  })
})
