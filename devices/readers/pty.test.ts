/**
 * The real serial path: drivers open one end of a socat pseudo-terminal pair with the real
 * serialport package; the test plays the reader on the other end. Unplug/replug = ending socat
 * and starting a new one on the same link paths. Every wait is bounded.
 */
import { rmSync } from 'node:fs'
import { SerialPort } from 'serialport'
import { describe, expect, it, onTestFinished } from 'vitest'
import { hasTool, tmpDir } from '../../test/helpers/index.ts'
import type { ReaderHealth } from './health.ts'
import { createReader } from './index.ts'
import type { BadgeEvent, BadgeReader } from './reader.ts'
import { BADGE, concat, emFrame, HIGH_BADGE, Pn532CardSim } from './testing/fixtures.ts'
import { startPty } from './testing/pty.ts'

// Needs socat: skipped only on a developer machine without it. In CI (CI=true) hasTool()
// throws when the tool is missing, so these tests always run there (.ci/run installs it).
const socat = hasTool('socat')

async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

/** The device end: a second SerialPort on `b`, closed when the test ends. */
async function device(path: string, baudRate: number, onData?: (chunk: Buffer, port: Device) => void) {
  const port = new SerialPort({ path, baudRate, autoOpen: false })
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())))
  port.on('error', () => {}) // the pty vanishing under it is the point of some tests
  const dev = {
    write: (bytes: Uint8Array) =>
      new Promise<void>((resolve, reject) =>
        port.write(Buffer.from(bytes), (err) => (err ? reject(err) : port.drain(() => resolve()))),
      ),
  }
  if (onData) port.on('data', (chunk: Buffer) => onData(chunk, dev))
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        if (port.isOpen) port.close(() => resolve())
        else resolve()
      }),
  )
  return dev
}
type Device = Awaited<ReturnType<typeof device>>

function watch(reader: BadgeReader) {
  const badges: BadgeEvent[] = []
  const states: string[] = []
  reader.on('badge', (e) => badges.push(e))
  reader.on('health', (h: ReaderHealth) => states.push(h.state))
  onTestFinished(() => reader.close())
  return { badges, states }
}

