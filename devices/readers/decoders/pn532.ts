/**
 * PN532 host-link frames (NXP UM0701-02 §6.2), as spoken over its UART (HSU):
 *   normal:   00 00 FF LEN LCS TFI PD0..PDn DCS 00    LEN+LCS ≡ 0, TFI+PD…+DCS ≡ 0 (mod 256)
 *   extended: 00 00 FF FF FF LENm LENl LCS TFI PD… DCS 00
 *   ACK:      00 00 FF 00 FF 00        NACK: 00 00 FF FF 00 00
 *   error:    00 00 FF 01 FF 7F 81 00  (application-level error: syntax error in the last frame)
 * TFI is D4 host→PN532 and D5 PN532→host. The decoder scans for the 00 FF start code, so zero
 * preamble/postamble bytes pass silently and any other byte between frames is noise. Frames with
 * a bad LCS or DCS are rejected and never delivered. The same decoder reads both directions (the
 * tests' card-side simulator uses it on host frames).
 */
import { accept, type ByteDecoder, type Decoded, hexDetail, reject } from './types.ts'

export const TFI_HOST = 0xd4
export const TFI_PN532 = 0xd5

export const PN532_ACK = Uint8Array.of(0x00, 0x00, 0xff, 0x00, 0xff, 0x00)
export const PN532_NACK = Uint8Array.of(0x00, 0x00, 0xff, 0xff, 0x00, 0x00)
/** HSU wake-up: 0x55 0x55 then zeros long enough for the chip's oscillator to start (libnfc's preamble). */
export const PN532_WAKEUP = Uint8Array.of(0x55, 0x55, ...new Array<number>(14).fill(0))

/** Command codes used by the driver (the response code is command + 1). */
export const Pn532Command = {
  GetFirmwareVersion: 0x02,
  SAMConfiguration: 0x14,
  RFConfiguration: 0x32,
  InListPassiveTarget: 0x4a,
} as const

/** The longest information frame a PN532 sends (UM0701-02: 264 bytes of data). */
const MAX_DATA = 265

export type Pn532Frame =
  | { kind: 'ack' }
  | { kind: 'nack' }
  | { kind: 'error' }
  | { kind: 'data'; tfi: number; payload: Uint8Array }

/** Encodes an information frame (normal, or extended when TFI+data exceed 255 bytes). */
export function encodeFrame(tfi: number, payload: Uint8Array): Uint8Array {
  const len = payload.length + 1
  let dcs = tfi
  for (const b of payload) dcs += b
  dcs = (0x100 - (dcs & 0xff)) & 0xff
  const head =
    len <= 0xff
      ? [0x00, 0x00, 0xff, len, (0x100 - len) & 0xff]
      : [0x00, 0x00, 0xff, 0xff, 0xff, len >> 8, len & 0xff, (0x100 - ((len >> 8) + (len & 0xff))) & 0xff]
  return Uint8Array.from([...head, tfi, ...payload, dcs, 0x00])
}

/** A host→PN532 command frame. */
export function encodeCommand(command: number, params: ArrayLike<number> = []): Uint8Array {
  return encodeFrame(TFI_HOST, Uint8Array.from([command, ...Array.from(params)]))
}

export class Pn532Decoder implements ByteDecoder<Pn532Frame> {
  #buf: Uint8Array = new Uint8Array(0)
  #noise = 0

