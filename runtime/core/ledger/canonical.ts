/**
 * Fast readers for the two canonical encodings the ledger checks on every ingested record:
 * the fixed record layout and a dag-cbor body. Each reads and checks canonical form in one
 * pass and returns `NOT_FAST` at the first byte it is not sure of; the caller then takes the
 * library path (cborg's strict decoder + dag-cbor re-encoding), which gives the precise reason.
 * So these readers may refuse valid input but must never accept what the library path refuses:
 * property tests (canonical.test.ts) hold them to that over random values and mutations.
 *
 * Why hand-written: catch-up ingests tens of thousands of records a second, and the generic
 * decode + re-encode + compare costs ~6 µs per body and ~8 µs per record layout; these take
 * well under one.
 */
import { hash } from 'node:crypto'

export const NOT_FAST: unique symbol = Symbol('not-fast')

const MAX_DEPTH = 32
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** Byte-level reader over one buffer; `fail` marks the first non-canonical byte. */
interface Cursor {
  b: Uint8Array
  o: number
  end: number
  fail: boolean
}

/** Reads a CBOR head of `major` in shortest form; -1 (and `fail`) otherwise. */
function head(c: Cursor, major: number): number {
  const byte = c.b[c.o]
  if (byte === undefined || c.o >= c.end || byte >> 5 !== major) return bad(c)
  c.o++
  const info = byte & 31
  if (info < 24) return info
  const b = c.b
  const o = c.o
  switch (info) {
    case 24: {
      if (o + 1 > c.end) return bad(c)
      const n = b[o]!
      c.o = o + 1
      return n < 24 ? bad(c) : n
    }
    case 25: {
      if (o + 2 > c.end) return bad(c)
      const n = (b[o]! << 8) | b[o + 1]!
      c.o = o + 2
      return n < 0x100 ? bad(c) : n
    }
    case 26: {
      if (o + 4 > c.end) return bad(c)
      const n = b[o]! * 0x1000000 + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!)
      c.o = o + 4
      return n < 0x10000 ? bad(c) : n
    }
    case 27: {
      if (o + 8 > c.end) return bad(c)
      const hi = b[o]! * 0x1000000 + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!)
      const lo = b[o + 4]! * 0x1000000 + ((b[o + 5]! << 16) | (b[o + 6]! << 8) | b[o + 7]!)
      c.o = o + 8
      // ≥ 2^32 for shortest form; < 2^53 to stay a safe integer (bigints take the library path).
      if (hi === 0 || hi >= 0x200000) return bad(c)
      return hi * 0x100000000 + lo
    }
    default:
      return bad(c)
  }
}

function bad(c: Cursor): -1 {
  c.fail = true
  return -1
}

function bytesOf(c: Cursor, n: number): Uint8Array | null {
  if (c.fail || c.o + n > c.end) {
    c.fail = true
    return null
  }
  const out = c.b.subarray(c.o, c.o + n)
  c.o += n
  return out
}

/** Short ASCII strings met before (type names, map keys), keyed by an FNV-1a hash of their bytes. */
const interned = new Map<number, string>()
const INTERN_MAX_LENGTH = 24
const INTERN_MAX_ENTRIES = 4096

/**
 * A short ASCII string read without slicing the input or building a new string when it was
 * met before (a hit is confirmed character by character); null when it is not short ASCII.
 */
function shortAscii(c: Cursor, n: number): string | null {
  const b = c.b
  const o = c.o
  let h = 0x811c9dc5 ^ n
  for (let i = 0; i < n; i++) {
    const x = b[o + i]!
    if (x >= 0x80) return null
    h = Math.imul(h ^ x, 0x01000193)
  }
  c.o += n
  const hit = interned.get(h)
  if (hit !== undefined && hit.length === n) {
    let same = true
    for (let i = 0; i < n; i++)
      if (hit.charCodeAt(i) !== b[o + i]) {
        same = false
        break
      }
    if (same) return hit
  }
  const s = String.fromCharCode.apply(null, b.subarray(o, o + n) as unknown as number[])
  if (hit === undefined) {
    if (interned.size >= INTERN_MAX_ENTRIES) interned.clear() // bounded whatever peers send
    interned.set(h, s)
  }
  return s
}

