/**
 * Record ids whose record_ids rows are not written yet, looked up in memory until they are.
 *
 * Relayed records (a catch-up) leave their record_ids rows to index runs that the catch-up
 * session starts between ingest steps and once the burst is over (./relay-session.ts). Ids are random,
 * so every row lands on a random B-tree leaf: written as the records arrived (runs of a few
 * dozen), rows cost about 6 µs each and every relayed commit rewrote most leaves; written in
 * long runs sorted by prefix, about 3 µs.
 *
 * Entries live in typed arrays (no object per entry: a catch-up holds tens of thousands, and
 * objects that live that long are promoted and collected by full GCs). They are kept in rowid
 * order, the order records are stored in, so a rolled-back transaction's entries are a tail and
 * an index run's entries a head. A hash table (open addressing) maps a prefix to its latest
 * entry; `prev` chains the entries that share it.
 */
const ID_BYTES = 32

export class IdOverlay {
  #size = 0
  #prefixes = new Uint32Array(64)
  #rowids = new Float64Array(64)
  #ids = new Uint8Array(64 * ID_BYTES)
  /** The entry before this one with the same prefix, or -1. */
  #prev = new Int32Array(64)
  /** Slots: latest entry + 1 for a prefix, 0 when empty; the length is a power of two. */
  #table = new Int32Array(128)

  get size(): number {
    return this.#size
  }

  prefixAt(i: number): number {
    return this.#prefixes[i]!
  }

  rowidAt(i: number): number {
    return this.#rowids[i]!
  }

  /** The id of entry `i`, a view of the overlay's storage (valid until entries are dropped). */
  idAt(i: number): Uint8Array {
    return this.#ids.subarray(i * ID_BYTES, (i + 1) * ID_BYTES)
  }

  add(prefix: number, id: Uint8Array, rowid: number): void {
    if (id.length !== ID_BYTES) throw new RangeError(`a record id is ${ID_BYTES} bytes, not ${id.length}`)
    if (this.#size === this.#prefixes.length) this.#grow()
    const i = this.#size++
    this.#prefixes[i] = prefix
    this.#rowids[i] = rowid
    this.#ids.set(id, i * ID_BYTES)
    const slot = this.#slot(prefix)
    this.#prev[i] = this.#table[slot]! - 1
    this.#table[slot] = i + 1
  }

  /** Adds every entry of `other` (in its order), copied block by block. */
  addAll(other: IdOverlay): void {
    const n = other.#size
    while (this.#size + n > this.#prefixes.length) this.#grow()
    const at = this.#size
    this.#prefixes.set(other.#prefixes.subarray(0, n), at)
    this.#rowids.set(other.#rowids.subarray(0, n), at)
    this.#ids.set(other.#ids.subarray(0, n * ID_BYTES), at * ID_BYTES)
    for (let i = at; i < at + n; i++) {
      const slot = this.#slot(this.#prefixes[i]!)
      this.#prev[i] = this.#table[slot]! - 1
      this.#table[slot] = i + 1
    }
    this.#size = at + n
  }

  /** The rowid stored for this id, or -1. */
  find(prefix: number, id: Uint8Array): number {
    if (this.#size === 0) return -1
    const ids = this.#ids
    for (let i = this.#table[this.#slot(prefix)]! - 1; i >= 0; i = this.#prev[i]!) {
      const at = i * ID_BYTES
      let k = 0
      while (k < ID_BYTES && ids[at + k] === id[k]) k++
      if (k === ID_BYTES) return this.#rowids[i]!
    }
    return -1
  }

  /** Drops the entries of rowid `rowid` and above (a transaction that rolled back took them). */
  truncateFrom(rowid: number): void {
    let n = this.#size
    while (n > 0 && this.#rowids[n - 1]! >= rowid) n--
    if (n < this.#size) this.#keep(0, n)
  }

  /** Drops the first `n` entries (their rows are written). */
  dropFirst(n: number): void {
    if (n > 0) this.#keep(Math.min(n, this.#size), this.#size)
  }

  clear(): void {
    if (this.#size > 0) this.#keep(0, 0)
  }

  /** Keeps entries [from, to), moved to the front, and rebuilds the table. */
  #keep(from: number, to: number): void {
    const n = to - from
    if (from > 0) {
      this.#prefixes.copyWithin(0, from, to)
      this.#rowids.copyWithin(0, from, to)
      this.#ids.copyWithin(0, from * ID_BYTES, to * ID_BYTES)
    }
    this.#size = n
    this.#table.fill(0)
    for (let i = 0; i < n; i++) {
      const slot = this.#slot(this.#prefixes[i]!)
      this.#prev[i] = this.#table[slot]! - 1
      this.#table[slot] = i + 1
    }
  }

  /** The slot of `prefix`: its own, or the empty one where it would go (linear probing). */
  #slot(prefix: number): number {
    const mask = this.#table.length - 1
    // Prefixes are the first bytes of SHA-256 ids: already uniform, so the low bits will do.
    for (let s = prefix & mask; ; s = (s + 1) & mask) {
      const e = this.#table[s]!
      if (e === 0 || this.#prefixes[e - 1] === prefix) return s
    }
  }

  #grow(): void {
    const cap = this.#prefixes.length * 2
    const grow = <T extends Uint32Array | Float64Array | Uint8Array | Int32Array>(a: T, n: number): T => {
      const b = new (a.constructor as new (n: number) => T)(n)
      b.set(a)
      return b
    }
    this.#prefixes = grow(this.#prefixes, cap)
    this.#rowids = grow(this.#rowids, cap)
    this.#ids = grow(this.#ids, cap * ID_BYTES)
    this.#prev = grow(this.#prev, cap)
    // The table stays at most half full.
    this.#table = new Int32Array(cap * 2)
    this.#keep(0, this.#size)
  }
}
