/**
 * What every decoder returns: for each unit it could delimit, either a frame or a rejection with
 * a reason. Decoders never throw on input and never accept a frame that failed its check; the
 * driver turns rejections into `badFrames` in the reader's health.
 */
export type RejectReason =
  /** Bytes outside any frame (line noise, a wrong baud rate); reported once per run. */
  | 'noise'
  /** A checksum (XOR, LCS, DCS) did not match. */
  | 'checksum'
  /** A Wiegand parity bit did not match. */
  | 'parity'
  /** A Wiegand frame with a bit count this reader does not accept. */
  | 'length'
  /** A frame or line whose content does not fit the format. */
  | 'malformed'
  /** A frame or line longer than the format allows. */
  | 'overlong'
  /** A frame that stopped half-way (a new frame started, or the keys stopped coming). */
  | 'incomplete'
  /** The kernel dropped input events (evdev SYN_DROPPED). */
  | 'dropped'

export type Decoded<F> = { ok: true; frame: F } | { ok: false; reason: RejectReason; detail: string }

/** A byte-stream decoder: bytes in, frames out, any chunking. */
export interface ByteDecoder<F> {
  push(chunk: Uint8Array): Decoded<F>[]
  /** Forgets any partial frame (the device was reopened). */
  reset(): void
}

export function reject<F>(reason: RejectReason, detail: string): Decoded<F> {
  return { ok: false, reason, detail }
}

export function accept<F>(frame: F): Decoded<F> {
  return { ok: true, frame }
}

/** Printable hex for a detail string, capped so a flood of garbage does not flood the log. */
export function hexDetail(bytes: Uint8Array, max = 32): string {
  const shown = Buffer.from(bytes.subarray(0, max)).toString('hex')
  return bytes.length > max ? `${shown}… (${bytes.length} bytes)` : shown
}