describe.skipIf(!socat)('serial readers over a socat pty pair (real serialport)', () => {
  it('RDM6300: decodes frames cut into chunks after noise; unplug → down; replug → reconnects, next badge decoded', {
    timeout: 30_000,
  }, async () => {
    const pty = await startPty(tmpDir())
    const reader = createReader({ type: 'rdm6300', path: pty.a, reconnect: { initialMs: 50, maxMs: 200 } })
    const { badges, states } = watch(reader)
    await reader.ready()
    expect(reader.health().state).toBe('ok')

    let dev = await device(pty.b, 9600)
    const stream = concat(
      Uint8Array.of(0x55, 0xaa),
      emFrame(BADGE.bytes),
      emFrame(BADGE.bytes, { badChecksum: true }),
    )
    await dev.write(stream.subarray(0, 6))
    await new Promise((r) => setTimeout(r, 20))
    await dev.write(stream.subarray(6))
    await until('the first badge', () => badges.length === 1)
    expect(badges[0]!.credential).toEqual({ id: BADGE.id, kind: 'em', bits: 32 })
    await until('two bad frames counted', () => reader.health().badFrames === 2)

    await pty.unplug()
    await until('health down', () => reader.health().state === 'down')
    expect(reader.health().lastError?.code).toBe('LK_READER_LOST')

    await pty.replug()
    await until('health back up', () => reader.health().state !== 'down')
    expect(reader.health().reconnects).toBe(1)
    dev = await device(pty.b, 9600)
    await dev.write(emFrame(HIGH_BADGE.bytes, { crlf: true })) // an ID-12LA-style frame decodes too
    await until('the badge after replug', () => badges.length === 2)
    expect(badges[1]!.credential.id).toBe(HIGH_BADGE.id)
    expect(states).toEqual(['ok', 'degraded', 'down', 'degraded'])
  })

  it('a device path that vanishes while the port stays open (no hang-up seen) → down, LK_READER_LOST', {
    timeout: 10_000,
  }, async () => {
    const pty = await startPty(tmpDir())
    const reader = createReader({ type: 'rdm6300', path: pty.a, reconnect: { initialMs: 50, maxMs: 200 } })
    watch(reader)
    await reader.ready()
    expect(reader.health().state).toBe('ok')
    rmSync(pty.a) // the link goes, socat and its pty stay: the port itself sees nothing
    await until('health down', () => reader.health().state === 'down')
    expect(reader.health().lastError?.code).toBe('LK_READER_LOST')
    expect(reader.health().lastError?.message).toMatch(/device path vanished/)
  })

  it('line reader: one id per line; unplug and replug', { timeout: 10_000 }, async () => {
    const pty = await startPty(tmpDir())
    const reader = createReader({
      type: 'line',
      path: pty.a,
      baudRate: 115200,
      debounceMs: 0,
      reconnect: { initialMs: 50, maxMs: 200 },
    })
    const { badges } = watch(reader)
    await reader.ready()
    let dev = await device(pty.b, 115200)
    await dev.write(Buffer.from('\x13\x37 noise\r\n00043'))
    await dev.write(Buffer.from('35412\r\n'))
    await until('the first badge', () => badges.length === 1)
    expect(badges[0]!.credential.id).toBe(BADGE.id)
    expect(reader.health().badFrames).toBe(1)

    await pty.unplug()
    await until('health down', () => reader.health().state === 'down')
    await pty.replug()
    await until('health back up', () => reader.health().state !== 'down')
    dev = await device(pty.b, 115200)
    await dev.write(Buffer.from('0004335412\n'))
    await until('the badge after replug', () => badges.length === 2)
    expect(badges[1]!.credential.id).toBe(BADGE.id)
    expect(reader.health().reconnects).toBe(1)
  })

  it('PN532: answers the init and polls as the card side; a silent chip goes down and recovers; unplug and replug', {
    timeout: 30_000,
  }, async () => {
    const pty = await startPty(tmpDir())
    const reader = createReader({
      type: 'pn532',
      path: pty.a,
      pollIntervalMs: 30,
      ackTimeoutMs: 60,
      responseTimeoutMs: 200,
      maxFailures: 3,
      debounceMs: 0,
      degradedMs: 200,
      reconnect: { initialMs: 50, maxMs: 200 },
    })
    const { badges } = watch(reader)
    let chip = new Pn532CardSim()
    const card = (sim: Pn532CardSim) => (chunk: Buffer, dev: Device) => {
      const out = sim.feed(chunk)
      if (out.length > 0) void dev.write(out).catch(() => {})
    }
    await device(pty.b, 115200, card(chip))
    await reader.ready()
    await until('the chip initialised', () => reader.health().state === 'ok')
    await until('the first poll', () => chip.commands.length >= 3)
    expect(chip.commands.slice(0, 3)).toEqual([0x14, 0x32, 0x4a])

    chip.uid = Uint8Array.of(0xde, 0xad, 0xbe, 0xef)
    await until('the card', () => badges.length > 0)
    expect(badges[0]!.credential).toEqual({ id: 'uid:deadbeef', kind: 'uid', bits: 32 })
    chip.uid = null

    chip.silent = true // the PN532 stops answering
    await until('health down (no ACK)', () => reader.health().state === 'down')
    expect(reader.health().lastError?.code).toBe('LK_READER_NO_ACK')
    chip.silent = false
    await until('the chip answering again', () => reader.health().state === 'ok')

    await pty.unplug()
    await until('health down (unplugged)', () => reader.health().state === 'down')
    expect(reader.health().lastError?.code).toBe('LK_READER_LOST')
    await pty.replug()
    chip = new Pn532CardSim()
    chip.uid = Uint8Array.of(0x04, 0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6)
    await device(pty.b, 115200, card(chip))
    await until('the 7-byte card after replug', () =>
      badges.some((b) => b.credential.id === 'uid:04a1b2c3d4e5f6'),
    )
    expect(chip.commands[0]).toBe(0x14) // woken and configured again
    expect(reader.health()).toMatchObject({ reconnects: 1 })
    expect(reader.health().state).not.toBe('down')
  })
})
