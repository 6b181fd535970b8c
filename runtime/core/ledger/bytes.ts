/** Byte helpers of the ledger: ids, keys and hashes compared, ordered and written as hex. */

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  const n = a.length
  if (n !== b.length) return false
  // Keys, ids and hashes (≤ 64 bytes) compare faster in a loop than through a native call.
  if (n > 64) return Buffer.compare(a, b) === 0
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false
  return true
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  if (n > 64) return Buffer.compare(a, b)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')
}

let lastKey: Uint8Array | null = null
let lastKeyHex = ''

/**
 * Hex of an author key, remembering the last one: a batch from a peer is mostly long runs of
 * one author, and the ingest path asks for the same key's hex several times per record.
 */
export function keyHex(key: Uint8Array): string {
  if (lastKey !== null && equalBytes(key, lastKey)) return lastKeyHex
  lastKeyHex = toHex(key)
  lastKey = new Uint8Array(key)
  return lastKeyHex
}

export function fromHex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'hex'))
}
