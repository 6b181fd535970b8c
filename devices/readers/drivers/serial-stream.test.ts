/**
 * RDM6300 / line readers on the in-memory port and fake time: chunked frames, debounce, garbage
 * and health, unplug with backoff, close.
 */
import { describe, expect, it } from 'vitest'
import { FakeClock } from '../../../runtime/core/clock.ts'
import { createLogger } from '../../../runtime/core/log.ts'
import type { ReaderHealth } from '../health.ts'
import { createReader } from '../index.ts'
import type { BadgeEvent, BadgeReader } from '../reader.ts'
import { MemorySerial } from '../serial/memory.ts'
import { BADGE, emFrame, HIGH_BADGE } from '../testing/fixtures.ts'
import { flush } from '../testing/flush.ts'

function setup(config: Record<string, unknown> = {}) {
  const clock = new FakeClock(1_000)
  const serial = new MemorySerial()
  const reader = createReader(
    { type: 'rdm6300', path: '/dev/ttyFAKE', reconnect: { initialMs: 100, maxMs: 400 }, ...config },
    { clock, serial },
  )
  const badges: BadgeEvent[] = []
  const states: string[] = []
  reader.on('badge', (e) => badges.push(e))
  reader.on('health', (h: ReaderHealth) => states.push(h.state))
  return { clock, serial, reader, badges, states }
}

async function step(clock: FakeClock, ms: number): Promise<void> {
  clock.advance(ms)
  await flush()
}

async function closeAndCheck(reader: BadgeReader, clock: FakeClock): Promise<void> {
  await reader.close()
  await reader.close()
  expect(clock.pending).toBe(0)
}

