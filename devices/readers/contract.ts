/**
 * The badge reader contract suite (after aedes-persistence's abstract.js): every driver must pass
 * it. `setup` runs inside each test (helpers register their own teardown) and returns a fresh,
 * unopened reader plus a view of the device from outside: present the test badge, send garbage,
 * unplug and replug. A harness on fake time moves its clock inside those calls; one on real time
 * waits in `settle()`.
 */
import { describe, expect, it, onTestFinished } from 'vitest'
import type { Credential } from './credential.ts'
import type { BadgeEvent, BadgeReader } from './reader.ts'

export interface ReaderHarness {
  reader: BadgeReader
  /** The canonical credential the test badge decodes to on this reader. */
  credential: Credential
  /** The reader's debounce window (ms of its clock). */
  debounceMs: number
  /**
   * Presents the test badge once: one valid frame, cut into chunks where the transport has
   * chunks; `noisy` glues it to line noise on both sides.
   */
  present(opts?: { noisy?: boolean }): Promise<void>
  /** Sends something that is no valid frame (bad checksum, parity, syntax). */
  garbage(): Promise<void>
  /** Lets `ms` of the reader's time pass. */
  wait(ms: number): Promise<void>
  /** Lets the reader work through what it was sent (a turn of the loop, or a short real sleep). */
  settle(): Promise<void>
  /** The device goes away (unplugged, the edge source stops). */
  unplug(): Promise<void>
  /** The device comes back; the reader may need its retry delay to notice. */
  replug(): Promise<void>
}

export function readerContract(name: string, setup: () => ReaderHarness | Promise<ReaderHarness>): void {
  /** Waits, bounded in real time, until `check` passes, letting the reader work meanwhile. */
  async function until(h: ReaderHarness, check: () => boolean, ms = 5000): Promise<void> {
    const end = Date.now() + ms
    while (!check()) {
      if (Date.now() > end) throw new Error(`timed out after ${ms} ms`)
      await h.settle()
    }
  }

  async function open(): Promise<ReaderHarness & { badges: BadgeEvent[] }> {
    const h = await setup()
    onTestFinished(() => h.reader.close())
    const badges: BadgeEvent[] = []
    h.reader.on('badge', (e) => badges.push(e))
    await h.reader.ready()
    await until(h, () => h.reader.health().state !== 'down')
    return { ...h, badges }
  }

  describe(`badge reader contract: ${name}`, () => {
    it('ready() and close() are idempotent; health is down before ready and after close', async () => {
      const h = await setup()
      expect(h.reader.health().state).toBe('down')
      await Promise.all([h.reader.ready(), h.reader.ready()])
      await until(h, () => h.reader.health().state === 'ok')
      await Promise.all([h.reader.close(), h.reader.close()])
      await h.reader.close()
      expect(h.reader.health().state).toBe('down')
    })

    it('a valid frame emits one badge event with the canonical credential id', async () => {
      const h = await open()
      await h.present()
      await until(h, () => h.badges.length > 0)
      await h.settle()
      expect(h.badges).toHaveLength(1)
      expect(h.badges[0]).toMatchObject({ credential: h.credential, reader: h.reader.name })
      expect(typeof h.badges[0]!.at).toBe('number')
      expect(h.reader.health().lastFrameAt).not.toBeNull()
    })

    it('a frame cut into chunks and glued to noise still decodes, once', async () => {
      const h = await open()
      await h.present({ noisy: true })
      await until(h, () => h.badges.length > 0)
      await h.settle()
      expect(h.badges.map((b) => b.credential)).toEqual([h.credential])
    })

    it('garbage never emits a badge and is counted as a bad frame (degraded, LK_READER_BAD_FRAME)', async () => {
      const h = await open()
      await h.garbage()
      await until(h, () => h.reader.health().badFrames > 0)
      await h.settle()
      expect(h.badges).toEqual([])
      expect(h.reader.health()).toMatchObject({
        state: 'degraded',
        lastError: { code: 'LK_READER_BAD_FRAME' },
      })
    })

    it('the same badge held at the reader is one event; after the debounce window it is another', async () => {
      const h = await open()
      await h.present()
      await until(h, () => h.badges.length === 1)
      const first = h.reader.health().lastFrameAt
      await h.present()
      await until(h, () => h.reader.health().lastFrameAt !== first) // the repeat was read, and dropped
      await h.settle()
      expect(h.badges).toHaveLength(1)
      await h.wait(h.debounceMs + 1)
      await h.present()
      await until(h, () => h.badges.length === 2)
    })

    it('close() stops events', async () => {
      const h = await open()
      await h.reader.close()
      await h.present()
      await h.settle()
      await h.wait(50)
      expect(h.badges).toEqual([])
    })

    it('health goes down when the device goes away and up when it comes back, counting the reconnect', async () => {
      const h = await open()
      await h.unplug()
      await until(h, () => h.reader.health().state === 'down')
      expect(h.reader.health().lastError?.code).toMatch(/^LK_READER_/)
      await h.replug()
      await until(h, () => h.reader.health().state !== 'down')
      expect(h.reader.health().reconnects).toBe(1)
      await h.present()
      await until(h, () => h.badges.length === 1)
    })
  })
}
