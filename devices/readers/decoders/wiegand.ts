/**
 * Wiegand 26 and 34 from GPIO edges. D0 and D1 idle high; each data bit is a short low pulse on
 * D0 (a 0) or D1 (a 1), one every ~1–2 ms, so an edge source reports one falling edge per bit.
 * A frame ends after `gapMs` (~25 ms) without pulses. Bits are ordered by edge timestamp, not by
 * arrival: gpiomon v1 watches each line on its own file descriptor and can report the two lines
 * out of order under load.
 *   26 bits: P(even over bits 1..12) · facility(8) · card(16) · P(odd over bits 13..24)
 *   34 bits: P(even over bits 1..16) · data(32)                · P(odd over bits 17..32)
 * A pure machine: edges in (with their timestamps), frames out; the driver calls `flush()` once
 * `gapMs` has passed on its clock with no new edge.
 */
import { accept, type Decoded, reject } from './types.ts'

export type WiegandLine = 'd0' | 'd1'

/** One pulse on a data line; `at` is in milliseconds on the edge source's own timescale. */
export interface Edge {
  readonly line: WiegandLine
  readonly at: number
}

export type WiegandBits = 26 | 34

export type WiegandFrame =
  | { readonly bits: 26; readonly facility: number; readonly card: number; readonly value: number }
  | { readonly bits: 34; readonly value: number }

export interface WiegandOptions {
  /** Bit counts this reader accepts; any other count is a bad frame. */
  formats: readonly WiegandBits[]
  /** Quiet time that ends a frame. Default 25 ms. */
  gapMs?: number
}

/** Fewer pulses than this are a glitch, not a badge (still counted, as noise). */
const MIN_BITS = 4
/** More than this cannot be a frame of any format: stop collecting. */
const MAX_BITS = 64

export class WiegandDecoder {
  readonly formats: readonly WiegandBits[]
  readonly gapMs: number
  #edges: Edge[] = []
  #lastAt = Number.NEGATIVE_INFINITY

  constructor(opts: WiegandOptions) {
    this.formats = opts.formats
    this.gapMs = opts.gapMs ?? 25
  }

  /** Adds a pulse; returns the previous frame if this pulse comes after a gap. */
  push(edge: Edge): Decoded<WiegandFrame>[] {
    const out: Decoded<WiegandFrame>[] = []
    if (this.#edges.length > 0 && edge.at - this.#lastAt > this.gapMs) out.push(...this.flush())
    if (this.#edges.length < MAX_BITS + 1) this.#edges.push(edge)
    this.#lastAt = Math.max(this.#lastAt, edge.at)
    return out
  }

  /** Ends the current frame (the line has been quiet for `gapMs`). */
  flush(): Decoded<WiegandFrame>[] {
    if (this.#edges.length === 0) return []
    const edges = this.#edges.sort((a, b) => a.at - b.at)
    this.#edges = []
    this.#lastAt = Number.NEGATIVE_INFINITY
    const bits = edges.map((e) => (e.line === 'd1' ? 1 : 0))
    return [this.#decode(bits)]
  }

  reset(): void {
    this.#edges = []
    this.#lastAt = Number.NEGATIVE_INFINITY
  }

  #decode(bits: number[]): Decoded<WiegandFrame> {
    const shown = bits.join('')
    if (bits.length < MIN_BITS) return reject('noise', `${bits.length} stray pulses`)
    if (bits.length > MAX_BITS) return reject('overlong', `more than ${MAX_BITS} pulses`)
    if (!(this.formats as readonly number[]).includes(bits.length)) {
      return reject('length', `${bits.length} bits (${shown}), expected ${this.formats.join(' or ')}`)
    }
    const half = (bits.length - 2) / 2
    const evenOk = parity(bits, 0, half + 1) === 0
    const oddOk = parity(bits, half + 1, bits.length) === 1
    if (!evenOk || !oddOk) {
      return reject('parity', `${!evenOk ? 'even' : 'odd'} parity fails in ${shown}`)
    }
    const value = toNumber(bits.slice(1, -1))
    if (bits.length === 26) return accept({ bits: 26, facility: value >>> 16, card: value & 0xffff, value })
    return accept({ bits: 34, value })
  }
}

/** Sum of bits[from..to) mod 2. */
function parity(bits: number[], from: number, to: number): number {
  let p = 0
  for (let i = from; i < to; i++) p ^= bits[i]!
  return p
}

function toNumber(bits: number[]): number {
  let v = 0
  for (const b of bits) v = v * 2 + b
  return v
}

/** Builds the bit string of a valid frame (tests, simulators): data bits MSB first with parity. */
export function wiegandBits(format: WiegandBits, value: number): number[] {
  const n = format - 2
  const data: number[] = []
  for (let i = n - 1; i >= 0; i--) data.push(Math.floor(value / 2 ** i) % 2)
  const half = n / 2
  const even = data.slice(0, half).reduce((p, b) => p ^ b, 0)
  const odd = data.slice(half).reduce((p, b) => p ^ b, 1)
  return [even, ...data, odd]
}
