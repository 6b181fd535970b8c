/**
 * The rule that matters most at the door (DESIGN "one canonical credential number whatever the
 * reader"; esp-rfid #556, #610): one physical EM4100 fob, read by every reader type through its
 * real driver, gives one canonical id.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { FakeClock } from '../../runtime/core/clock.ts'
import { tmpDir } from '../../test/helpers/index.ts'
import { type Credential, sameBadge } from './credential.ts'
import { SimEdgeSource } from './edges/sim.ts'
import { createReader } from './index.ts'
import type { BadgeReader } from './reader.ts'
import { MemorySerial } from './serial/memory.ts'
import { BADGE, badgeWiegand, emFrame, HIGH_BADGE, wedgeKeys } from './testing/fixtures.ts'
import { flush } from './testing/flush.ts'

async function readOnce(reader: BadgeReader, present: () => void | Promise<void>): Promise<Credential> {
  const got: Credential[] = []
  reader.on('badge', (e) => got.push(e.credential))
  await reader.ready()
  try {
    await present()
    const deadline = Date.now() + 3_000
    while (got.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5))
    expect(got).toHaveLength(1)
    return got[0]!
  } finally {
    await reader.close()
  }
}

/** What each reader type reports for a fob with this 40-bit EM4100 id. */
async function readEverywhere(bytes: Uint8Array, card: number): Promise<Record<string, Credential>> {
  const out: Record<string, Credential> = {}
  for (const type of ['rdm6300', 'id12la'] as const) {
    const serial = new MemorySerial()
    out[type] = await readOnce(createReader({ type, path: '/dev/fake' }, { serial }), () =>
      serial.send(emFrame(bytes, { crlf: type === 'id12la' })),
    )
  }
  const serial = new MemorySerial()
  out.line = await readOnce(createReader({ type: 'line', path: '/dev/fake' }, { serial }), () =>
    serial.send(`${String(card).padStart(10, '0')}\r\n`),
  )
  const path = join(tmpDir(), 'event-kbd')
  writeFileSync(path, '')
  out.wedge = await readOnce(createReader({ type: 'wedge', path, eventSize: 24, pollMs: 5 }), () =>
    writeFileSync(path, wedgeKeys(String(card).padStart(10, '0'), 1_000, 24)),
  )
  for (const format of [26, 34] as const) {
    const clock = new FakeClock()
    const edges = new SimEdgeSource()
    const type = format === 26 ? 'wiegand26' : 'wiegand34'
    out[type] = await readOnce(
      createReader({ type, chip: 'gpiochip0', d0: 17, d1: 27 }, { clock, edges }),
      async () => {
        edges.send(badgeWiegand(format, card), 0)
        clock.advance(25)
        await flush(1)
      },
    )
  }
  return out
}

describe('one physical EM4100 badge, every reader type', () => {
  it('maps to the same canonical id on RDM6300, ID-12LA, line, keyboard wedge, Wiegand 26 and Wiegand 34', async () => {
    const ids = await readEverywhere(BADGE.bytes, BADGE.card)
    expect(Object.keys(ids).sort()).toEqual(['id12la', 'line', 'rdm6300', 'wedge', 'wiegand26', 'wiegand34'])
    for (const [type, c] of Object.entries(ids)) expect([type, c.id]).toEqual([type, BADGE.id])
    expect(ids.wiegand26!.bits).toBe(24)
  })

  it('a badge with bits 31..24 set: Wiegand 26 loses them, says so (bits: 24), and still matches by sameBadge()', async () => {
    const ids = await readEverywhere(HIGH_BADGE.bytes, HIGH_BADGE.card)
    for (const type of ['rdm6300', 'id12la', 'line', 'wedge', 'wiegand34'])
      expect(ids[type]!.id).toBe(HIGH_BADGE.id)
    const w26 = ids.wiegand26!
    expect(w26).toEqual({ id: `em:${HIGH_BADGE.card & 0xffffff}`, kind: 'em', bits: 24 })
    for (const c of Object.values(ids)) expect(sameBadge(HIGH_BADGE.id, c)).toBe(true)
  })
})
