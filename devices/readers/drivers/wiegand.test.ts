/**
 * Wiegand driver on the simulated edge source and fake time: gap timer, 26/34 ids, parity errors,
 * edge source down/up.
 */
import { describe, expect, it } from 'vitest'
import { FakeClock } from '../../../runtime/core/clock.ts'
import { readerErrors } from '../../../runtime/core/errors/index.ts'
import { SimEdgeSource } from '../edges/sim.ts'
import type { ReaderHealth } from '../health.ts'
import { createReader } from '../index.ts'
import type { BadgeEvent } from '../reader.ts'
import { BADGE, badgeWiegand, HIGH_BADGE } from '../testing/fixtures.ts'

function setup(type: 'wiegand26' | 'wiegand34') {
  const clock = new FakeClock(0)
  const edges = new SimEdgeSource()
  const reader = createReader(
    { type, chip: 'gpiochip0', d0: 17, d1: 27, degradedMs: 1_000 },
    { clock, edges },
  )
  const badges: BadgeEvent[] = []
  const states: string[] = []
  reader.on('badge', (e) => badges.push(e))
  reader.on('health', (h: ReaderHealth) => states.push(h.state))
  return { clock, edges, reader, badges, states }
}

describe('WiegandReader on a simulated edge source and fake time', () => {
  it('emits the badge 25 ms after the last pulse, as em:<facility * 65536 + card> with bits: 24', async () => {
    const { clock, edges, reader, badges } = setup('wiegand26')
    await reader.ready()
    expect(reader.health().state).toBe('ok')
    edges.send(badgeWiegand(26, BADGE.card), 0)
    clock.advance(24)
    expect(badges).toEqual([])
    clock.advance(1)
    expect(badges.map((b) => b.credential)).toEqual([{ id: BADGE.id, kind: 'em', bits: 24 }])
    await reader.close()
    expect(clock.pending).toBe(0)
  })

  it('Wiegand 34 carries all 32 bits of the card number', async () => {
    const { clock, edges, reader, badges } = setup('wiegand34')
    await reader.ready()
    edges.send(badgeWiegand(34, HIGH_BADGE.card), 0)
    clock.advance(25)
    expect(badges.map((b) => b.credential)).toEqual([{ id: HIGH_BADGE.id, kind: 'em', bits: 32 }])
    await reader.close()
  })

  it('splits two badges sent back to back by their timestamps, and counts parity errors without emitting', async () => {
    const { clock, edges, reader, badges } = setup('wiegand26')
    await reader.ready()
    const bad = badgeWiegand(26, BADGE.card)
    bad[5] = 1 - bad[5]!
    // Three frames delivered in one burst (a busy pipe): only their timestamps separate them.
    let t = edges.send(bad, 0)
    t = edges.send(badgeWiegand(26, BADGE.card), t + 100)
    edges.send(badgeWiegand(26, 0x123456), t + 100)
    clock.advance(25)
    expect(badges.map((b) => b.credential.id)).toEqual([BADGE.id, 'em:1193046'])
    expect(reader.health()).toMatchObject({
      state: 'degraded',
      badFrames: 1,
      lastError: { code: 'LK_READER_BAD_FRAME' },
    })
    await reader.close()
  })

  it('follows its edge source down and back up; the injected source is not closed with the reader', async () => {
    const { edges, reader, states } = setup('wiegand26')
    await reader.ready()
    edges.fail(readerErrors.EDGES_FAILED('gpiomon', 'exited with code 1'))
    expect(reader.health()).toMatchObject({ state: 'down', lastError: { code: 'LK_READER_EDGES_FAILED' } })
    edges.recover()
    expect(reader.health()).toMatchObject({ state: 'ok', reconnects: 1 })
    expect(states).toEqual(['ok', 'down', 'ok'])
    await reader.close()
    expect(edges.closed).toBe(false)
    await edges.close()
  })
})
