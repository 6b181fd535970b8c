/**
 * Test fixtures: one physical EM4100 badge as every reader type would report it, frame builders
 * (RDM6300/ID-12LA frames, keyboard-wedge key events, Wiegand bits) and a PN532 card-side
 * simulator that answers a reader's commands. Test-only; no I/O here.
 */
import { encodeFrame, PN532_ACK, Pn532Command, Pn532Decoder, TFI_HOST, TFI_PN532 } from '../decoders/pn532.ts'
import { EV_KEY, type EventSize, encodeEvent, KEY_CHARS, KEY_ENTER } from '../decoders/wedge.ts'
import { type WiegandBits, wiegandBits } from '../decoders/wiegand.ts'

/**
 * One physical fob: EM4100 id 1A 00 42 27 34 (version byte 0x1A, card number 0x00422734),
 * printed "0004335412 066,10036" (facility 0x42 = 66, card 0x2734 = 10036).
 */
export const BADGE = {
  bytes: Uint8Array.of(0x1a, 0x00, 0x42, 0x27, 0x34),
  card: 0x00422734,
  printed: '0004335412',
  facility: 0x42,
  cardLow16: 0x2734,
  id: 'em:4335412',
} as const

/** A badge whose card number uses bits 31..24: Wiegand 26 cannot carry all of it. */
export const HIGH_BADGE = {
  bytes: Uint8Array.of(0x0c, 0xa1, 0x42, 0x27, 0x34),
  card: 0xa1422734,
  id: `em:${0xa1422734}`,
} as const

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex').toUpperCase()
}

/** An RDM6300 frame (or ID-12LA with `crlf`), optionally with a wrong checksum. */
export function emFrame(bytes: Uint8Array, opts: { crlf?: boolean; badChecksum?: boolean } = {}): Uint8Array {
  let sum = bytes.reduce((x, b) => x ^ b, 0)
  if (opts.badChecksum) sum ^= 0x01
  const body = hex(bytes) + sum.toString(16).toUpperCase().padStart(2, '0') + (opts.crlf ? '\r\n' : '')
  return Uint8Array.from([0x02, ...Buffer.from(body, 'latin1'), 0x03])
}

const CHAR_KEYS = new Map<string, number>()
for (const [code, ch] of KEY_CHARS) if (!CHAR_KEYS.has(ch)) CHAR_KEYS.set(ch, code)

/** What a keyboard wedge sends for `text` + ENTER: press, release and SYN per key, `stepMs` apart. */
export function wedgeKeys(text: string, startMs: number, size: EventSize, stepMs = 8): Uint8Array {
  const events: Uint8Array[] = []
  let at = startMs
  const key = (code: number) => {
    events.push(encodeEvent({ at, type: 4, code: 4, value: 0x70000 + code }, size)) // EV_MSC scan code
    events.push(encodeEvent({ at, type: EV_KEY, code, value: 1 }, size))
    events.push(encodeEvent({ at, type: 0, code: 0, value: 0 }, size))
    events.push(encodeEvent({ at: at + 2, type: EV_KEY, code, value: 0 }, size))
    events.push(encodeEvent({ at: at + 2, type: 0, code: 0, value: 0 }, size))
    at += stepMs
  }
  for (const ch of text.toUpperCase()) {
    const code = CHAR_KEYS.get(ch)
    if (code === undefined) throw new Error(`no key for ${ch}`)
    key(code)
  }
  key(KEY_ENTER)
  return Buffer.concat(events)
}

/** Wiegand bits for the badge's low bits, as its reader would send them. */
export function badgeWiegand(format: WiegandBits, card: number): number[] {
  return wiegandBits(format, format === 26 ? card & 0xffffff : card >>> 0)
}

/**
 * The card side of a PN532 link: feed it what the reader writes, it returns what a PN532 would
 * answer (ACK, then the response). `uid` is the card in the field (null: no card); `silent`
 * plays a chip that does not answer at all; `corruptNext` sends the next answer with a bad DCS
 * (a NACK from the host gets the good one).
 */
export class Pn532CardSim {
  uid: Uint8Array | null = null
  silent = false
  corruptNext = false
  readonly commands: number[] = []
  #decoder = new Pn532Decoder()
  #lastAnswer: Uint8Array | null = null

  feed(bytes: Uint8Array): Uint8Array {
    const out: Uint8Array[] = []
    for (const d of this.#decoder.push(bytes)) {
      if (!d.ok || this.silent) continue
      const f = d.frame
      if (f.kind === 'nack' && this.#lastAnswer) {
        out.push(this.#lastAnswer)
        continue
      }
      if (f.kind !== 'data' || f.tfi !== TFI_HOST) continue
      const cmd = f.payload[0]!
      this.commands.push(cmd)
      const answer = encodeFrame(TFI_PN532, this.#answer(cmd))
      this.#lastAnswer = answer
      out.push(PN532_ACK)
      if (this.corruptNext) {
        this.corruptNext = false
        const bad = Uint8Array.from(answer)
        bad[bad.length - 2] = (bad[bad.length - 2]! + 1) & 0xff
        out.push(bad)
      } else {
        out.push(answer)
      }
    }
    return Buffer.concat(out)
  }

  #answer(cmd: number): Uint8Array {
    if (cmd === Pn532Command.InListPassiveTarget) {
      if (!this.uid) return Uint8Array.of(0x4b, 0x00)
      const sens = this.uid.length === 4 ? [0x00, 0x04] : [0x00, 0x44]
      return Uint8Array.of(0x4b, 0x01, 0x01, ...sens, 0x08, this.uid.length, ...this.uid)
    }
    return Uint8Array.of(cmd + 1)
  }
}

/** Every way to cut `stream` in two: [[head, tail], …] for cut points 0..length. */
export function everySplit(stream: Uint8Array): Array<[Uint8Array, Uint8Array]> {
  const out: Array<[Uint8Array, Uint8Array]> = []
  for (let i = 0; i <= stream.length; i++) out.push([stream.subarray(0, i), stream.subarray(i)])
  return out
}

export function concat(...parts: Array<Uint8Array | string>): Uint8Array {
  return Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p)))
}
