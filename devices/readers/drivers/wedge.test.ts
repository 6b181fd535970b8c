/**
 * Keyboard-wedge driver on a regular file and a FIFO in tmpDir (real time): reading, 16-byte
 * events, device vanishing and coming back, close.
 */
import { execFileSync } from 'node:child_process'
import { appendFileSync, closeSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { tmpDir } from '../../../test/helpers/index.ts'
import type { ReaderHealth } from '../health.ts'
import { createReader } from '../index.ts'
import type { BadgeEvent, BadgeReader } from '../reader.ts'
import { BADGE, wedgeKeys } from '../testing/fixtures.ts'

async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 5))
  }
}

function watch(reader: BadgeReader) {
  const badges: BadgeEvent[] = []
  const states: string[] = []
  reader.on('badge', (e) => badges.push(e))
  reader.on('health', (h: ReaderHealth) => states.push(h.state))
  onTestFinished(() => reader.close())
  return { badges, states }
}

describe('WedgeReader on a file in tmpDir (real time)', () => {
  it('reads typed ids from an event file that grows, like the evdev node does', async () => {
    const path = join(tmpDir(), 'event0')
    writeFileSync(path, wedgeKeys('0004335412', 1_000, 24).subarray(0, 100)) // part of the first struct run
    const reader = createReader({ type: 'wedge', path, eventSize: 24, pollMs: 5 })
    const { badges } = watch(reader)
    await reader.ready()
    expect(reader.health().state).toBe('ok')
    appendFileSync(path, wedgeKeys('0004335412', 1_000, 24).subarray(100))
    await until(() => badges.length === 1)
    expect(badges[0]!.credential).toEqual({ id: BADGE.id, kind: 'em', bits: 32 })
    appendFileSync(path, wedgeKeys('12', 3_000, 24).subarray(0, 24 * 10))
    appendFileSync(path, wedgeKeys('4294967295', 9_000, 24)) // the half id is dropped (keys stopped), not glued
    await until(() => badges.length === 2)
    expect(badges[1]!.credential.id).toBe('em:4294967295')
    expect(reader.health()).toMatchObject({ badFrames: 1, state: 'degraded' })
  })

  it('reads 16-byte events (32-bit boards) from a FIFO', async () => {
    const path = join(tmpDir(), 'fifo')
    execFileSync('mkfifo', [path])
    const reader = createReader({ type: 'wedge', path, eventSize: 16, pollMs: 5, format: 'em-hex' })
    const { badges } = watch(reader)
    await reader.ready()
    const fd = openSync(path, 'w')
    onTestFinished(() => closeSync(fd))
    writeSync(fd, wedgeKeys('1A00422734', 1_000, 16))
    await until(() => badges.length === 1)
    expect(badges[0]!.credential.id).toBe(BADGE.id)
  })

  it('is down while the device node is absent, notices it vanish, and reopens it when it comes back', async () => {
    const path = join(tmpDir(), 'event3')
    const reader = createReader({
      type: 'wedge',
      path,
      eventSize: 24,
      pollMs: 5,
      presenceCheckMs: 20,
      reconnect: { initialMs: 10, maxMs: 40 },
    })
    const { badges, states } = watch(reader)
    await reader.ready()
    expect(reader.health()).toMatchObject({ state: 'down', lastError: { code: 'LK_READER_OPEN_FAILED' } })
    writeFileSync(path, '')
    await until(() => reader.health().state === 'ok')
    rmSync(path) // unplugged
    await until(() => reader.health().state === 'down')
    expect(reader.health().lastError?.code).toBe('LK_READER_LOST')
    writeFileSync(path, wedgeKeys('0004335412', 1_000, 24)) // plugged back in, a badge waiting
    await until(() => badges.length === 1)
    expect(badges[0]!.credential.id).toBe(BADGE.id)
    expect(reader.health()).toMatchObject({ state: 'ok', reconnects: 1 })
    expect(states).toEqual(['ok', 'down', 'ok'])
  })

  it('close() returns promptly and stops polling', async () => {
    const path = join(tmpDir(), 'event4')
    writeFileSync(path, '')
    const reader = createReader({ type: 'wedge', path, eventSize: 24, pollMs: 5 })
    const { badges } = watch(reader)
    await reader.ready()
    await reader.close()
    appendFileSync(path, wedgeKeys('0004335412', 1_000, 24))
    await new Promise((r) => setTimeout(r, 50))
    expect(badges).toEqual([])
    expect(reader.health().state).toBe('down')
  })
})
