/**
 * The authors a ledger holds (one row each in `authors`) and their heads, in memory: looked up
 * by key hex on every ingested record, by index when rows are read back.
 */

import { type Hlc, ZERO_HLC } from './hlc.ts'
import { toHex } from './record.ts'
import type { Stmts } from './statements.ts'
import type { Db } from './store.ts'

export interface Author {
  idx: number
  key: Uint8Array
  hex: string
  headSeq: number
  headId: Uint8Array | null
  headHlc: Hlc
  /**
   * The newest record signed by this node with a key it holds, not yet committed (group commit
   * in flight): the next local append chains on it. Only local appends set it.
   */
  reserved: { seq: number; id: Uint8Array; hlc: Hlc } | null
}

export class Authors {
  readonly byHex = new Map<string, Author>()
  /** Stored authors by their index (an author a local append has not stored yet has idx -1). */
  readonly byIdx: Author[] = []
  /** Enrolment records naming a key (key hex → [author idx, seq]); genesis admins included. */
  readonly enrolments = new Map<string, Array<[number, number]>>()
  /** Authors whose head moved in the current transaction: written once, when state is. */
  readonly moved = new Set<Author>()

  add(idx: number, key: Uint8Array, headSeq: number, headId: Uint8Array | null, headHlc: Hlc): Author {
    const a: Author = {
      idx,
      key: new Uint8Array(key),
      hex: toHex(key),
      headSeq,
      headId,
      headHlc,
      reserved: null,
    }
    this.byHex.set(a.hex, a)
    if (idx >= 0) this.byIdx[idx] = a
    return a
  }

  /** author hex → { seq, id hex } of every author's newest record. */
  heads(): Map<string, { seq: number; id: string }> {
    const out = new Map<string, { seq: number; id: string }>()
    for (const a of this.byIdx) if (a.headId) out.set(a.hex, { seq: a.headSeq, id: toHex(a.headId) })
    return out
  }

  enrol(keyHex: string, authorIdx: number, seq: number): void {
    const list = this.enrolments.get(keyHex) ?? []
    list.push([authorIdx, seq])
    this.enrolments.set(keyHex, list)
  }

  /** Reads every head back from the database (after a transaction failed) and drops reservations. */
  reload(db: Db, stmts: Stmts): void {
    for (const a of this.byIdx) {
      const row = db.prepare('SELECT head_seq FROM authors WHERE idx = ?').get(a.idx) as {
        head_seq: number
      }
      const head =
        row.head_seq > 0
          ? (stmts.headRow.get(a.idx, row.head_seq) as { id: Uint8Array; ms: number; c: number })
          : null
      a.headSeq = row.head_seq
      a.headId = head?.id ?? null
      a.headHlc = head ? { ms: head.ms, c: head.c } : ZERO_HLC
    }
    for (const a of this.byHex.values()) a.reserved = null
  }

  /** Writes the heads that moved (inside the caller's transaction). */
  writeMoved(stmts: Stmts): void {
    for (const a of this.moved) stmts.setHead.run(a.headSeq, a.idx)
    this.moved.clear()
  }
}
