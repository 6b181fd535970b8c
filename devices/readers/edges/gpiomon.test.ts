/**
 * gpiomon output parsing (v1/v2, default and our formats) and the gpiomon edge source against fake
 * gpiomon scripts (real processes).
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { tmpDir } from '../../../test/helpers/index.ts'
import type { ReaderHealth } from '../health.ts'
import { createReader } from '../index.ts'
import type { BadgeEvent } from '../reader.ts'
import { BADGE, badgeWiegand } from '../testing/fixtures.ts'
import {
  GpiomonEdgeSource,
  type GpiomonVersion,
  gpiomonArgs,
  lineOf,
  parseGpiomonLine,
  parseGpiomonVersion,
} from './gpiomon.ts'

describe('gpiomon output parsing', () => {
  it('reads both versions’ default output', () => {
    expect(parseGpiomonLine('event:  RISING EDGE offset: 17 timestamp: [   12345.678901234]')).toEqual({
      offset: 17,
      name: null,
      edge: 'rising',
      at: 12345678.901234,
    })
    expect(
      parseGpiomonLine('event: FALLING EDGE offset: 27 timestamp: [1700000000.000000001]'),
    ).toMatchObject({
      offset: 27,
      edge: 'falling',
    })
    expect(parseGpiomonLine('12345.678901234\trising\tgpiochip0 17')).toEqual({
      offset: 17,
      name: null,
      edge: 'rising',
      at: 12345678.901234,
    })
    expect(parseGpiomonLine('12345.000000500\tfalling\t"GPIO17"')).toEqual({
      offset: null,
      name: 'GPIO17',
      edge: 'falling',
      at: 12345000.0005,
    })
  })

  it('reads the formats we ask for (v1: %o %e %s %n, nanoseconds unpadded; v2: %o %E %S %l)', () => {
    expect(parseGpiomonLine('17 0 12345 5000')).toEqual({
      offset: 17,
      name: null,
      edge: 'falling',
      at: 12345000.005,
    })
    expect(parseGpiomonLine('17 1 12345 678901234')?.edge).toBe('rising')
    expect(parseGpiomonLine('27 falling 12345.000005000 GPIO27')).toEqual({
      offset: 27,
      name: 'GPIO27',
      edge: 'falling',
      at: 12345000.005,
    })
    expect(parseGpiomonLine('27 falling 12345.000005000 unnamed')?.name).toBeNull()
    expect(parseGpiomonLine('Monitoring lines 17 and 27...')).toBeNull()
    expect(parseGpiomonLine('')).toBeNull()
  })

  it('maps events to D0/D1 by offset or by line name', () => {
    const ev = parseGpiomonLine('27 falling 1.000000000 GPIO27')!
    expect(lineOf(ev, 17, 27)).toBe('d1')
    expect(lineOf(ev, 'GPIO27', 'GPIO22')).toBe('d0')
    expect(lineOf(ev, 5, 6)).toBeNull()
  })

  it('builds each version’s command line and reads its version string', () => {
    expect(gpiomonArgs(1, 'gpiochip0', 17, 27)).toEqual([
      '--falling-edge',
      '--line-buffered',
      '--format=%o %e %s %n',
      'gpiochip0',
      '17',
      '27',
    ])
    expect(gpiomonArgs(2, 'pinctrl-rp1', 'GPIO17', 'GPIO27')).toEqual([
      '--chip',
      'pinctrl-rp1',
      '--edges',
      'falling',
      '--format=%o %E %S %l',
      'GPIO17',
      'GPIO27',
    ])
    expect(
      parseGpiomonVersion('gpiomon (libgpiod) v1.6.3\nCopyright (C) 2017-2018 Bartosz Golaszewski'),
    ).toBe(1)
    expect(parseGpiomonVersion('gpiomon (libgpiod) v2.1.3')).toBe(2)
    expect(parseGpiomonVersion('gpiomon (libgpiod) v3.0')).toBeNull()
  })
})

/** The event lines a v1 or v2 gpiomon prints for a Wiegand frame, 2 ms per bit. */
function eventLines(version: GpiomonVersion, bits: number[], startSec: number): string {
  return bits
    .map((b, i) => {
      const offset = b ? 27 : 17
      const ns = i * 2_000_000
      if (version === 1) {
        // Both edges reported would be filtered; the falling edge is what counts.
        return `${offset} 0 ${startSec} ${ns}`
      }
      return `${offset} falling ${startSec}.${String(ns).padStart(9, '0')} GPIO${offset}`
    })
    .join('\n')
}

