/**
 * The fold step: stored records folded into state in the total order (clock, then id), which is
 * topological. Authority first: revocations and fork proofs are folded on their own (the
 * authority pass), in total order, giving one cut table that applies to every record wherever
 * it sorts (a revocation counts when its author was not already cut at that point). Then the
 * owning dapp's validator and reducer. A record that sorts before the fold position undoes
 * state back to it (the `undo` journal) and folds forward again (a replay).
 */
import * as dagCbor from '@ipld/dag-cbor'
import { AUTHORITY_TYPES } from './authority.ts'
import type { FoldRecord } from './dapp.ts'
import { Deferred } from './deferred.ts'
import type { Hlc } from './hlc.ts'
import { Reason, type Rejection, reject } from './reasons.ts'
import {
  compareBytes,
  compareOrder,
  decodeBody,
  fromHex,
  keyHex,
  type SignedRecord,
  toHex,
} from './record.ts'
import { type Row, rowRecord } from './rows.ts'
import { type CutInfo, cutStateKey, type KeyInfo, keyStateKey } from './site-dapp.ts'
import { State, type StateView } from './state.ts'
import type { OrderKey, Parts, RecordStatus } from './types.ts'
import { sortIfNeeded } from './vouch.ts'

/** The fold's verdict on a record whose type no loaded dapp owns: no state change, no marker. */
export const DEFERRED = 'deferred'
export const REJECTED_PREFIX = 'ledger/rejected/'
const HORIZON_ID = new Uint8Array(32)

export const before = (a: OrderKey, b: OrderKey) => compareOrder(a, b) < 0

type FoldInput = {
  id: Uint8Array
  author: Uint8Array
  seq: number
  hlc: Hlc
  type: string
  body: Uint8Array
  value?: unknown
}

/** A record as validators and reducers see it (FoldRecord); the id's hex is made on demand. */
class FoldRec implements FoldRecord {
  readonly id: Uint8Array
  readonly author: Uint8Array
  readonly authorHex: string
  readonly seq: number
  readonly hlc: Hlc
  readonly type: string
  readonly body: unknown
  readonly role: string
  #idHex: string | undefined

  constructor(
    id: Uint8Array,
    author: Uint8Array,
    authorHex: string,
    seq: number,
    hlc: Hlc,
    type: string,
    body: unknown,
    role: string,
  ) {
    this.id = id
    this.author = author
    this.authorHex = authorHex
    this.seq = seq
    this.hlc = hlc
    this.type = type
    this.body = body
    this.role = role
  }

  get idHex(): string {
    this.#idHex ??= toHex(this.id)
    return this.#idHex
  }
}

export class Fold {
  #p: Parts
  /** Final cut table from the authority pass: key hex → cut. */
  cuts = new Map<string, CutInfo>()
  /** The last record folded. */
  pos: OrderKey | null = null
  /**
   * A replay put off (a catch-up's, or a dapp's deferred records): the earliest order key whose
   * fold is out of date. Persisted as meta 'replay_from' so a restart finishes it.
   */
  pendingReplay: OrderKey | null = null
  readonly deferred = new Deferred()
  /** The state key of the last author folded (runs of one author's records are the rule). */
  #lastKeyState: [string, string] = ['', '']
  #sincePrune = 0

  constructor(p: Parts) {
    this.#p = p
  }

  /**
   * Folds records just stored. With `deferReplay` (a catch-up), records that sort before the
   * fold position are left for one replay when the burst is over (`settle`), not one per batch.
   */
  foldNew(added: Array<{ record: SignedRecord; rowid: number }>, deferReplay: boolean): void {
    const authority = added.some((a) => AUTHORITY_TYPES.has(a.record.type))
    let replayFrom: OrderKey | null = null
    if (authority) {
      const cuts = this.authorityPass()
      replayFrom = this.#earliestCutChange(this.cuts, cuts)
      this.cuts = cuts
    }
    const sorted = sortIfNeeded(added, (x, y) => compareOrder(x.record, y.record))
    const first = sorted[0]!.record
    if (this.pos && before(first, this.pos) && (!replayFrom || before(first, replayFrom))) replayFrom = first
    if (replayFrom && this.pos && !before(this.pos, replayFrom)) {
      const pos = this.pos
      if (deferReplay) {
        // Records after the position fold now; the replay folds them again in their place.
        if (!this.pendingReplay || before(replayFrom, this.pendingReplay)) this.pendingReplay = replayFrom
        for (const { record, rowid } of sorted)
          if (before(pos, record)) this.apply(this.foldRecordFrom(record), rowid)
        return
      }
      if (this.pendingReplay && before(this.pendingReplay, replayFrom)) replayFrom = this.pendingReplay
      this.pendingReplay = null
      this.#replayFrom(replayFrom)
      return
    }
    for (const { record, rowid } of sorted) this.apply(this.foldRecordFrom(record), rowid)
  }

