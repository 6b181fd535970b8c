/**
 * The serial opener contract suite (after aedes-persistence's abstract.js): every `SerialOpener`
 * backend must pass it. `setup` runs inside each test (helpers register their own teardown) and
 * returns the opener, a path it can open, and the device end of that path played from outside.
 */
import { describe, expect, it, onTestFinished } from 'vitest'
import type { LatchkeyError } from '../../../runtime/core/errors.ts'
import type { SerialHandlers, SerialOpener } from './port.ts'

export interface SerialHarness {
  opener: SerialOpener
  /** A path `opener` opens, with a device at the other end. */
  path: string
  /** The device sends bytes to the port. */
  send(bytes: Uint8Array): Promise<void>
  /** Every byte the device has received so far. */
  received(): Uint8Array
  /** The device goes away (unplugged, hung up); opening `path` fails until it comes back. */
  hangUp(): Promise<void>
}

/** Waits (real time, bounded) until `check` passes: real ports report through the OS. */
async function until(check: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms`)
    await new Promise((r) => setTimeout(r, 5))
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

export function serialContract(name: string, setup: () => SerialHarness | Promise<SerialHarness>): void {
  async function open(h: SerialHarness) {
    const data: Uint8Array[] = []
    const lost: LatchkeyError[] = []
    const handlers: SerialHandlers = { data: (c) => data.push(Uint8Array.from(c)), lost: (e) => lost.push(e) }
    const link = await h.opener.open(h.path, 9600, handlers)
    onTestFinished(() => link.close())
    return { link, lost, bytes: () => Buffer.concat(data).toString('latin1') }
  }

  describe(`serial opener contract: ${name}`, () => {
    it('bytes written to an open port reach the device, in order', async () => {
      const h = await setup()
      const { link } = await open(h)
      await link.write(Buffer.from('hello '))
      await link.write(Buffer.from('world'))
      await until(() => Buffer.from(h.received()).toString('latin1') === 'hello world')
    })

    it('bytes the device sends arrive as data, however they are chunked', async () => {
      const h = await setup()
      const port = await open(h)
      await h.send(Buffer.from('\x02AB'))
      await h.send(Buffer.from('CD\x03'))
      await until(() => port.bytes() === '\x02ABCD\x03')
    })

    it('close() is idempotent; afterwards writes fail with LK_READER_WRITE_FAILED and lost is never called', async () => {
      const h = await setup()
      const port = await open(h)
      await Promise.all([port.link.close(), port.link.close()])
      await port.link.close()
      expect(await code(port.link.write(Uint8Array.of(1)))).toBe('LK_READER_WRITE_FAILED')
      await h.hangUp()
      await new Promise((r) => setTimeout(r, 50))
      expect(port.lost).toEqual([])
    })

    it('opening an absent device fails with LK_READER_OPEN_FAILED', async () => {
      const h = await setup()
      await h.hangUp()
      const handlers: SerialHandlers = { data: () => {}, lost: () => {} }
      expect(await code(h.opener.open(h.path, 9600, handlers))).toBe('LK_READER_OPEN_FAILED')
    })

    it('the device going away is reported once as lost (LK_READER_LOST); writes then fail', async () => {
      const h = await setup()
      const port = await open(h)
      await h.hangUp()
      await until(() => port.lost.length > 0)
      await new Promise((r) => setTimeout(r, 50))
      expect(port.lost.map((e) => e.code)).toEqual(['LK_READER_LOST'])
      expect(await code(port.link.write(Uint8Array.of(1)))).toBe('LK_READER_WRITE_FAILED')
      await port.link.close()
    })
  })
}
