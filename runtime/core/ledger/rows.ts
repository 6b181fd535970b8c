/**
 * The store step: records as rows (columns, not encoded bytes), written in multi-row INSERTs
 * inside the caller's transaction, and their ids in `record_ids`, written in runs sorted by id
 * prefix. Reading a record back re-derives its canonical fields from its row.
 */

import { AUTHORITY_TYPES } from './authority.ts'
import type { Authors } from './authors.ts'
import type { HybridClock } from './hlc.ts'
import { type Hlc, ZERO_HLC } from './hlc.ts'
import { IdOverlay } from './id-overlay.ts'
import {
  decodeBody,
  encodeRecord,
  equalBytes,
  GENESIS_SITE,
  keyHex,
  RECORD_VERSION,
  type RecordFields,
  type SignedRecord,
  toHex,
} from './record.ts'
import { COLUMNS, IDS_PER_INSERT, ROWS_PER_INSERT, type Stmts } from './statements.ts'
import type { Db } from './store.ts'

/** Record ids are SHA-256 digests. */
export const ID_BYTES = 32

export interface Row {
  rowid: number
  author: number
  seq: number
  ms: number
  c: number
  type: number
  id: Uint8Array
  sig: Uint8Array
  parents: Uint8Array | null
  body: Uint8Array
}

/** A transaction held open across calls: committed before anything else writes. */
export interface HeldTransaction {
  commit(): void
}

/** Ids stored and looked up in memory, whose record_ids rows are written later. */
export interface WaitingIds {
  find(prefix: number, id: Uint8Array): number
  /** The rows from `rowid` on were rolled back. */
  truncateFrom(rowid: number): void
}

export class Rows {
  readonly db: Db
  readonly stmts: Stmts
  readonly authors: Authors
  /** Type name → index in `types`, and back. */
  readonly types = new Map<string, number>()
  readonly typeNames: string[] = []
  site: Uint8Array | null
  /** Records stored (meta 'count'). */
  count = 0
  /**
   * The rangeWire statement joins blobs with `||`, which keeps every byte in a UTF-8 database
   * (the encoding openDb creates); a file in a UTF-16 encoding is served through `range`.
   */
  readonly utf8: boolean
  held: HeldTransaction | null = null
  waiting: WaitingIds | null = null
  /**
   * Ids of records stored by the ingest step in progress, with their rowids, looked up here
   * until the step's end: then `writeIds` writes their record_ids rows, sorted, or a held
   * transaction takes them over.
   */
  readonly pending = new IdOverlay()
  /** Rowid of the next stored record (explicit, so rows can be written in multi-row INSERTs). */
  #nextRowid = 1
  /** Column values of records stored in this transaction but not yet written (see writeRows). */
  #values: unknown[] = []
  #clock: HybridClock

  constructor(db: Db, stmts: Stmts, authors: Authors, clock: HybridClock, site: Uint8Array | null) {
    this.db = db
    this.stmts = stmts
    this.authors = authors
    this.#clock = clock
    this.site = site
    this.utf8 = db.pragma('encoding', { simple: true }) === 'UTF-8'
  }

  /** Commits a transaction held open across calls, if any: every other write goes after it. */
  releaseHeld(): void {
    this.held?.commit()
  }

  meta(key: string): unknown {
    return (this.stmts.metaGet.get(key) as { value: unknown } | undefined)?.value
  }

