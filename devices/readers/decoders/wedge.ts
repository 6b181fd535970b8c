/**
 * Keyboard-wedge USB readers through evdev (`/dev/input/event*`): bytes of `struct input_event`
 * in, typed ids out. The struct is 24 bytes on 64-bit Linux (timeval 16 + type u16 + code u16 +
 * value s32) and 16 bytes on 32-bit (timeval 8: the kernel keeps 32-bit seconds there even with
 * a 64-bit time_t userland), little-endian on every board we target. Only EV_KEY presses
 * (value 1) count; autorepeat (2) and releases (0) are ignored. KEY_0..KEY_9, KEY_A..KEY_F (hex
 * ids), keypad digits and the comma (`fc-card` output) are kept; KEY_ENTER/KEY_KPENTER ends the
 * id. Shift and other modifiers are ignored; any other key spoils the id (rejected at ENTER).
 * An id whose keys stop coming for `keyTimeoutMs` (by the events' own timestamps) is dropped, so
 * a half-typed id never glues onto the next badge.
 */
import { accept, type ByteDecoder, type Decoded, reject } from './types.ts'

export const EV_SYN = 0
export const EV_KEY = 1
export const SYN_DROPPED = 3
export const KEY_ENTER = 28
export const KEY_KPENTER = 96

/** Linux input-event-codes.h → the character a wedge reader means by it. */
export const KEY_CHARS: ReadonlyMap<number, string> = new Map([
  [2, '1'],
  [3, '2'],
  [4, '3'],
  [5, '4'],
  [6, '5'],
  [7, '6'],
  [8, '7'],
  [9, '8'],
  [10, '9'],
  [11, '0'],
  [30, 'A'],
  [48, 'B'],
  [46, 'C'],
  [32, 'D'],
  [18, 'E'],
  [33, 'F'],
  [51, ','],
  [79, '1'],
  [80, '2'],
  [81, '3'],
  [75, '4'],
  [76, '5'],
  [77, '6'],
  [71, '7'],
  [72, '8'],
  [73, '9'],
  [82, '0'],
])

/** Modifier keys a reader may press around letters (shift for upper-case hex). */
const MODIFIERS = new Set([42, 54, 29, 97, 56, 100, 58])

export type EventSize = 16 | 24

/** The struct size for this process's architecture (32-bit ARM and x86 use 16). */
export function nativeEventSize(arch: string = process.arch): EventSize {
  return arch === 'arm' || arch === 'ia32' ? 16 : 24
}

export interface InputEvent {
  /** Event time in milliseconds (from the struct's timeval). */
  readonly at: number
  readonly type: number
  readonly code: number
  readonly value: number
}

export interface WedgeOptions {
  eventSize?: EventSize
  /** Longest gap between two keys of one id. Default 500 ms. */
  keyTimeoutMs?: number
  /** Longest id. Default 32 characters. */
  maxLength?: number
}

export class WedgeDecoder implements ByteDecoder<string> {
  readonly eventSize: EventSize
  readonly keyTimeoutMs: number
  readonly maxLength: number
  #partial: Uint8Array = new Uint8Array(0)
  #text = ''
  #spoiled = ''
  #lastKeyAt = 0
  #overflow = false

  constructor(opts: WedgeOptions = {}) {
    this.eventSize = opts.eventSize ?? nativeEventSize()
    this.keyTimeoutMs = opts.keyTimeoutMs ?? 500
    this.maxLength = opts.maxLength ?? 32
  }

  push(chunk: Uint8Array): Decoded<string>[] {
    const out: Decoded<string>[] = []
    const buf = new Uint8Array(this.#partial.length + chunk.length)
    buf.set(this.#partial)
    buf.set(chunk, this.#partial.length)
    let pos = 0
    for (; pos + this.eventSize <= buf.length; pos += this.eventSize) {
      this.#event(parseEvent(buf, pos, this.eventSize), out)
    }
    this.#partial = buf.slice(pos)
    return out
  }

  reset(): void {
    this.#partial = new Uint8Array(0)
    this.#clear()
  }

  #event(e: InputEvent, out: Decoded<string>[]): void {
    if (e.type === EV_SYN && e.code === SYN_DROPPED) {
      if (this.#text || this.#spoiled || this.#overflow)
        out.push(reject('dropped', 'the kernel dropped key events'))
      this.#clear()
      return
    }
    if (e.type !== EV_KEY || e.value !== 1 || MODIFIERS.has(e.code)) return
    const started = this.#text.length > 0 || this.#spoiled.length > 0 || this.#overflow
    if (started && e.at - this.#lastKeyAt > this.keyTimeoutMs) {
      out.push(reject('incomplete', `keys stopped after ${JSON.stringify(this.#text)}`))
      this.#clear()
    }
    this.#lastKeyAt = e.at
    if (e.code === KEY_ENTER || e.code === KEY_KPENTER) {
      if (this.#overflow) out.push(reject('overlong', `id longer than ${this.maxLength} keys`))
      else if (this.#spoiled)
        out.push(reject('malformed', `unexpected keys ${this.#spoiled} in ${JSON.stringify(this.#text)}`))
      else if (this.#text) out.push(accept(this.#text))
      this.#clear()
      return
    }
    const ch = KEY_CHARS.get(e.code)
    if (ch === undefined) {
      this.#spoiled += `#${e.code}`
      return
    }
    if (this.#overflow) return
    this.#text += ch
    if (this.#text.length > this.maxLength) {
      this.#overflow = true
      this.#text = ''
    }
  }

  #clear(): void {
    this.#text = ''
    this.#spoiled = ''
    this.#overflow = false
  }
}

/** Reads one little-endian `struct input_event` at `pos`. */
export function parseEvent(buf: Uint8Array, pos: number, size: EventSize): InputEvent {
  const v = new DataView(buf.buffer, buf.byteOffset + pos, size)
  const wide = size === 24
  const sec = wide ? Number(v.getBigUint64(0, true)) : v.getUint32(0, true)
  const usec = wide ? Number(v.getBigUint64(8, true)) : v.getUint32(4, true)
  const t = wide ? 16 : 8
  return {
    at: sec * 1000 + usec / 1000,
    type: v.getUint16(t, true),
    code: v.getUint16(t + 2, true),
    value: v.getInt32(t + 4, true),
  }
}

/** Encodes one `struct input_event` (tests, simulators). */
export function encodeEvent(e: InputEvent, size: EventSize): Uint8Array {
  const buf = new Uint8Array(size)
  const v = new DataView(buf.buffer)
  const sec = Math.floor(e.at / 1000)
  const usec = Math.round((e.at - sec * 1000) * 1000)
  const wide = size === 24
  if (wide) {
    v.setBigUint64(0, BigInt(sec), true)
    v.setBigUint64(8, BigInt(usec), true)
  } else {
    v.setUint32(0, sec, true)
    v.setUint32(4, usec, true)
  }
  const t = wide ? 16 : 8
  v.setUint16(t, e.type, true)
  v.setUint16(t + 2, e.code, true)
  v.setInt32(t + 4, e.value, true)
  return buf
}
