/**
 * Keyboard-wedge USB readers read from their evdev node (`/dev/input/by-id/…-event-kbd` is the
 * stable path). The node is opened non-blocking and read on a short poll on the injected clock:
 * a blocking read would hold a libuv pool thread and make `close()` wait for the next key press.
 * Unplugging shows up as a read error (ENODEV) or as the path vanishing or pointing to another
 * device node (checked every `presenceCheckMs`); the driver then reopens with backoff. Works the
 * same on a FIFO or a regular file (tests). Needs the service user in the `input` group. Without
 * EVIOCGRAB (an ioctl Node cannot issue) the console also sees the keys: see docs/readers.md.
 */
import { constants, type FileHandle, open, stat } from 'node:fs/promises'
import { readerErrors } from '../../../runtime/core/errors/index.ts'
import type { LatchkeyError } from '../../../runtime/core/errors.ts'
import { OneShot } from '../../one-shot.ts'
import { parseCredentialText, type TextFormat } from '../credential.ts'
import { type EventSize, nativeEventSize, WedgeDecoder } from '../decoders/wedge.ts'
import { ReaderBase, type ReaderCommon } from '../reader.ts'
import { type Backoff, backoffDelay, DEFAULT_BACKOFF } from '../serial/connection.ts'

export interface WedgeReaderOptions extends ReaderCommon {
  path: string
  /** How a typed id maps to a credential. Default `dec`. */
  format?: TextFormat
  /** `struct input_event` size: 24 on 64-bit, 16 on 32-bit. Default: this process's. */
  eventSize?: EventSize
  /** Longest pause between two keys of one id. Default 500 ms. */
  keyTimeoutMs?: number
  /** Read poll period. Default 20 ms. */
  pollMs?: number
  /** How often to check that the path still names the opened device. Default 1000 ms. */
  presenceCheckMs?: number
  backoff?: Backoff
}

/** Reads per poll at most (a flood of events must not starve the event loop). */
const MAX_READS_PER_POLL = 16

export class WedgeReader extends ReaderBase {
  readonly type = 'wedge' as const
  readonly path: string
  readonly #format: TextFormat
  readonly #decoder: WedgeDecoder
  readonly #pollMs: number
  readonly #presence: Presence
  readonly #backoff: Backoff
  readonly #buf: Buffer
  /** The next step: a poll or a reopen. */
  readonly #next: OneShot
  #fh: FileHandle | null = null
  #busy: Promise<void> | null = null
  #attempt = 0
  #everOpened = false

  constructor(opts: WedgeReaderOptions) {
    super(opts)
    this.path = opts.path
    this.#format = opts.format ?? 'dec'
    const eventSize = opts.eventSize ?? nativeEventSize()
    this.#decoder = new WedgeDecoder({ eventSize, keyTimeoutMs: opts.keyTimeoutMs ?? 500 })
    this.#pollMs = opts.pollMs ?? 20
    this.#presence = new Presence(this.path, opts.presenceCheckMs ?? 1000)
    this.#next = new OneShot(this.clock)
    this.#backoff = opts.backoff ?? DEFAULT_BACKOFF
    this.#buf = Buffer.alloc(eventSize * 64)
  }

  protected async _open(): Promise<void> {
    await this.#run(() => this.#openDevice())
  }

  protected async _close(): Promise<void> {
    this.#next.cancel()
    await this.#busy
    await this.#closeDevice()
    this.monitor.close()
  }

  /** Runs one step at a time; `close()` waits for the step in flight. */
  #run(step: () => Promise<void>): Promise<void> {
    const p = step().finally(() => {
      if (this.#busy === p) this.#busy = null
    })
    this.#busy = p
    return p
  }

  #schedule(ms: number, step: () => Promise<void>): void {
    if (this.stopping) return
    this.#next.arm(ms, () => {
      if (!this.stopping) void this.#run(step)
    })
  }

  async #openDevice(): Promise<void> {
    try {
      const fh = await open(this.path, constants.O_RDONLY | constants.O_NONBLOCK)
      if (this.stopping) {
        await fh.close()
        return
      }
      this.#fh = fh
      this.#presence.opened(identity(await fh.stat()), this.clock.now())
    } catch (err) {
      const e = readerErrors.OPEN_FAILED(this.path, (err as Error).message)
      if (this.#attempt === 0) this.log.warn({ code: e.code }, e.message)
      this.markDown(e)
      this.#schedule(backoffDelay(this.#backoff, this.#attempt++), () => this.#openDevice())
      return
    }
    this.#attempt = 0
    this.#decoder.reset()
    this.markUp(this.#everOpened)
    this.#everOpened = true
    this.#schedule(0, () => this.#poll())
  }

  async #poll(): Promise<void> {
    const fh = this.#fh
    if (!fh) return
    try {
      for (let i = 0; i < MAX_READS_PER_POLL; i++) {
        const { bytesRead } = await fh.read(this.#buf, 0, this.#buf.length, null)
        if (bytesRead === 0) break
        this.#feed(this.#buf.subarray(0, bytesRead))
        if (bytesRead < this.#buf.length) break
      }
      const gone = await this.#presence.check(this.clock.now())
      if (gone) {
        await this.#lost(readerErrors.LOST(this.path, gone))
        return
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') {
        await this.#lost(readerErrors.LOST(this.path, (err as Error).message))
        return
      }
    }
    this.#schedule(this.#pollMs, () => this.#poll())
  }

  #feed(chunk: Uint8Array): void {
    for (const d of this.#decoder.push(chunk)) {
      if (!d.ok) {
        this.badFrame(d.reason, d.detail)
        continue
      }
      const c = parseCredentialText(d.frame, this.#format)
      if (c) this.present(c)
      else this.badFrame('malformed', `${JSON.stringify(d.frame)} is not a ${this.#format} id`)
    }
  }

  async #lost(err: LatchkeyError): Promise<void> {
    this.log.warn({ code: err.code }, err.message)
    await this.#closeDevice()
    this.markDown(err)
    this.#schedule(backoffDelay(this.#backoff, this.#attempt++), () => this.#openDevice())
  }

  async #closeDevice(): Promise<void> {
    const fh = this.#fh
    this.#fh = null
    this.#presence.closed()
    // The node may already be gone: nothing is left to release then.
    await fh?.close().catch(() => {})
  }
}

/**
 * Whether the path still names the device that was opened, checked every `everyMs`: an unplugged
 * reader's node vanishes, a replugged one gets a new node.
 */
class Presence {
  readonly #path: string
  readonly #everyMs: number
  #identity: string | null = null
  #lastCheck = 0

  constructor(path: string, everyMs: number) {
    this.#path = path
    this.#everyMs = everyMs
  }

  opened(id: string, now: number): void {
    this.#identity = id
    this.#lastCheck = now
  }

  closed(): void {
    this.#identity = null
  }

  /** When a check is due: why the device is gone, or null while it is still there. */
  async check(now: number): Promise<string | null> {
    if (now - this.#lastCheck < this.#everyMs) return null
    this.#lastCheck = now
    const id = await stat(this.#path).then(identity, () => null)
    if (id === this.#identity) return null
    return id === null ? 'the device node is gone' : 'the path now names another device'
  }
}

/** Which device (or file) a path names: a replugged reader gets a new node. */
function identity(s: { dev: number; ino: number; rdev: number }): string {
  return `${s.dev}:${s.ino}:${s.rdev}`
}