  /** Queues the record's row (inside the caller's transaction); returns its rowid. */
  store(r: SignedRecord): number {
    const authors = this.authors
    const stmts = this.stmts
    const hex = keyHex(r.author)
    let author = authors.byHex.get(hex)
    if (!author || author.idx < 0) {
      const idx = authors.byIdx.length
      stmts.insertAuthor.run(idx, r.author)
      if (author) {
        author.idx = idx // a local author whose first record is being stored
        authors.byIdx[idx] = author
      } else {
        author = authors.add(idx, r.author, 0, null, ZERO_HLC)
      }
    }
    let typeIdx = this.types.get(r.type)
    if (typeIdx === undefined) {
      typeIdx = this.typeNames.length
      stmts.insertType.run(typeIdx, r.type)
      this.types.set(r.type, typeIdx)
      this.typeNames[typeIdx] = r.type
    }
    const parents = r.parents.length > 0 ? Buffer.concat(r.parents) : null
    const rowid = this.#nextRowid++
    this.#values.push(rowid, author.idx, r.seq, r.hlc.ms, r.hlc.c, typeIdx, r.id, r.sig, parents, r.body)
    this.pending.add(prefix32(r.id), r.id, rowid)
    if (this.#values.length >= ROWS_PER_INSERT * COLUMNS) this.writeRows()
    if (AUTHORITY_TYPES.has(r.type)) stmts.authorityRowPut.run(rowid)
    authors.moved.add(author)
    author.headSeq = r.seq
    author.headId = r.id
    author.headHlc = r.hlc
    if (r.type === 'site.genesis') {
      this.site = r.id
      stmts.metaPut.run('site', r.id)
      for (const k of (decodeBody<{ admins?: unknown }>(r.body).admins as Uint8Array[]) ?? [])
        authors.enrol(toHex(k), author.idx, r.seq)
    } else if (r.type === 'site.enrol') {
      const key = decodeBody<{ key?: unknown }>(r.body).key
      if (key instanceof Uint8Array) authors.enrol(toHex(key), author.idx, r.seq)
    }
    this.#clock.observe(r.hlc)
    return rowid
  }

  /** Writes the queued record rows; called before anything reads records and at the end of a batch. */
  writeRows(): void {
    const values = this.#values
    if (values.length === 0) return
    this.#values = []
    if (values.length === ROWS_PER_INSERT * COLUMNS) {
      this.stmts.insertRecords.run(values)
      return
    }
    for (let i = 0; i < values.length; i += COLUMNS) this.stmts.insertRecord.run(values.slice(i, i + COLUMNS))
  }

  /**
   * Writes the record_ids rows of the records stored by this ingest step, sorted by id prefix
   * so that each B-tree page is visited once per run rather than once per record.
   */
  writeIds(): void {
    const pending = this.pending
    const n = pending.size
    if (n === 0) return
    this.insertIds(pending, byPrefix(pending, n), 0, n)
    pending.clear()
  }

  /** Inserts rows `order[from..to)` of `src` (rows already there are left as they are). */
  insertIds(src: IdOverlay, order: Int32Array, from: number, to: number): void {
    const values: unknown[] = []
    let i = from
    for (; i + IDS_PER_INSERT <= to; i += IDS_PER_INSERT) {
      values.length = 0
      for (let j = i; j < i + IDS_PER_INSERT; j++) values.push(src.idAt(order[j]!), src.rowidAt(order[j]!))
      this.stmts.insertIds.run(values)
    }
    for (; i < to; i++) this.stmts.insertId.run(src.idAt(order[i]!), src.rowidAt(order[i]!))
  }

  /** The stored row of a record id: ids of this step, ids waiting for their rows, then record_ids. */
  rowById(id: Uint8Array): Row | null {
    this.writeRows()
    const p = prefix32(id)
    let rowid = this.pending.find(p, id)
    if (rowid < 0 && this.waiting) rowid = this.waiting.find(p, id)
    if (rowid >= 0) {
      const row = this.stmts.rowByRowid.get(rowid) as Row | undefined
      if (row && equalBytes(row.id, id)) return row
    }
    for (const row of this.stmts.byId.all(id) as Row[]) if (equalBytes(row.id, id)) return row
    return null
  }

  idAt(authorIdx: number, seq: number): Uint8Array | null {
    return (this.stmts.idAt.get(authorIdx, seq) as { id: Uint8Array } | undefined)?.id ?? null
  }

  /** Re-reads the next rowid (at open, and after a transaction rolled back: so did its rowids). */
  loadNextRowid(): void {
    this.#values = []
    this.#nextRowid = Number((this.stmts.maxRowid.get() as { m: number | null }).m ?? 0) + 1
    // Pending ids belong to the step that rolled back (or, at open, there are none).
    this.pending.clear()
    this.waiting?.truncateFrom(this.#nextRowid)
  }
}

/** A stored record as a signed record (its bytes re-encoded from the row's columns). */
export function fromRow(rows: Rows, row: Row, prev: Uint8Array | null): SignedRecord {
  const author = rows.authors.byIdx[row.author]!.key
  const f = fields(rows, author, row.type, row.seq, row.ms, row.c, row.id, prev, row.parents, row.body)
  const bytes = encodeRecord(f)
  return { ...f, bytes, id: row.id, sig: row.sig }
}

/** A stored record's fields, from its row's columns. */
export function fields(
  rows: Rows,
  author: Uint8Array,
  typeIdx: number,
  seq: number,
  ms: number,
  c: number,
  id: Uint8Array,
  prev: Uint8Array | null,
  parents: Uint8Array | null,
  body: Uint8Array,
): RecordFields {
  const type = rows.typeNames[typeIdx]!
  const site = rows.site
  return {
    v: RECORD_VERSION,
    site: type === 'site.genesis' && seq === 1 && site && equalBytes(id, site) ? GENESIS_SITE : site!,
    author,
    seq,
    prev,
    parents: splitIds(parents),
    hlc: { ms, c },
    type,
    body,
  }
}

/** What the fold needs of a stored row. */
export function rowRecord(
  rows: Rows,
  row: Row,
): { id: Uint8Array; author: Uint8Array; seq: number; hlc: Hlc; type: string; body: Uint8Array } {
  return {
    id: row.id,
    author: rows.authors.byIdx[row.author]!.key,
    seq: row.seq,
    hlc: { ms: row.ms, c: row.c },
    type: rows.typeNames[row.type]!,
    body: row.body,
  }
}

function splitIds(blob: Uint8Array | null): Uint8Array[] {
  if (!blob) return []
  const out: Uint8Array[] = []
  for (let i = 0; i < blob.length; i += ID_BYTES) out.push(new Uint8Array(blob.subarray(i, i + ID_BYTES)))
  return out
}

export function prefix32(id: Uint8Array): number {
  return ((id[0]! << 24) | (id[1]! << 16) | (id[2]! << 8) | id[3]!) >>> 0
}

/**
 * Entries 0..n-1 ordered by the top bits of their prefix (a counting sort, stable: rowid order
 * within a bucket). Rows need only land near each other, not in exact order: with at least as
 * many buckets as entries (up to 65,536), neighbours share a B-tree leaf, in one pass over the
 * entries where a comparison sort would take a whole turn.
 */
export function byPrefix(ids: IdOverlay, n: number): Int32Array {
  const bits = Math.min(16, Math.max(1, Math.ceil(Math.log2(n + 1))))
  const shift = 32 - bits
  const starts = new Uint32Array((1 << bits) + 1)
  for (let i = 0; i < n; i++) starts[(ids.prefixAt(i) >>> shift) + 1]!++
  for (let b = 1; b < starts.length; b++) starts[b]! += starts[b - 1]!
  const order = new Int32Array(n)
  for (let i = 0; i < n; i++) order[starts[ids.prefixAt(i) >>> shift]!++] = i
  return order
}
