/**
 * One PN532 command in flight (UM0701-02 §6.2.1): after the host writes it, the chip ACKs within
 * `ackTimeoutMs`, then answers within `responseTimeoutMs`; either miss fails the exchange. An
 * answer whose ACK got lost still answers the command. An answer that fails its checksum is asked
 * for again once (NACK). Anything else is a late answer to a command that already timed out and is
 * ignored. Timeouts run on the reader's clock.
 */
import type { Clock } from '../../../runtime/core/clock.ts'
import { readerErrors } from '../../../runtime/core/errors/index.ts'
import type { LatchkeyError } from '../../../runtime/core/errors.ts'
import { OneShot } from '../../one-shot.ts'
import { Pn532Command, type Pn532Frame, TFI_PN532 } from '../decoders/pn532.ts'
import type { RejectReason } from '../decoders/types.ts'

const NAMES: Record<number, string> = {
  [Pn532Command.SAMConfiguration]: 'SAMConfiguration',
  [Pn532Command.RFConfiguration]: 'RFConfiguration',
  [Pn532Command.InListPassiveTarget]: 'InListPassiveTarget',
}

export interface ExchangeOptions {
  path: string
  clock: Clock
  ackTimeoutMs: number
  responseTimeoutMs: number
  /** The exchange failed (no ACK, no answer, an error frame). */
  fail(err: LatchkeyError): void
  /** Asks the chip to send its answer again. */
  nack(): void
}

interface Pending {
  readonly command: number
  readonly onAnswer: (payload: Uint8Array) => void
  phase: 'ack' | 'answer'
  nacked: boolean
}

export class Pn532Exchange {
  readonly #o: ExchangeOptions
  readonly #timeout: OneShot
  #pending: Pending | null = null

  constructor(o: ExchangeOptions) {
    this.#o = o
    this.#timeout = new OneShot(o.clock)
  }

  /** A command is about to be written: its ACK is awaited from now (a fast chip may answer before write() returns). */
  start(command: number, onAnswer: (payload: Uint8Array) => void): void {
    this.#pending = { command, onAnswer, phase: 'ack', nacked: false }
    const { ackTimeoutMs, path } = this.#o
    this.#timeout.arm(ackTimeoutMs, () =>
      this.#failed(readerErrors.NO_ACK(path, NAMES[command]!, ackTimeoutMs)),
    )
  }

  /** A frame from the chip. */
  frame(f: Pn532Frame): void {
    const p = this.#pending
    if (!p) return
    if (f.kind === 'ack') {
      if (p.phase !== 'ack') return
      p.phase = 'answer'
      const { responseTimeoutMs, path } = this.#o
      this.#timeout.arm(responseTimeoutMs, () =>
        this.#failed(readerErrors.NO_RESPONSE(path, NAMES[p.command]!, responseTimeoutMs)),
      )
      return
    }
    if (f.kind === 'error') {
      this.#failed(readerErrors.PROTOCOL(this.#o.path, `error frame in answer to ${NAMES[p.command]}`))
      return
    }
    if (f.kind === 'data' && f.tfi === TFI_PN532 && f.payload[0] === p.command + 1) {
      this.cancel()
      p.onAnswer(f.payload)
    }
  }

  /** A frame that did not decode: a corrupted answer is asked for again, once. */
  badFrame(reason: RejectReason): void {
    const p = this.#pending
    if (p && p.phase === 'answer' && reason === 'checksum' && !p.nacked) {
      p.nacked = true
      this.#o.nack()
    }
  }

  /** Drops the command in flight and its timeout. */
  cancel(): void {
    this.#timeout.cancel()
    this.#pending = null
  }

  #failed(err: LatchkeyError): void {
    this.cancel()
    this.#o.fail(err)
  }
}