  push(chunk: Uint8Array): Decoded<Pn532Frame>[] {
    const out: Decoded<Pn532Frame>[] = []
    const buf = new Uint8Array(this.#buf.length + chunk.length)
    buf.set(this.#buf)
    buf.set(chunk, this.#buf.length)
    let pos = 0
    for (;;) {
      const start = findStart(buf, pos)
      if (start < 0) {
        // Keep a trailing 0x00: it may be the first half of a start code.
        const end = buf.length > pos && buf[buf.length - 1] === 0x00 ? buf.length - 1 : buf.length
        this.#countNoise(buf, pos, end)
        pos = end
        break
      }
      this.#countNoise(buf, pos, start)
      if (this.#noise > 0) {
        out.push(reject('noise', `${this.#noise} bytes outside a frame`))
        this.#noise = 0
      }
      const r = parseAt(buf, start)
      if (r === 'more') {
        pos = start
        break
      }
      if (r.result) out.push(r.result)
      pos = r.next
    }
    this.#buf = buf.slice(pos)
    return out
  }

  reset(): void {
    this.#buf = new Uint8Array(0)
    this.#noise = 0
  }

  #countNoise(buf: Uint8Array, from: number, to: number): void {
    for (let i = from; i < to; i++) if (buf[i] !== 0x00) this.#noise++
  }
}

/** Index of the 00 FF start code at or after `from`, or -1. */
function findStart(buf: Uint8Array, from: number): number {
  for (let i = from; i + 1 < buf.length; i++) if (buf[i] === 0x00 && buf[i + 1] === 0xff) return i
  return -1
}

/** Parses the frame whose start code is at `i`: 'more' when bytes are missing. */
function parseAt(buf: Uint8Array, i: number): 'more' | { result: Decoded<Pn532Frame> | null; next: number } {
  if (buf.length < i + 4) return 'more'
  const len = buf[i + 2]!
  const lcs = buf[i + 3]!
  if (len === 0x00 && lcs === 0xff) return { result: accept({ kind: 'ack' }), next: i + 4 }
  if (len === 0xff && lcs === 0x00) return { result: accept({ kind: 'nack' }), next: i + 4 }
  let dataLen: number
  let dataAt: number
  if (len === 0xff && lcs === 0xff) {
    if (buf.length < i + 7) return 'more'
    const m = buf[i + 4]!
    const l = buf[i + 5]!
    if (((m + l + buf[i + 6]!) & 0xff) !== 0) {
      return {
        result: reject('checksum', `extended frame LCS mismatch: ${hexDetail(buf.subarray(i, i + 7))}`),
        next: i + 2,
      }
    }
    dataLen = (m << 8) | l
    dataAt = i + 7
  } else {
    if (((len + lcs) & 0xff) !== 0) {
      // Not a frame after all (or a corrupted length): resynchronise just after this start code.
      return { result: reject('checksum', `LCS mismatch: LEN ${len} LCS ${lcs}`), next: i + 2 }
    }
    dataLen = len
    dataAt = i + 4
  }
  if (dataLen === 0 || dataLen > MAX_DATA) {
    return {
      result: reject(dataLen === 0 ? 'malformed' : 'overlong', `frame length ${dataLen}`),
      next: dataAt,
    }
  }
  if (buf.length < dataAt + dataLen + 1) return 'more'
  const data = buf.subarray(dataAt, dataAt + dataLen)
  let sum = buf[dataAt + dataLen]!
  for (const b of data) sum += b
  const next = dataAt + dataLen + 1
  if ((sum & 0xff) !== 0) {
    return { result: reject('checksum', `DCS mismatch in ${hexDetail(buf.subarray(i, next))}`), next }
  }
  const tfi = data[0]!
  if (dataLen === 1 && tfi === 0x7f) return { result: accept({ kind: 'error' }), next }
  return { result: accept({ kind: 'data', tfi, payload: Uint8Array.from(data.subarray(1)) }), next }
}

/** One target from an InListPassiveTarget answer at 106 kbps type A (ISO 14443A). */
export interface Target14443A {
  readonly tg: number
  readonly sensRes: number
  readonly selRes: number
  readonly uid: Uint8Array
}

/**
 * Reads an InListPassiveTarget (106 kbps type A) response payload, `4B NbTg [Tg SENS_RES(2)
 * SEL_RES NFCIDLength NFCID1… (ATS…)]…`. Returns the targets (none when no card is in the
 * field), or a string describing why the payload is malformed.
 */
export function parseInListPassiveTarget(payload: Uint8Array): Target14443A[] | string {
  if (payload[0] !== Pn532Command.InListPassiveTarget + 1)
    return `not an InListPassiveTarget answer: ${hexDetail(payload)}`
  const count = payload[1]
  if (count === undefined || count > 2) return `bad target count in ${hexDetail(payload)}`
  const targets: Target14443A[] = []
  let p = 2
  for (let n = 0; n < count; n++) {
    if (payload.length < p + 5) return `truncated target in ${hexDetail(payload)}`
    const tg = payload[p]!
    const sensRes = (payload[p + 1]! << 8) | payload[p + 2]!
    const selRes = payload[p + 3]!
    const uidLen = payload[p + 4]!
    if (uidLen !== 4 && uidLen !== 7 && uidLen !== 10) return `UID length ${uidLen} in ${hexDetail(payload)}`
    if (payload.length < p + 5 + uidLen) return `truncated UID in ${hexDetail(payload)}`
    const uid = Uint8Array.from(payload.subarray(p + 5, p + 5 + uidLen))
    p += 5 + uidLen
    // ISO 14443-4 cards (SEL_RES bit 6) append their ATS, first byte = its length.
    if (selRes & 0x20 && p < payload.length) p += payload[p]!
    targets.push({ tg, sensRes, selRes, uid })
  }
  return targets
}