function text(c: Cursor, n: number): string | null {
  if (c.fail || c.o + n > c.end) {
    c.fail = true
    return null
  }
  if (n <= INTERN_MAX_LENGTH) {
    const s = shortAscii(c, n)
    if (s !== null) return s
  }
  const raw = bytesOf(c, n)
  if (!raw) return null
  let ascii = true
  for (let i = 0; i < raw.length; i++)
    if (raw[i]! >= 0x80) {
      ascii = false
      break
    }
  if (ascii) return n <= 64 ? String.fromCharCode.apply(null, raw as unknown as number[]) : utf8.decode(raw)
  try {
    return utf8.decode(raw)
  } catch {
    c.fail = true
    return null
  }
}

/** One dag-cbor value in canonical form (the subset the ledger allows: no floats, no tags). */
function value(c: Cursor, depth: number): unknown {
  if (c.o >= c.end || depth > MAX_DEPTH) return bad(c)
  const byte = c.b[c.o]!
  const major = byte >> 5
  switch (major) {
    case 0:
      return head(c, 0)
    case 1: {
      const n = head(c, 1)
      return c.fail || n >= Number.MAX_SAFE_INTEGER ? bad(c) : -1 - n
    }
    case 2: {
      const n = head(c, 2)
      return c.fail ? null : bytesOf(c, n)
    }
    case 3: {
      const n = head(c, 3)
      return c.fail ? null : text(c, n)
    }
    case 4: {
      const n = head(c, 4)
      if (c.fail || n > c.end - c.o) return bad(c)
      const arr = new Array(n)
      for (let i = 0; i < n && !c.fail; i++) arr[i] = value(c, depth + 1)
      return arr
    }
    case 5: {
      const n = head(c, 5)
      if (c.fail || n > c.end - c.o) return bad(c)
      const obj: Record<string, unknown> = {}
      let prevStart = -1
      let prevLen = -1
      for (let i = 0; i < n && !c.fail; i++) {
        const len = head(c, 3)
        if (c.fail) break
        const start = c.o
        // dag-cbor key order: shorter first, then bytewise; equal keys are duplicates.
        if (prevLen >= 0 && (len < prevLen || (len === prevLen && !bytesAfter(c.b, prevStart, start, len))))
          return bad(c)
        const key = text(c, len)
        if (key === null || key === '__proto__') return bad(c)
        prevStart = start
        prevLen = len
        obj[key] = value(c, depth + 1)
      }
      return obj
    }
    case 7:
      c.o++
      if (byte === 0xf6) return null
      if (byte === 0xf5) return true
      if (byte === 0xf4) return false
      return bad(c)
    default:
      return bad(c) // tags (6): none are allowed
  }
}

/** Whether b[s2, s2+len) sorts strictly after b[s1, s1+len). */
function bytesAfter(b: Uint8Array, s1: number, s2: number, len: number): boolean {
  for (let i = 0; i < len; i++) {
    const d = b[s2 + i]! - b[s1 + i]!
    if (d !== 0) return d > 0
  }
  return false
}

/**
 * Decodes a dag-cbor body that is canonical; `NOT_FAST` for anything else (or anything this
 * reader is unsure of). Byte strings in the result are views of `bytes`.
 */
export function readCanonicalBody(bytes: Uint8Array): unknown {
  const c: Cursor = { b: bytes, o: 0, end: bytes.length, fail: false }
  const v = value(c, 0)
  return c.fail || c.o !== c.end ? NOT_FAST : v
}

