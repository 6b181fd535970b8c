/**
 * Deterministic state: a map of string keys (namespaced "dapp/…") to CBOR-encodable values,
 * held in memory so decisions never touch the disk. The state hash is the XOR of
 * SHA-256(key || 0x00 || canonical value bytes) over all entries: independent of the order
 * entries were written in, updated in O(1) per write, equal on every node with equal state.
 *
 * Every write made while folding a record is journalled (old value) so a late record that
 * sorts early can be replayed from its position: undo back to it, then fold forward again.
 */
import { createHash } from 'node:crypto'
import * as dagCbor from '@ipld/dag-cbor'

export interface StateEntry {
  readonly value: unknown
  readonly bytes: Uint8Array
  readonly hash: Buffer
}

export interface Change {
  readonly key: string
  /** The value's encoding before the change; null when the key did not exist. */
  readonly old: Uint8Array | null
}

/** Read access for validators, queries and decisions. */
export interface StateView {
  get<T = unknown>(key: string): T | undefined
  has(key: string): boolean
  /** Entries whose key starts with `prefix`, in key order. */
  list<T = unknown>(prefix: string): Array<[string, T]>
}

/** Write access for reducers, scoped to one record's fold step. */
export interface StateWriter extends StateView {
  put(key: string, value: unknown): void
  del(key: string): void
}

function entryHash(key: string, bytes: Uint8Array): Buffer {
  return createHash('sha256')
    .update(key)
    .update(new Uint8Array([0]))
    .update(bytes)
    .digest()
}

export class State implements StateView {
  readonly #entries = new Map<string, StateEntry>()
  readonly #hash = Buffer.alloc(32)
  /** Changes made since the journal was last taken: the undo data of the record being folded. */
  #journal: Change[] = []
  /** Keys written since the last flush: what must be persisted. */
  readonly dirty = new Set<string>()

  get size(): number {
    return this.#entries.size
  }

  get hash(): string {
    return this.#hash.toString('hex')
  }

  get<T = unknown>(key: string): T | undefined {
    return this.#entries.get(key)?.value as T | undefined
  }

  has(key: string): boolean {
    return this.#entries.has(key)
  }

  list<T = unknown>(prefix: string): Array<[string, T]> {
    const out: Array<[string, T]> = []
    for (const [k, e] of this.#entries) if (k.startsWith(prefix)) out.push([k, e.value as T])
    return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  }

  put(key: string, value: unknown): void {
    const bytes = dagCbor.encode(value)
    const old = this.#entries.get(key)
    if (old && Buffer.compare(old.bytes, bytes) === 0) return
    this.#journal.push({ key, old: old?.bytes ?? null })
    // Decode the canonical bytes so the stored value is exactly what every node derives.
    this.#set(key, { value: dagCbor.decode(bytes), bytes, hash: entryHash(key, bytes) })
  }

  del(key: string): void {
    const old = this.#entries.get(key)
    if (!old) return
    this.#journal.push({ key, old: old.bytes })
    this.#set(key, null)
  }

  /** Loads a persisted entry (at open): no journal. */
  load(key: string, bytes: Uint8Array): void {
    this.#set(key, { value: dagCbor.decode(bytes), bytes, hash: entryHash(key, bytes) })
    this.dirty.delete(key)
  }

  /** Takes the changes journalled since the last call. */
  takeJournal(): Change[] {
    const j = this.#journal
    this.#journal = []
    return j
  }

  /** Reverts changes (newest first) without journalling them. */
  revert(changes: readonly Change[]): void {
    for (let i = changes.length - 1; i >= 0; i--) {
      const { key, old } = changes[i]!
      this.#set(key, old ? { value: dagCbor.decode(old), bytes: old, hash: entryHash(key, old) } : null)
    }
  }

  clear(): void {
    for (const key of this.#entries.keys()) this.dirty.add(key)
    this.#entries.clear()
    this.#hash.fill(0)
    this.#journal = []
  }

  entryBytes(key: string): Uint8Array | null {
    return this.#entries.get(key)?.bytes ?? null
  }

  #set(key: string, entry: StateEntry | null): void {
    const old = this.#entries.get(key)
    if (old) xorInto(this.#hash, old.hash)
    if (entry) {
      xorInto(this.#hash, entry.hash)
      this.#entries.set(key, entry)
    } else {
      this.#entries.delete(key)
    }
    this.dirty.add(key)
  }
}

function xorInto(target: Buffer, other: Buffer): void {
  for (let i = 0; i < 32; i++) target[i] = (target[i] as number) ^ (other[i] as number)
}
