/**
 * RDM6300 / EM4100 and ID-12LA serial frames (after esphome's rdm6300 component):
 *   STX(0x02) · 10 ASCII hex (40-bit id: version byte + 32-bit card) · 2 ASCII hex checksum ·
 *   [CR LF, ID-12LA only] · ETX(0x03)
 * The checksum is the XOR of the five data bytes. Both variants are accepted by one decoder.
 * A pure machine: bytes in, frames out, any chunking.
 */
import { accept, type ByteDecoder, type Decoded, hexDetail, reject } from './types.ts'

const STX = 0x02
const ETX = 0x03
/** 10 data + 2 checksum + CR LF: the longest legal body. */
const MAX_BODY = 14

export interface Em4100Frame {
  /** The five id bytes, version byte first. */
  readonly bytes: Uint8Array
  /** The 32-bit card number (the low four bytes). */
  readonly card: number
  readonly version: number
}

export class Em4100Decoder implements ByteDecoder<Em4100Frame> {
  #inFrame = false
  #body: number[] = []
  #noise: number[] = []

  push(chunk: Uint8Array): Decoded<Em4100Frame>[] {
    const out: Decoded<Em4100Frame>[] = []
    for (const b of chunk) {
      if (b === STX) {
        this.#flushNoise(out)
        if (this.#inFrame)
          out.push(reject('incomplete', `frame restarted after ${hexDetail(Uint8Array.from(this.#body))}`))
        this.#inFrame = true
        this.#body = []
        continue
      }
      if (!this.#inFrame) {
        this.#noise.push(b)
        continue
      }
      if (b === ETX) {
        out.push(decodeBody(this.#body))
        this.#inFrame = false
        this.#body = []
        continue
      }
      this.#body.push(b)
      if (this.#body.length > MAX_BODY) {
        out.push(
          reject('overlong', `no ETX after ${MAX_BODY} bytes: ${hexDetail(Uint8Array.from(this.#body))}`),
        )
        this.#inFrame = false
        this.#body = []
      }
    }
    return out
  }

  reset(): void {
    this.#inFrame = false
    this.#body = []
    this.#noise = []
  }

  #flushNoise(out: Decoded<Em4100Frame>[]): void {
    if (this.#noise.length === 0) return
    out.push(
      reject(
        'noise',
        `${this.#noise.length} bytes outside a frame: ${hexDetail(Uint8Array.from(this.#noise))}`,
      ),
    )
    this.#noise = []
  }
}

function decodeBody(body: number[]): Decoded<Em4100Frame> {
  let chars = body
  // ID-12LA puts CR LF before ETX.
  if (chars.length === 14 && chars[12] === 0x0d && chars[13] === 0x0a) chars = chars.slice(0, 12)
  const text = String.fromCharCode(...chars)
  if (chars.length !== 12 || !/^[0-9A-Fa-f]{12}$/.test(text)) {
    return reject('malformed', `expected 12 hex chars between STX and ETX, got ${JSON.stringify(text)}`)
  }
  const all = Buffer.from(text, 'hex')
  const bytes = Uint8Array.from(all.subarray(0, 5))
  const expected = bytes.reduce((x, b) => x ^ b, 0)
  if (expected !== all[5]) {
    return reject(
      'checksum',
      `id ${text.slice(0, 10)} has checksum ${text.slice(10)}, XOR is ${hex2(expected)}`,
    )
  }
  const card = ((bytes[1]! << 24) | (bytes[2]! << 16) | (bytes[3]! << 8) | bytes[4]!) >>> 0
  return accept({ bytes, card, version: bytes[0]! })
}

function hex2(n: number): string {
  return n.toString(16).toUpperCase().padStart(2, '0')
}