  /**
   * Folds one record into state: authority, then the owning dapp's validator and reducer. A
   * record no loaded dapp owns changes nothing and leaves no marker: it is folded in its place
   * once a dapp owns its type.
   */
  apply(r: FoldRecord, rowid: number): void {
    const p = this.#p
    const rejection = this.judge(r)
    if (rejection === DEFERRED) {
      this.deferred.note(r)
      p.events.emit('deferred', r)
    } else if (rejection) {
      // A record excluded by a cut needs no marker: the cut (site/cut/…) is in state already,
      // and after a fork each side holds a different branch: markers would split the hash.
      if (rejection.code !== Reason.REVOKED && rejection.code !== Reason.FORKED) {
        p.state.put(REJECTED_PREFIX + r.idHex, rejection.code)
        p.store.stmts.detailPut.run(r.id, rejection.detail)
      }
      p.events.emit('rejected', r, rejection)
    } else {
      p.registry.owner(r.type)!.handlers.reduce(r, p.state)
      p.events.emit('applied', r)
    }
    const changes = p.state.takeJournal()
    if (changes.length > 0)
      p.store.stmts.undoPut.run(rowid, dagCbor.encode(changes.map((c) => [c.key, c.old])))
    this.pos = { hlc: r.hlc, id: r.id }
  }

  /** The fold's verdict on a record at the current state: applied (null), refused, or deferred. */
  judge(r: FoldRecord): Rejection | typeof DEFERRED | null {
    const cut = this.cuts.get(r.authorHex)
    if (cut && r.seq > cut.cut)
      return reject(
        cut.reason.startsWith('forked') ? Reason.FORKED : Reason.REVOKED,
        `key ${cut.reason}; valid up to seq ${cut.cut}`,
      )
    if (r.role === 'none')
      return reject(Reason.NOT_AUTHORIZED, 'the author is not an enrolled key at this point')
    const owner = this.#p.registry.owner(r.type)
    if (!owner) return DEFERRED
    try {
      return owner.handlers.validate(r, this.#p.state) ?? null
    } catch (err) {
      // A validator that throws rejects the record; the bug is logged, the node keeps folding.
      this.#p.log.error({ err, type: r.type, dapp: owner.dapp }, 'validator threw')
      return reject(`${owner.dapp}.VALIDATOR_ERROR`, `the ${owner.dapp} validator failed on this record`)
    }
  }

  foldRecordFrom(r: FoldInput, state: StateView = this.#p.state): FoldRecord {
    const authorHex = keyHex(r.author)
    if (authorHex !== this.#lastKeyState[0]) this.#lastKeyState = [authorHex, keyStateKey(authorHex)]
    let body: unknown = r.value
    if (body === undefined) {
      try {
        body = decodeBody(r.body)
      } catch {
        body = undefined
      }
    }
    const info = state.get<KeyInfo>(this.#lastKeyState[1])
    // The genesis author is an admin by the genesis itself.
    const role = info?.role ?? (r.type === 'site.genesis' ? 'admin' : 'none')
    return new FoldRec(r.id, r.author, authorHex, r.seq, r.hlc, r.type, body, role)
  }

  /**
   * The authority pass: folds only authority records, in total order, into a scratch state. A
   * revocation or fork proof whose author is already cut at that point does not count. Returns
   * the cut table that then applies to every record.
   */
  authorityPass(): Map<string, CutInfo> {
    const { store, registry } = this.#p
    const scratch = new State()
    const rows: Row[] = []
    for (const type of AUTHORITY_TYPES) {
      const idx = store.types.get(type)
      if (idx !== undefined) rows.push(...(store.stmts.byType.all(idx) as Row[]))
    }
    const ordered = rows.map((row) => rowRecord(store, row)).sort(compareOrder)
    for (const rec of ordered) {
      const r = this.foldRecordFrom(rec, scratch)
      const cut = scratch.get<CutInfo>(cutStateKey(r.authorHex))
      if (cut && r.seq > cut.cut) continue
      if (r.role === 'none') continue
      const handlers = registry.owner(r.type)?.handlers
      if (!handlers || handlers.validate(r, scratch)) continue
      handlers.reduce(r, scratch)
    }
    scratch.takeJournal()
    return new Map(scratch.list<CutInfo>('site/cut/').map(([k, v]) => [k.slice('site/cut/'.length), v]))
  }

  /** The earliest stored record whose cut status differs between two cut tables. */
  #earliestCutChange(old: Map<string, CutInfo>, next: Map<string, CutInfo>): OrderKey | null {
    const { store, authors } = this.#p
    let earliest: OrderKey | null = null
    for (const hex of new Set([...old.keys(), ...next.keys()])) {
      const a = old.get(hex)?.cut ?? Number.POSITIVE_INFINITY
      const b = next.get(hex)?.cut ?? Number.POSITIVE_INFINITY
      if (a === b) continue
      const author = authors.byHex.get(hex)
      if (!author || author.idx < 0) continue
      for (const row of store.stmts.rangeByAuthor.iterate(
        author.idx,
        Math.min(a, b) + 1,
        1 << 30,
      ) as IterableIterator<Row>) {
        const k = { hlc: { ms: row.ms, c: row.c }, id: row.id }
        if (!earliest || before(k, earliest)) earliest = k
      }
    }
    return earliest
  }

  /** Undoes state back to just before `from`, then folds every record from there in order. */
  #replayFrom(from: OrderKey): void {
    const p = this.#p
    const stmts = p.store.stmts
    p.counters.replays++
    const horizon = stmts.metaGet.get('undo_horizon') as { value: Uint8Array } | undefined
    if (horizon && before(from, decodeOrderKey(horizon.value))) {
      p.log.info('late record sorts before the undo horizon: rebuilding state')
      this.#rebuild()
      return
    }
    const undo = stmts.undoFrom.all(from.hlc.ms, from.hlc.c) as Array<{
      rowid: number
      ms: number
      c: number
      id: Uint8Array
      changes: Uint8Array
    }>
    const toRevert = undo
      .filter((u) => !before({ hlc: { ms: u.ms, c: u.c }, id: u.id }, from))
      .sort((x, y) =>
        compareOrder({ hlc: { ms: y.ms, c: y.c }, id: y.id }, { hlc: { ms: x.ms, c: x.c }, id: x.id }),
      )
    for (const u of toRevert) {
      const changes = (dagCbor.decode(u.changes) as Array<[string, Uint8Array | null]>).map(([key, old]) => ({
        key,
        old,
      }))
      p.state.revert(changes)
      stmts.undoDel.run(u.rowid)
    }
    this.pos = null
    this.#foldRows(this.#pageRows(from.hlc), from)
  }

  /**
   * Rows in (ms, c) order from `from` (inclusive), fetched a page at a time: the fold writes
   * between pages, which a live SQLite cursor on the same connection would not allow.
   */
  *#pageRows(from: Hlc | null): Generator<Row> {
    let ms = from ? from.ms : -1
    let c = from ? from.c : -1
    let rowid = -1
    for (;;) {
      const rows = this.#p.store.stmts.page.all(ms, c, rowid, 4096) as Row[]
      if (rows.length === 0) return
      yield* rows
      const last = rows[rows.length - 1]!
      ms = last.ms
      c = last.c
      rowid = last.rowid
    }
  }

