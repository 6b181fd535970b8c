/**
 * Named reads of a ledger (`Ledger.query`): records back in signed or wire form, what the fold
 * made of a record, the quarantine, counters, and a whole-ledger check. Nothing outside
 * runtime/core/ledger/ runs SQL on a ledger: what a tool needs is a method here.
 */
import type { Hlc } from './hlc.ts'
import { Reason, type Rejection } from './reasons.ts'
import {
  encodeWire,
  equalBytes,
  fromHex,
  recordId,
  SIG_BYTES,
  type SignedRecord,
  toHex,
  wireBytes,
} from './record.ts'
import { fields, fromRow, ID_BYTES, type Row, rowRecord } from './rows.ts'
import type { LedgerCounters, Parts, RecordStatus, VerifyProblem } from './types.ts'
import { VerifyPool } from './verify-pool.ts'

/** A stored record as `recent` lists it. */
export interface RecentRecord {
  author: Uint8Array
  seq: number
  hlc: Hlc
  type: string
  id: Uint8Array
  body: Uint8Array
}

export class LedgerQuery {
  #p: Parts

  constructor(p: Parts) {
    this.#p = p
  }

  get counters(): Readonly<LedgerCounters> {
    return this.#p.counters
  }

  /** WAL checkpoints done on the worker (null: no worker, SQLite checkpoints in commits). */
  get checkpoints(): { done: number; failed: number } | null {
    return this.#p.checkpointer?.stats ?? null
  }

  /** What a summary of this ledger states: every author's head, the record count, the state hash. */
  tip(): { heads: Map<string, { seq: number; id: string }>; count: number; stateHash: string } {
    const p = this.#p
    return { heads: p.authors.heads(), count: p.store?.count ?? 0, stateHash: p.state.hash }
  }

  /** Signed records of one author from `fromSeq` (inclusive), at most `limit`. */
  range(authorHex: string, fromSeq: number, limit: number): SignedRecord[] {
    const store = this.#p.store
    const a = this.#p.authors.byHex.get(authorHex)
    if (!a || a.idx < 0) return []
    const rows = store.stmts.rangeByAuthor.all(a.idx, fromSeq, limit) as Row[]
    let prev = fromSeq > 1 ? store.idAt(a.idx, fromSeq - 1) : null
    return rows.map((row) => {
      const r = fromRow(store, row, prev)
      prev = row.id
      return r
    })
  }

  /**
   * The same records as `range`, in wire form (`sig || canonical bytes`, one buffer each): what a
   * peer is sent. Serving a catch-up is mostly this: one blob column per row instead of four,
   * and no second copy of the record bytes.
   */
  rangeWire(authorHex: string, fromSeq: number, limit: number): Uint8Array[] {
    const store = this.#p.store
    if (!store.utf8) return this.range(authorHex, fromSeq, limit).map(wireBytes)
    const a = this.#p.authors.byHex.get(authorHex)
    if (!a || a.idx < 0) return []
    const rows = store.stmts.rangeWire.all(a.idx, fromSeq, limit) as Array<
      [seq: number, ms: number, c: number, type: number, parentBytes: number | null, blob: Uint8Array]
    >
    let prev = fromSeq > 1 ? store.idAt(a.idx, fromSeq - 1) : null
    const out: Uint8Array[] = []
    for (const [seq, ms, c, type, parentBytes, blob] of rows) {
      const id = blob.subarray(0, ID_BYTES)
      const bodyAt = ID_BYTES + SIG_BYTES + (parentBytes ?? 0)
      const parents = parentBytes ? blob.subarray(ID_BYTES + SIG_BYTES, bodyAt) : null
      const f = fields(store, a.key, type, seq, ms, c, id, prev, parents, blob.subarray(bodyAt))
      out.push(encodeWire(f, blob.subarray(ID_BYTES, ID_BYTES + SIG_BYTES)))
      prev = id
    }
    return out
  }

  /** Every stored record as a signed record, in (author, seq) order. */
  *records(): Generator<SignedRecord> {
    const store = this.#p.store
    const byAuthor = store.db.prepare('SELECT rowid, * FROM records WHERE author = ? ORDER BY seq')
    for (const a of this.#p.authors.byIdx) {
      let prev: Uint8Array | null = null
      for (const row of byAuthor.iterate(a.idx) as IterableIterator<Row>) {
        const r = fromRow(store, row, prev)
        prev = row.id
        yield r
      }
    }
  }

