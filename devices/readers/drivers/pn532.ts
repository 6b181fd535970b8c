/**
 * PN532 over its UART (HSU, 115200 8N1). The chip only speaks when asked, so this driver is a
 * small state machine on the injected clock:
 *   wake-up preamble + SAMConfiguration (normal mode)  →  RFConfiguration (bounded passive
 *   activation retries, so a poll with no card answers "0 targets" instead of waiting forever)
 *   →  InListPassiveTarget (1 target, 106 kbps type A) every `pollIntervalMs`  →  UID → credential.
 * Every command must be ACKed within `ackTimeoutMs` and answered within `responseTimeoutMs`. A
 * miss makes the reader `degraded`; `maxFailures` misses in a row make it `down`, and the driver
 * starts over with the wake-up (with backoff) until the chip answers again. An answer that fails
 * its checksum is counted and asked for again once with a NACK. Writes are not awaited by the
 * state machine: a failed write shows up as a missing ACK, an unplugged port as `lost`.
 */

import type { LatchkeyError } from '../../../runtime/core/errors.ts'
import { OneShot } from '../../one-shot.ts'
import { fromUid } from '../credential.ts'
import {
  encodeCommand,
  PN532_ACK,
  PN532_NACK,
  PN532_WAKEUP,
  Pn532Command,
  Pn532Decoder,
  parseInListPassiveTarget,
} from '../decoders/pn532.ts'
import { ReaderBase, type ReaderCommon } from '../reader.ts'
import { type Backoff, backoffDelay, DEFAULT_BACKOFF, SerialConnection } from '../serial/connection.ts'
import type { SerialLink, SerialOpener } from '../serial/port.ts'
import { serialportOpener } from '../serial/serialport.ts'
import { Pn532Exchange } from './pn532-exchange.ts'

export interface Pn532Options extends ReaderCommon {
  path: string
  /** Default 115200 (the PN532 HSU default). */
  baudRate?: number
  /** Pause between two polls. Default 100 ms. */
  pollIntervalMs?: number
  /** Default 200 ms. */
  ackTimeoutMs?: number
  /** Default 1000 ms. */
  responseTimeoutMs?: number
  /** Failed exchanges in a row before the reader is `down` and re-initialised. Default 3. */
  maxFailures?: number
  /** MxRtyPassiveActivation for RFConfiguration: 0x00–0xFE (0xFF would wait forever). Default 1. */
  passiveRetries?: number
  backoff?: Backoff
  serial?: SerialOpener
}

export class Pn532Reader extends ReaderBase {
  readonly type = 'pn532' as const
  readonly path: string
  readonly #o: Required<
    Pick<
      Pn532Options,
      'pollIntervalMs' | 'ackTimeoutMs' | 'responseTimeoutMs' | 'maxFailures' | 'passiveRetries'
    >
  > & { backoff: Backoff }
  readonly #decoder = new Pn532Decoder()
  readonly #conn: SerialConnection
  readonly #exchange: Pn532Exchange
  /** The next step: a poll, a retry, a re-initialisation. */
  readonly #next: OneShot
  #link: SerialLink | null = null
  #failures = 0
  #reinits = 0
  #initialized = false
  #reconnected = false