describe('SerialStreamReader (RDM6300 / ID-12LA / line) on an in-memory port and fake time', () => {
  it('does no I/O before ready(); ready() opens the port and reports ok', async () => {
    const { serial, reader, clock, states } = setup()
    expect(serial.opens).toBe(0)
    expect(reader.health().state).toBe('down')
    await Promise.all([reader.ready(), reader.ready()])
    expect(serial.opens).toBe(1)
    expect(reader.health()).toMatchObject({ state: 'ok', badFrames: 0, reconnects: 0, lastError: null })
    expect(states).toEqual(['ok'])
    await closeAndCheck(reader, clock)
  })

  it('turns a frame split across chunks into one badge event with the canonical id', async () => {
    const { serial, reader, clock, badges } = setup()
    await reader.ready()
    const f = emFrame(BADGE.bytes)
    serial.send(f.subarray(0, 5))
    expect(badges).toEqual([])
    serial.send(f.subarray(5))
    expect(badges).toEqual([
      { credential: { id: BADGE.id, kind: 'em', bits: 32 }, reader: 'rdm6300:/dev/ttyFAKE', at: 1_000 },
    ])
    expect(reader.health().lastFrameAt).toBe(1_000)
    await closeAndCheck(reader, clock)
  })

  it('debounces a badge held at the reader: one event while the frames keep coming, another after a pause', async () => {
    const { serial, reader, clock, badges } = setup({ debounceMs: 500 })
    await reader.ready()
    for (let i = 0; i < 20; i++) {
      serial.send(emFrame(BADGE.bytes)) // RDM6300 repeats the frame while the badge is in the field
      await step(clock, 100)
    }
    expect(badges).toHaveLength(1)
    serial.send(emFrame(HIGH_BADGE.bytes)) // another badge is another event at once
    expect(badges.map((b) => b.credential.id)).toEqual([BADGE.id, HIGH_BADGE.id])
    await step(clock, 500)
    serial.send(emFrame(BADGE.bytes))
    expect(badges.map((b) => b.credential.id)).toEqual([BADGE.id, HIGH_BADGE.id, BADGE.id])
    await closeAndCheck(reader, clock)
  })

  it('counts garbage, is degraded for degradedMs after it, and never emits a badge for a bad frame', async () => {
    const { serial, reader, clock, badges, states } = setup({ degradedMs: 10_000 })
    await reader.ready()
    serial.send(emFrame(BADGE.bytes, { badChecksum: true }))
    serial.send('\xff\xfe\x13')
    serial.send(emFrame(BADGE.bytes))
    expect(badges.map((b) => b.credential.id)).toEqual([BADGE.id])
    const h = reader.health()
    expect(h).toMatchObject({ state: 'degraded', badFrames: 2 })
    expect(h.lastError?.code).toBe('LK_READER_BAD_FRAME')
    await step(clock, 9_999)
    expect(reader.health().state).toBe('degraded')
    await step(clock, 1)
    expect(reader.health().state).toBe('ok')
    expect(states).toEqual(['ok', 'degraded', 'ok'])
    await closeAndCheck(reader, clock)
  })

  it('goes down when unplugged, retries with backoff, and comes back with reconnects counted', async () => {
    const { serial, reader, clock, badges, states } = setup()
    await reader.ready()
    serial.send(emFrame(BADGE.bytes).subarray(0, 7)) // half a frame when the cable goes
    serial.unplug()
    expect(reader.health()).toMatchObject({ state: 'down', lastError: { code: 'LK_READER_LOST' } })
    // Backoff: 100, 200, 400, 400 ms between attempts.
    for (const ms of [100, 200, 400, 400]) {
      const before = serial.attempts
      await step(clock, ms - 1)
      expect(serial.attempts).toBe(before)
      await step(clock, 1)
      expect(serial.attempts).toBe(before + 1)
      expect(reader.health().lastError?.code).toBe('LK_READER_OPEN_FAILED')
    }
    serial.plug()
    await step(clock, 400)
    expect(reader.health()).toMatchObject({ state: 'ok', reconnects: 1 })
    expect(states).toEqual(['ok', 'down', 'ok'])
    serial.send(emFrame(BADGE.bytes)) // the half frame from before the unplug was forgotten
    expect(badges.map((b) => b.credential.id)).toEqual([BADGE.id])
    expect(reader.health().badFrames).toBe(0)
    await closeAndCheck(reader, clock)
  })

  it('starts with the device absent: ready() resolves, health is down, it opens when the device appears', async () => {
    const { serial, reader, clock } = setup()
    serial.plugged = false
    await reader.ready()
    expect(reader.health()).toMatchObject({ state: 'down', lastError: { code: 'LK_READER_OPEN_FAILED' } })
    serial.plug()
    await step(clock, 100)
    expect(reader.health()).toMatchObject({ state: 'ok', reconnects: 0 })
    await closeAndCheck(reader, clock)
  })

  it('close() while a retry is pending cancels it; no open happens afterwards', async () => {
    const { serial, reader, clock } = setup()
    serial.plugged = false
    await reader.ready()
    await reader.close()
    expect(clock.pending).toBe(0)
    serial.plug()
    await step(clock, 10_000)
    expect(serial.attempts).toBe(1)
    expect(serial.opens).toBe(0)
  })

  it('line readers map each line through the configured format', async () => {
    const { serial, reader, clock, badges } = setup({ type: 'line', format: 'fc-card' })
    await reader.ready()
    serial.send('066,100')
    serial.send('36\r\n0004335412\r\n')
    expect(badges.map((b) => b.credential)).toEqual([{ id: BADGE.id, kind: 'em', bits: 24 }])
    expect(reader.health()).toMatchObject({ badFrames: 1, state: 'degraded' })
    await closeAndCheck(reader, clock)
  })

  it('logs health changes and bad frames as JSON lines with their codes', async () => {
    const lines: Record<string, unknown>[] = []
    const log = createLogger({
      level: 'info',
      destination: { write: (l: string) => lines.push(JSON.parse(l)) },
    })
    const clock = new FakeClock()
    const serial = new MemorySerial()
    const reader = createReader(
      { type: 'rdm6300', path: '/dev/ttyFAKE', name: 'front' },
      { clock, serial, log },
    )
    await reader.ready()
    serial.send(emFrame(BADGE.bytes, { badChecksum: true }))
    serial.unplug()
    await reader.close()
    const seen = lines.map((l) => [l.level, l.reader, l.code ?? null, l.msg])
    expect(seen).toContainEqual(['info', 'front', null, 'reader ok'])
    expect(seen.find((l) => l[2] === 'LK_READER_BAD_FRAME')?.[0]).toBe('warn')
    expect(seen.find((l) => l[2] === 'LK_READER_LOST')?.[0]).toBe('warn')
    expect(lines.every((l) => l.component === 'reader')).toBe(true)
  })
})