  /** The newest `limit` records in the total order, oldest first. */
  recent(limit: number): RecentRecord[] {
    const rows = this.#p.store.stmts.recent.all(limit) as Array<{
      author: Uint8Array
      seq: number
      ms: number
      c: number
      type: string
      id: Uint8Array
      body: Uint8Array
    }>
    return rows.reverse().map((r) => ({
      author: r.author,
      seq: r.seq,
      hlc: { ms: r.ms, c: r.c },
      type: r.type,
      id: r.id,
      body: r.body,
    }))
  }

  /**
   * How the fold left a stored record, or null when no record has this id. Read from what the
   * fold recorded (rejection markers, meta 'deferred'), so a tool that opens the ledger without
   * the dapps sees what the node decided.
   */
  statusOf(idHex: string): RecordStatus | null {
    const row = this.#p.store.rowById(fromHex(idHex))
    if (!row) return null
    return this.#p.fold.outcome(idHex, rowRecord(this.#p.store, row)).status
  }

  /** Why the fold did not apply a record: the code from state, the sentence from beside it. */
  rejectionOf(idHex: string): Rejection | null {
    return this.#p.fold.rejectionOf(idHex, null)
  }

  /** Records held or refused from peers, oldest first. */
  quarantined(): Array<{ code: string; detail: string; retry: boolean; receivedMs: number }> {
    return this.#p.quarantine.list()
  }

  /**
   * What the quarantine holds of these exact wire bytes (signature included): the reason code,
   * its sentence, and whether it is held for a retry; null when it holds nothing of them.
   */
  quarantineOf(wire: Uint8Array): { code: string; detail: string; retry: boolean } | null {
    const row = this.#p.store.stmts.quarantineByRef.get(recordId(wire)) as
      | { code: string; detail: string; retry: number }
      | undefined
    return row ? { code: row.code, detail: row.detail, retry: row.retry === 1 } : null
  }

  /** Records held for a retry (a missing predecessor or parent, a clock ahead, no genesis yet). */
  heldCount(): number {
    return (this.#p.store.stmts.quarantineHeldCount.get() as { n: number }).n
  }

  /** Stored records whose fold waits for a dapp that owns their type. */
  get deferredCount(): number {
    return this.#p.fold.deferred.count(this.#p.store)
  }

  /** The stored bytes of a state entry (what the state hash covers), or null. */
  stateBytes(key: string): Uint8Array | null {
    return this.#p.state.entryBytes(key)
  }

  /** Record ids with their record_ids row written (the others wait in a catch-up's memory). */
  indexedIds(): number {
    return (this.#p.store.stmts.indexedIds.get() as { n: number }).n
  }

  /**
   * Re-checks every hash link and every signature; signatures are verified in batches on worker
   * threads (one per core). Returns the first problem in (author, seq) order, or null.
   */
  async verifyAll(
    onProgress?: (checked: number) => void,
  ): Promise<{ checked: number; problem: VerifyProblem | null }> {
    const store = this.#p.store
    const pool = new VerifyPool()
    const queue: Array<Promise<VerifyProblem | null>> = []
    let batch: Array<{
      author: Uint8Array
      id: Uint8Array
      sig: Uint8Array
      where: Omit<VerifyProblem, 'problem'>
    }> = []
    let checked = 0
    const send = () => {
      const b = batch
      batch = []
      queue.push(
        pool.verify(b).then((ok) => {
          const bad = ok.indexOf(0)
          return bad < 0
            ? null
            : { ...b[bad]!.where, problem: 'signature does not verify', reason: Reason.BAD_SIGNATURE }
        }),
      )
    }
    /** Signature problems of earlier records come first: drain the queue in order. */
    const drain = async (keep: number): Promise<VerifyProblem | null> => {
      while (queue.length > keep) {
        const problem = await queue.shift()!
        if (problem) return problem
      }
      return null
    }
    try {
      for (const a of this.#p.authors.byIdx) {
        let expectSeq = 1
        let prev: Uint8Array | null = null
        for (;;) {
          // Pages, not a live cursor: appends may run between pages.
          const rows = store.stmts.rangeByAuthor.all(a.idx, expectSeq, 4096) as Row[]
          if (rows.length === 0) break
          for (const row of rows) {
            const where = { author: a.hex, seq: row.seq, id: toHex(row.id) }
            if (row.seq !== expectSeq) {
              if (batch.length) send()
              return {
                checked,
                problem: (await drain(0)) ?? {
                  ...where,
                  problem: `sequence gap: expected ${expectSeq}`,
                  reason: Reason.SEQ_GAP,
                },
              }
            }
            const r = fromRow(store, row, prev)
            if (!equalBytes(recordId(r.bytes), row.id)) {
              if (batch.length) send()
              return {
                checked,
                problem: (await drain(0)) ?? {
                  ...where,
                  problem:
                    'hash mismatch: the stored record does not hash to its id (altered, or its predecessor was)',
                },
              }
            }
            batch.push({ author: a.key, id: row.id, sig: row.sig, where })
            if (batch.length >= 1024) send()
            prev = row.id
            expectSeq++
            checked++
            if (onProgress && checked % 100_000 === 0) onProgress(checked)
          }
          const problem = await drain(4)
          if (problem) return { checked, problem }
        }
      }
      if (batch.length) send()
      return { checked, problem: await drain(0) }
    } finally {
      await pool.close()
    }
  }
}
