/**
 * How a catch-up writes (./relay-session.ts drives it): records relayed by peers share one
 * transaction held open across calls and event-loop turns, committed with WAL
 * synchronous=NORMAL once it reaches its bounds (./bounds.ts), before any other write, and on
 * close. Atomic and safe from a process crash; a power cut can lose the newest such
 * transactions, which the next sync fetches again from the peers that hold them (an author's
 * own records and everything submitted to this node are committed with synchronous=FULL, and a
 * FULL commit syncs every earlier one with it; docs/PROTOCOL.md, "What a receiver commits").
 *
 * Relayed records' ids wait in memory (./id-overlay.ts) instead of getting their record_ids
 * rows at once; index runs write them sorted by prefix, a B-tree leaf visited once for many
 * rows. Meta 'ids_from' (the first waiting rowid) is written in the transaction that stores the
 * first of them, so after a crash the next open reloads them; rows are inserted OR IGNORE, so a
 * run repeated after a crash is harmless.
 */
import type { TimerHandle } from '../clock.ts'
import { OVERLAY_MAX, RELAY_COMMIT_MS, RELAY_COMMIT_RECORDS } from './bounds.ts'
import { IdOverlay } from './id-overlay.ts'
import type { IngestMode } from './ingest.ts'
import type { SignedRecord } from './record.ts'
import { byPrefix, type HeldTransaction, prefix32, type WaitingIds } from './rows.ts'
import { IDS_PER_INSERT } from './statements.ts'
import type { IngestOptions, IngestReport, Parts } from './types.ts'

export class RelayWriter implements IngestMode, HeldTransaction, WaitingIds {
  readonly deferReplay = true
  readonly persistNow = false
  #p: Parts
  /** Relayed records' ids whose record_ids rows are not written yet. */
  #overlay = new IdOverlay()
  /** The index run in progress: the first `n` overlay entries, in prefix order. */
  #indexRun: { order: Int32Array; done: number; n: number } | null = null
  /** The open transaction; `records` accepted in it (state to write before it commits). */
  #tx: { records: number; since: number; timer: TimerHandle } | null = null
  /** The connection's WAL sync mode (store.ts opens with FULL; only this transaction runs NORMAL). */
  #synchronous: 'FULL' | 'NORMAL' = 'FULL'

  constructor(p: Parts) {
    this.#p = p
  }

  /** Reloads ids whose rows were not written before the ledger last closed (meta 'ids_from'). */
  load(idsFrom: number | undefined): void {
    if (idsFrom === undefined) return
    const rows = this.#p.store.db.prepare('SELECT rowid, id FROM records WHERE rowid >= ?')
    for (const row of rows.iterate(idsFrom) as IterableIterator<{ rowid: number; id: Uint8Array }>)
      this.#overlay.add(prefix32(row.id), row.id, row.rowid)
  }

  /** Ingests decoded records in the held transaction; a replay they need is put off. */
  ingest(
    records: readonly SignedRecord[],
    opts: { vouched?: ReadonlySet<SignedRecord>; tipVerification?: boolean } = {},
  ): IngestReport {
    return this.#p.ingest.records(records, opts, this)
  }

  /** The same, from wires. */
  ingestWires(wires: readonly Uint8Array[], opts: IngestOptions = {}): IngestReport {
    return this.#p.ingest.wires(wires, opts, this)
  }

  /** Relayed records whose record_ids rows are not written yet. */
  get idsBehind(): number {
    return this.#overlay.size
  }

  /** Whether the open transaction has reached its size or age bound. */
  get due(): boolean {
    const tx = this.#tx
    return (
      tx !== null &&
      (tx.records >= RELAY_COMMIT_RECORDS || this.#p.timers.now() - tx.since >= RELAY_COMMIT_MS)
    )
  }

  begin(): void {
    if (this.#tx) return
    const p = this.#p
    this.#setSynchronous('NORMAL')
    p.store.db.exec('BEGIN')
    const timer = p.timers.setTimeout(() => this.commit(), RELAY_COMMIT_MS)
    this.#tx = { records: 0, since: p.timers.now(), timer }
    p.store.held = this
  }

  /** A step's ids go to the overlay; index runs write their rows later. */
  storeIds(): void {
    const { pending, stmts } = this.#p.store
    if (pending.size === 0) return
    // In this step's transaction: rolled back with it, committed with its records.
    if (this.#overlay.size === 0) stmts.metaPut.run('ids_from', pending.rowidAt(0))
    this.#overlay.addAll(pending)
    pending.clear()
  }

  end(accepted: number): void {
    const tx = this.#tx
    if (!tx) return
    tx.records += accepted
    if (this.#overlay.size >= OVERLAY_MAX) this.indexIds()
    // The driver may take the commit in a turn of its own (`due`); past twice the bound it
    // commits here.
    if (tx.records >= 2 * RELAY_COMMIT_RECORDS) this.commit()
  }

  /** Commits the open transaction, if any (its state and fold metadata written first). */
  commit(): void {
    const tx = this.#tx
    if (!tx) return
    const p = this.#p
    this.#tx = null
    p.store.held = null
    p.timers.clearTimeout(tx.timer)
    if (p.store.db.inTransaction) {
      if (tx.records > 0) p.fold.persist()
      p.store.db.exec('COMMIT')
    }
    this.#setSynchronous('FULL')
  }

  /**
   * One index step: writes record_ids rows of waiting ids, sorted by id prefix, for about
   * `budgetMs`, in the held transaction (opened if need be). A run covers the ids waiting when
   * it started; later ones wait for the next run. Returns whether the run has rows left.
   */
  indexIds(budgetMs = Number.POSITIVE_INFINITY): boolean {
    const p = this.#p
    if (this.#overlay.size === 0 || p.opts.readonly) return false
    this.begin()
    const t0 = p.timers.now()
    const overlay = this.#overlay
    let run = this.#indexRun
    if (!run) {
      const n = overlay.size
      run = this.#indexRun = { order: byPrefix(overlay, n), done: 0, n }
    }
    do {
      const to = Math.min(run.n, run.done + IDS_PER_INSERT)
      p.store.insertIds(overlay, run.order, run.done, to)
      run.done = to
    } while (run.done < run.n && p.timers.now() - t0 < budgetMs)
    if (run.done === run.n) {
      overlay.dropFirst(run.n)
      this.#indexRun = null
      if (overlay.size === 0) p.store.stmts.metaDel.run('ids_from')
      else p.store.stmts.metaPut.run('ids_from', overlay.rowidAt(0))
    }
    return this.#indexRun !== null
  }

  find(prefix: number, id: Uint8Array): number {
    return this.#overlay.find(prefix, id)
  }

  truncateFrom(rowid: number): void {
    this.#overlay.truncateFrom(rowid)
    if (this.#indexRun && this.#indexRun.n > this.#overlay.size) this.#indexRun = null
  }

  /** Writes every waiting id's row and commits. */
  close(): void {
    if (!this.#p.opts.readonly) while (this.#overlay.size > 0) this.indexIds()
    this.commit()
  }

  #setSynchronous(mode: 'FULL' | 'NORMAL'): void {
    if (this.#synchronous === mode || this.#p.opts.readonly) return
    this.#p.store.db.pragma(`synchronous = ${mode}`)
    this.#synchronous = mode
  }
}