  /** Folds rows given in (ms, c) order; ties are put in id order; rows before `from` are skipped. */
  #foldRows(rows: Iterable<Row>, from: OrderKey | null): void {
    const store = this.#p.store
    let group: Row[] = []
    const flushGroup = () => {
      if (group.length > 1) group.sort((x, y) => compareBytes(x.id, y.id))
      for (const row of group) {
        const rec = rowRecord(store, row)
        if (from && before(rec, from)) continue
        this.apply(this.foldRecordFrom(rec), row.rowid)
      }
      group = []
    }
    for (const row of rows) {
      const g = group[0]
      if (g && (g.ms !== row.ms || g.c !== row.c)) flushGroup()
      group.push(row)
    }
    flushGroup()
  }

  /** Folds every record from scratch (the state tables are rewritten). */
  rebuild(): void {
    this.#p.store.releaseHeld()
    this.#rebuild()
  }

  #rebuild(): void {
    const p = this.#p
    p.counters.rebuilds++
    p.store.db.transaction(() => {
      p.state.clear()
      this.deferred.since.clear()
      this.deferred.dirty = true
      p.store.db.exec("DELETE FROM undo; DELETE FROM meta WHERE key = 'undo_horizon'")
      this.pos = null
      this.pendingReplay = null
      this.cuts = this.authorityPass()
      this.#foldRows(this.#pageRows(null), null)
      this.persist()
    })()
  }

  /**
   * Runs a replay put off (by a catch-up, or for a dapp's deferred records), in one
   * transaction. Returns whether there was one.
   */
  settle(): boolean {
    const p = this.#p
    p.store.releaseHeld()
    if (!this.pendingReplay || p.opts.readonly) return false
    p.store.db.transaction(() => {
      const from = this.pendingReplay!
      this.pendingReplay = null
      this.#replayFrom(from)
      this.persist()
    })()
    return true
  }

  /**
   * Deferred types a dapp now owns: the fold replays from the earliest of their records (a
   * rebuild when they are authority records).
   */
  foldDeferred(): void {
    const { from, authority } = this.deferred.takeOwned(this.#p.registry)
    if (!from || this.#p.opts.readonly) return
    if (authority) {
      // A cut applies to the cut key's records wherever they sort, even before the record that
      // made it: the whole fold is redone with the new cut table.
      this.rebuild()
      return
    }
    if (!this.pendingReplay || before(from, this.pendingReplay)) this.pendingReplay = from
    this.settle()
  }

  /**
   * Why the fold did not apply a record: the code from state, the sentence from beside it, or
   * the cut of its key. `record` (its author and seq) saves a lookup when the caller has it.
   */
  rejectionOf(idHex: string, record: { author: Uint8Array; seq: number } | null): Rejection | null {
    const { state, store, authors } = this.#p
    const code = state.get<string>(REJECTED_PREFIX + idHex)
    if (code === undefined) {
      if (this.cuts.size === 0) return null // no key has been revoked or forked
      let authorHex: string | undefined
      let seq = 0
      if (record) {
        authorHex = keyHex(record.author)
        seq = record.seq
      } else {
        const row = store.rowById(fromHex(idHex))
        authorHex = row ? authors.byIdx[row.author]?.hex : undefined
        seq = row?.seq ?? 0
      }
      const cut = authorHex ? this.cuts.get(authorHex) : undefined
      if (!cut || seq <= cut.cut) return null
      const forked = cut.reason.startsWith('forked')
      return {
        code: forked ? Reason.FORKED : Reason.REVOKED,
        detail: `key ${cut.reason}; valid up to seq ${cut.cut}`,
      }
    }
    const row = store.stmts.detailGet.get(fromHex(idHex)) as { detail: string } | undefined
    return { code, detail: row?.detail ?? '' }
  }

  /** How the fold left a stored record: applied, rejected (and why) or deferred. */
  outcome(
    id: string,
    record: { author: Uint8Array; seq: number; type: string; hlc: Hlc; id: Uint8Array },
  ): { status: RecordStatus; rejection: Rejection | null } {
    const rejection = this.rejectionOf(id, record)
    if (rejection) return { status: 'rejected', rejection }
    const since = this.deferred.since.get(record.type)
    return { status: since && !before(record, since) ? 'deferred' : 'applied', rejection }
  }

  /** Writes dirty state entries and the fold metadata (inside the caller's transaction). */
  persist(): void {
    const p = this.#p
    const stmts = p.store.stmts
    p.authors.writeMoved(stmts)
    for (const key of p.state.dirty) {
      const bytes = p.state.entryBytes(key)
      if (bytes) stmts.statePut.run(key, bytes)
      else stmts.stateDel.run(key)
    }
    p.state.dirty.clear()
    stmts.metaPut.run('count', p.store.count)
    stmts.metaPut.run('state_hash', p.state.hash)
    if (this.pos) stmts.metaPut.run('pos', encodeOrderKey(this.pos))
    if (this.pendingReplay) stmts.metaPut.run('replay_from', encodeOrderKey(this.pendingReplay))
    else stmts.metaDel.run('replay_from')
    this.deferred.write(p.store)
    if (++this.#sincePrune >= 1000) this.#pruneUndo()
  }

  /**
   * Keeps undo data for the newest `undoKeep` state-changing records in fold order. A late
   * record sorting before the horizon makes the next fold a full rebuild instead of a replay.
   */
  #pruneUndo(): void {
    this.#sincePrune = 0
    const stmts = this.#p.store.stmts
    const keep = this.#p.opts.undoKeep ?? 100_000
    const cutoff = stmts.undoCutoff.get(keep) as { ms: number; c: number } | undefined
    if (!cutoff) return
    stmts.undoPrune.run(cutoff.ms, cutoff.c)
    stmts.metaPut.run('undo_horizon', encodeOrderKey({ hlc: { ms: cutoff.ms, c: cutoff.c }, id: HORIZON_ID }))
  }
}

export function encodeOrderKey(k: OrderKey): Uint8Array {
  return dagCbor.encode([k.hlc.ms, k.hlc.c, k.id])
}

export function decodeOrderKey(b: Uint8Array): OrderKey {
  const [ms, c, id] = dagCbor.decode(b) as [number, number, Uint8Array]
  return { hlc: { ms, c }, id }
}