/** A fake gpiomon: answers --version, records its arguments, prints events, maybe exits once. */
function fakeGpiomon(
  dir: string,
  version: GpiomonVersion,
  events: string,
  opts: { exitOnce?: boolean } = {},
): string {
  const tool = join(dir, 'gpiomon')
  writeFileSync(join(dir, 'events'), `${events}\n`)
  if (opts.exitOnce) writeFileSync(join(dir, 'exit-once'), '')
  writeFileSync(
    tool,
    [
      '#!/bin/sh',
      `if [ "$1" = "--version" ]; then echo "gpiomon (libgpiod) v${version === 1 ? '1.6.3' : '2.1.3'}"; exit 0; fi`,
      `printf '%s\\n' "$@" > '${dir}/args'`,
      `cat '${dir}/events'`,
      `if [ -e '${dir}/exit-once' ]; then rm '${dir}/exit-once'; echo 'gpiomon: unable to request lines' >&2; exit 1; fi`,
      'exec sleep 30',
      '',
    ].join('\n'),
  )
  chmodSync(tool, 0o755)
  return tool
}

async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 10))
  }
}

describe('GpiomonEdgeSource with a fake gpiomon (real process, real time)', () => {
  for (const version of [1, 2] as const) {
    it(`v${version}: detects the version, passes its command line, and a Wiegand 26 reader decodes the badge`, async () => {
      const dir = tmpDir()
      const tool = fakeGpiomon(dir, version, eventLines(version, badgeWiegand(26, BADGE.card), 5000))
      const reader = createReader({ type: 'wiegand26', chip: 'gpiochip0', d0: 17, d1: 27, gpiomon: tool })
      const badges: BadgeEvent[] = []
      reader.on('badge', (e) => badges.push(e))
      try {
        await reader.ready()
        await until(() => badges.length > 0)
        expect(badges.map((b) => b.credential)).toEqual([{ id: BADGE.id, kind: 'em', bits: 24 }])
        const args = readFileSync(join(dir, 'args'), 'utf8').trim().split('\n')
        expect(args).toEqual(gpiomonArgs(version, 'gpiochip0', 17, 27))
        expect(reader.health().state).toBe('ok')
      } finally {
        await reader.close()
      }
    })
  }

  it('restarts gpiomon when it exits, reporting down then ok', async () => {
    const dir = tmpDir()
    const tool = fakeGpiomon(dir, 2, eventLines(2, badgeWiegand(26, BADGE.card), 7000), { exitOnce: true })
    const reader = createReader({
      type: 'wiegand26',
      chip: 'gpiochip0',
      d0: 17,
      d1: 27,
      gpiomon: tool,
      gpiomonVersion: 2,
      debounceMs: 0,
      reconnect: { initialMs: 50, maxMs: 50 },
    })
    const states: string[] = []
    const errors: string[] = []
    reader.on('health', (h: ReaderHealth) => {
      states.push(h.state)
      if (h.lastError) errors.push(h.lastError.message)
    })
    try {
      await reader.ready()
      await until(() => states.length >= 3)
      expect(states.slice(0, 3)).toEqual(['ok', 'down', 'ok'])
      expect(errors[0]).toContain('unable to request lines')
      expect(reader.health()).toMatchObject({ state: 'ok', reconnects: 1 })
      expect(existsSync(join(dir, 'exit-once'))).toBe(false)
    } finally {
      await reader.close()
    }
  })

  it('a missing gpiomon fails ready() with LK_READER_EDGES_FAILED; v1 refuses line names', async () => {
    const missing = new GpiomonEdgeSource({ tool: join(tmpDir(), 'nope'), chip: 'gpiochip0', d0: 17, d1: 27 })
    await expect(missing.ready()).rejects.toMatchObject({ code: 'LK_READER_EDGES_FAILED' })
    await missing.close()
    const dir = tmpDir()
    const v1 = new GpiomonEdgeSource({
      tool: fakeGpiomon(dir, 1, ''),
      chip: 'gpiochip0',
      d0: 'GPIO17',
      d1: 'GPIO27',
    })
    await expect(v1.ready()).rejects.toMatchObject({ code: 'LK_READER_EDGES_FAILED' })
    await v1.close()
  })

  it('close() ends the gpiomon process', async () => {
    const dir = tmpDir()
    const source = new GpiomonEdgeSource({ tool: fakeGpiomon(dir, 2, ''), chip: 'gpiochip0', d0: 17, d1: 27 })
    let up = 0
    source.subscribe({ edge: () => {}, up: () => up++ })
    await source.ready()
    expect(up).toBe(1)
    await until(() => existsSync(join(dir, 'args')))
    const t0 = Date.now()
    await source.close()
    await source.close()
    expect(Date.now() - t0).toBeLessThan(1_000) // SIGTERM was enough, no SIGKILL wait
  })
})