  constructor(opts: Pn532Options) {
    super(opts)
    this.path = opts.path
    this.#o = {
      pollIntervalMs: opts.pollIntervalMs ?? 100,
      ackTimeoutMs: opts.ackTimeoutMs ?? 200,
      responseTimeoutMs: opts.responseTimeoutMs ?? 1000,
      maxFailures: opts.maxFailures ?? 3,
      passiveRetries: opts.passiveRetries ?? 1,
      backoff: opts.backoff ?? DEFAULT_BACKOFF,
    }
    this.#exchange = new Pn532Exchange({
      path: opts.path,
      clock: this.clock,
      ackTimeoutMs: this.#o.ackTimeoutMs,
      responseTimeoutMs: this.#o.responseTimeoutMs,
      fail: (err) => this.#fail(err),
      nack: () => this.#write(PN532_NACK),
    })
    this.#next = new OneShot(this.clock)
    this.#conn = new SerialConnection({
      path: opts.path,
      baudRate: opts.baudRate ?? 115200,
      opener: opts.serial ?? serialportOpener(this.clock),
      clock: this.clock,
      log: this.log,
      backoff: this.#o.backoff,
      events: {
        up: (link, reconnected) => this.#up(link, reconnected),
        down: (err) => this.#down(err),
        data: (chunk) => this.#data(chunk),
      },
    })
  }

  protected async _open(): Promise<void> {
    await this.#conn.start()
  }

  protected async _close(): Promise<void> {
    this.#exchange.cancel()
    this.#next.cancel()
    this.#link = null
    await this.#conn.stop()
    this.monitor.close()
  }

  #up(link: SerialLink, reconnected: boolean): void {
    this.#link = link
    this.#reconnected = reconnected
    this.#decoder.reset()
    this.#failures = 0
    this.#reinits = 0
    this.#init()
  }

  #down(err: LatchkeyError): void {
    this.#link = null
    this.#exchange.cancel()
    this.#next.cancel()
    this.#initialized = false
    this.#decoder.reset()
    this.markDown(err)
  }

  /** Wake-up + SAMConfiguration, then RFConfiguration, then polling. */
  #init(): void {
    this.#initialized = false
    // SAMConfiguration: normal mode (0x01), virtual-card timeout 0x14 (20 × 50 ms), use IRQ.
    this.#send(Pn532Command.SAMConfiguration, [0x01, 0x14, 0x01], true, () => {
      // CfgItem 0x05: MxRtyATR, MxRtyPSL, MxRtyPassiveActivation.
      this.#send(Pn532Command.RFConfiguration, [0x05, 0xff, 0x01, this.#o.passiveRetries], false, () => {
        this.#initialized = true
        this.#reinits = 0
        if (this.monitor.state === 'down') {
          this.markUp(this.#reconnected)
          this.#reconnected = false
        }
        this.#poll()
      })
    })
  }

  #poll(): void {
    this.#send(Pn532Command.InListPassiveTarget, [0x01, 0x00], false, (payload) => {
      const targets = parseInListPassiveTarget(payload)
      if (typeof targets === 'string') this.badFrame('malformed', targets)
      else for (const t of targets) this.present(fromUid(t.uid))
      this.#later(this.#o.pollIntervalMs, () => this.#poll())
    })
  }

  #send(command: number, params: number[], wake: boolean, onAnswer: (payload: Uint8Array) => void): void {
    if (!this.#link || this.stopping) return
    // Started before writing: a fast device may answer before write() returns.
    this.#exchange.start(command, (payload) => {
      this.#failures = 0
      this.monitor.frame()
      onAnswer(payload)
    })
    const frame = encodeCommand(command, params)
    this.#write(wake ? Uint8Array.from([...PN532_WAKEUP, ...frame]) : frame)
  }

  #data(chunk: Uint8Array): void {
    for (const d of this.#decoder.push(chunk)) {
      if (d.ok) {
        this.#exchange.frame(d.frame)
        continue
      }
      this.badFrame(d.reason, d.detail)
      this.#exchange.badFrame(d.reason)
    }
  }

  /** The exchange in flight failed (it is cancelled by now). */
  #fail(err: LatchkeyError): void {
    this.#failures++
    // An ACK from the host aborts whatever the chip is still doing.
    this.#write(PN532_ACK)
    if (this.#failures < this.#o.maxFailures) {
      this.log.debug({ code: err.code, failures: this.#failures }, err.message)
      this.monitor.fault(err)
      this.#later(this.#o.pollIntervalMs, () => (this.#initialized ? this.#poll() : this.#init()))
      return
    }
    this.#initialized = false
    this.markDown(err)
    this.#later(backoffDelay(this.#o.backoff, this.#reinits++), () => {
      this.#failures = 0
      this.#init()
    })
  }

  #write(bytes: Uint8Array): void {
    this.#link?.write(bytes).catch((err: LatchkeyError) => this.log.debug({ code: err.code }, err.message))
  }

  #later(ms: number, fn: () => void): void {
    this.#next.arm(ms, () => {
      if (this.#link && !this.stopping) fn()
    })
  }
}