/** The record layout's map keys in canonical order, with their encodings. */
const KEYS = ['v', 'hlc', 'seq', 'body', 'prev', 'site', 'type', 'author', 'parents'] as const
const KEY_BYTES = KEYS.map((k) => new Uint8Array([0x60 | k.length, ...Buffer.from(k)]))

export interface LayoutFields {
  v: number
  site: Uint8Array
  author: Uint8Array
  seq: number
  prev: Uint8Array | null
  parents: Uint8Array[]
  /** [ms, counter], as the generic decoder gives it. */
  hlc: [number, number]
  type: string
  body: Uint8Array
}

function key(c: Cursor, i: number): void {
  const kb = KEY_BYTES[i]!
  if (c.o + kb.length > c.end) {
    c.fail = true
    return
  }
  for (let j = 0; j < kb.length; j++)
    if (c.b[c.o + j] !== kb[j]) {
      c.fail = true
      return
    }
  c.o += kb.length
}

function byteString(c: Cursor): Uint8Array | null {
  const n = head(c, 2)
  return c.fail ? null : bytesOf(c, n)
}

/**
 * Reads the record layout (`encodeRecord`'s output) with shortest-form heads throughout and
 * nothing after it: such bytes are the canonical encoding of the fields read. Field values are
 * not judged here (the caller checks sizes, ranges and the type pattern). Views of `bytes`.
 */
export function readRecordLayout(bytes: Uint8Array): LayoutFields | typeof NOT_FAST {
  const c: Cursor = { b: bytes, o: 1, end: bytes.length, fail: bytes[0] !== 0xa9 }
  key(c, 0)
  const v = head(c, 0)
  key(c, 1)
  if (c.b[c.o++] !== 0x82) c.fail = true
  const ms = head(c, 0)
  const cc = head(c, 0)
  key(c, 2)
  const seq = head(c, 0)
  key(c, 3)
  const body = byteString(c)
  key(c, 4)
  let prev: Uint8Array | null = null
  if (c.b[c.o] === 0xf6) c.o++
  else prev = byteString(c)
  key(c, 5)
  const site = byteString(c)
  key(c, 6)
  const typeLen = head(c, 3)
  const type = c.fail ? null : text(c, typeLen)
  key(c, 7)
  const author = byteString(c)
  key(c, 8)
  const count = head(c, 4)
  const parents: Uint8Array[] = []
  for (let i = 0; i < count && !c.fail; i++) {
    const p = byteString(c)
    if (p) parents.push(p)
  }
  if (c.fail || c.o !== c.end || !body || !site || !author || type === null) return NOT_FAST
  return { v, site, author, seq, prev, parents, hlc: [ms, cc], type, body }
}

/** SHA-256(domain || bytes) in one call, through a reused scratch buffer. */
export function makeDomainHasher(domain: Uint8Array, maxBytes: number): (bytes: Uint8Array) => Uint8Array {
  const scratch = new Uint8Array(domain.length + maxBytes)
  scratch.set(domain, 0)
  // Records of a run are mostly one length: the view of the scratch buffer is kept for it.
  let view = scratch.subarray(0, 0)
  let viewLength = 0
  return (bytes) => {
    if (bytes.length > maxBytes) {
      const all = new Uint8Array(domain.length + bytes.length)
      all.set(domain, 0)
      all.set(bytes, domain.length)
      return latin1Bytes(hash('sha256', all, 'binary'))
    }
    scratch.set(bytes, domain.length)
    const n = domain.length + bytes.length
    if (n !== viewLength) {
      view = scratch.subarray(0, n)
      viewLength = n
    }
    return latin1Bytes(hash('sha256', view, 'binary')) // 'binary' is latin1
  }
}

/**
 * The bytes of a digest given as a latin1 string (one character per byte). Half the cost of
 * a Buffer digest copied out: a 32-byte Uint8Array lives in the JS heap, a Buffer's memory
 * outside it, which every young-generation collection must account for.
 */
function latin1Bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length)
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i)
  return out
}
