/**
 * Every badge reader driver against the reader contract (contract.ts): serial-stream (RDM6300,
 * ID-12LA, line) and PN532 on the in-memory port and fake time, Wiegand 26/34 on the simulated
 * edge source, the keyboard wedge on a file in tmpDir, and RDM6300 over a socat pty pair.
 */
import { appendFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { SerialPort } from 'serialport'
import { onTestFinished } from 'vitest'
import { FakeClock } from '../../runtime/core/clock.ts'
import { readerErrors } from '../../runtime/core/errors/index.ts'
import { hasTool, tmpDir } from '../../test/helpers/index.ts'
import { readerContract } from './contract.ts'
import { type Credential, parseCredentialText } from './credential.ts'
import { SimEdgeSource } from './edges/sim.ts'
import { createReader } from './index.ts'
import { MemorySerial } from './serial/memory.ts'
import { BADGE, badgeWiegand, concat, emFrame, Pn532CardSim, wedgeKeys } from './testing/fixtures.ts'
import { flush } from './testing/flush.ts'
import { startPty } from './testing/pty.ts'

const EM32: Credential = { id: BADGE.id, kind: 'em', bits: 32 }
const NOISE = '\xff\x13\x55'
const BACKOFF = { initialMs: 100, maxMs: 400 }

/** Sends `bytes` to the memory port `size` bytes at a time. */
function sendChunks(serial: MemorySerial, bytes: Uint8Array, size = 3): void {
  for (let i = 0; i < bytes.length; i += size) serial.send(bytes.subarray(i, i + size))
}

/** The fake-time half of a harness: `wait` and `settle` move the clock. */
function fakeTime(clock: FakeClock) {
  return {
    wait: async (ms: number) => {
      clock.advance(ms)
      await flush()
    },
    settle: async () => {
      clock.advance(10)
      await flush()
    },
  }
}

const serialStreams = [
  { type: 'rdm6300', frame: emFrame(BADGE.bytes), bad: emFrame(BADGE.bytes, { badChecksum: true }) },
  {
    type: 'id12la',
    frame: emFrame(BADGE.bytes, { crlf: true }),
    bad: emFrame(BADGE.bytes, { badChecksum: true }),
  },
  { type: 'line', frame: concat(`${BADGE.printed}\r\n`), bad: concat('12AB\r\n') },
] as const

for (const s of serialStreams) {
  readerContract(`${s.type} (in-memory port, fake time)`, () => {
    const clock = new FakeClock(1_000)
    const serial = new MemorySerial()
    const reader = createReader(
      { type: s.type, path: '/dev/ttyMEM', debounceMs: 1_000, reconnect: BACKOFF },
      { clock, serial },
    )
    const time = fakeTime(clock)
    return {
      reader,
      credential: s.type === 'line' ? parseCredentialText(BADGE.printed, 'dec')! : EM32,
      debounceMs: 1_000,
      present: async (opts) => {
        sendChunks(serial, opts?.noisy ? concat(NOISE, '\r\n', s.frame, NOISE) : s.frame)
        await time.settle() // a frame takes time on the wire
      },
      garbage: async () => sendChunks(serial, s.bad),
      ...time,
      unplug: async () => serial.unplug(),
      replug: async () => {
        serial.plug()
        await time.wait(BACKOFF.maxMs)
      },
    }
  })
}

readerContract('pn532 (in-memory port, card simulator, fake time)', () => {
  const clock = new FakeClock(0)
  const serial = new MemorySerial()
  const chip = new Pn532CardSim()
  let noisy = false
  // The chip answers on the next turn of the loop, a few bytes at a time, like a real port.
  serial.onWrite = (bytes) => {
    const out = chip.feed(bytes)
    if (out.length > 0) setImmediate(() => sendChunks(serial, noisy ? concat(NOISE, out, NOISE) : out))
  }
  const reader = createReader(
    {
      type: 'pn532',
      path: '/dev/ttyPN532',
      pollIntervalMs: 100,
      ackTimeoutMs: 50,
      responseTimeoutMs: 200,
      debounceMs: 1_000,
      reconnect: BACKOFF,
    },
    { clock, serial },
  )
  const time = fakeTime(clock)
  const uid = Uint8Array.of(0x04, 0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6)
  return {
    reader,
    credential: { id: 'uid:04a1b2c3d4e5f6', kind: 'uid', bits: 56 },
    debounceMs: 1_000,
    // The card stays in the field for two polls.
    present: async (opts) => {
      noisy = opts?.noisy ?? false
      chip.uid = uid
      for (let i = 0; i < 20; i++) await time.settle()
      chip.uid = null
      noisy = false
    },
    garbage: async () => {
      chip.corruptNext = true
      for (let i = 0; i < 20; i++) await time.settle()
    },
    ...time,
    unplug: async () => serial.unplug(),
    replug: async () => {
      serial.plug()
      await time.wait(BACKOFF.maxMs)
    },
  }
})

for (const bits of [26, 34] as const) {
  readerContract(`wiegand${bits} (simulated edge source, fake time)`, () => {
    const clock = new FakeClock(0)
    const edges = new SimEdgeSource()
    onTestFinished(() => edges.close())
    const reader = createReader(
      { type: `wiegand${bits}`, chip: 'gpiochip0', d0: 17, d1: 27, debounceMs: 1_000 },
      { clock, edges },
    )
    const time = fakeTime(clock)
    // The source's own timescale: every frame well apart from the one before.
    let t = 0
    const send = (frame: number[]) => {
      t = edges.send(frame, t + 100)
    }
    return {
      reader,
      credential: { id: BADGE.id, kind: 'em', bits: bits === 26 ? 24 : 32 },
      debounceMs: 1_000,
      present: async (opts) => {
        if (opts?.noisy) send([1, 0, 1]) // a stray burst: too short for any format
        send(badgeWiegand(bits, BADGE.card))
        if (opts?.noisy) send([0])
        await time.wait(25)
      },
      garbage: async () => {
        const bad = badgeWiegand(bits, BADGE.card)
        bad[5] = 1 - bad[5]!
        send(bad)
        await time.wait(25)
      },
      ...time,
      unplug: async () => edges.fail(readerErrors.EDGES_FAILED('gpiomon', 'exited with code 1')),
      replug: async () => edges.recover(),
    }
  })
}

/** Real-time half of a harness. */
const realTime = {
  wait: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)),
  settle: () => new Promise<void>((r) => setTimeout(r, 10)),
}

readerContract('wedge (event file in tmpDir, real time)', () => {
  const path = join(tmpDir(), 'event0')
  writeFileSync(path, '')
  const reader = createReader({
    type: 'wedge',
    path,
    eventSize: 24,
    pollMs: 5,
    presenceCheckMs: 20,
    debounceMs: 300,
    reconnect: { initialMs: 10, maxMs: 40 },
  })
  // Event timestamps (ms) far enough apart that no id runs into the one before.
  let at = 1_000
  const keys = (text: string) => {
    at += 10_000
    return wedgeKeys(text, at, 24)
  }
  return {
    reader,
    credential: EM32,
    debounceMs: 300,
    present: async (opts) => {
      const events = keys(BADGE.printed)
      appendFileSync(path, events.subarray(0, 100))
      await realTime.settle()
      appendFileSync(path, events.subarray(100))
      if (opts?.noisy) appendFileSync(path, Buffer.alloc(24)) // a stray SYN report
    },
    garbage: async () => appendFileSync(path, keys('1A2B')),
    ...realTime,
    unplug: async () => rmSync(path),
    replug: async () => writeFileSync(path, ''),
  }
})

// Needs socat: skipped only on a developer machine without it (hasTool throws in CI when missing).
if (hasTool('socat')) {
  readerContract('rdm6300 (serialport over a socat pty pair, real time)', async () => {
    const pty = await startPty(tmpDir())
    let device: SerialPort | null = null
    const plugDevice = async () => {
      const port = new SerialPort({ path: pty.b, baudRate: 9600, autoOpen: false })
      await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())))
      port.on('error', () => {}) // unplugging under it is part of the contract
      device = port
    }
    onTestFinished(() => new Promise<void>((r) => (device?.isOpen ? device.close(() => r()) : r())))
    await plugDevice()
    const write = (bytes: Uint8Array) =>
      new Promise<void>((resolve, reject) =>
        device!.write(Buffer.from(bytes), (err) => (err ? reject(err) : device!.drain(() => resolve()))),
      )
    const reader = createReader({
      type: 'rdm6300',
      path: pty.a,
      debounceMs: 300,
      reconnect: { initialMs: 50, maxMs: 200 },
    })
    return {
      reader,
      credential: EM32,
      debounceMs: 300,
      present: async (opts) => {
        const stream = opts?.noisy ? concat(NOISE, emFrame(BADGE.bytes), NOISE) : emFrame(BADGE.bytes)
        await write(stream.subarray(0, 6))
        await realTime.settle()
        await write(stream.subarray(6))
      },
      garbage: () => write(emFrame(BADGE.bytes, { badChecksum: true })),
      ...realTime,
      unplug: () => pty.unplug(),
      replug: async () => {
        await pty.replug()
        await plugDevice()
      },
    }
  })
}
