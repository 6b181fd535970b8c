/**
 * The signed ledger: records in SQLite, judged by their dapps, folded into deterministic state.
 *
 * Ingest of a record runs named steps (each a stable reason code on failure):
 *   decode → site → duplicate/fork → signature → chain → clock → parents → ancestry
 * then the record is stored and folded. Folding runs in the total order (clock, then id):
 *   authority (cut by revocation/fork? enrolled?) → the owning dapp's validator → its reducer.
 * A record the fold does not apply stays in the ledger, with its reason in state
 * (`ledger/rejected/<id>`); a record of a type no loaded dapp owns stays with its fold deferred
 * until a dapp owns the type (`registerDapp`); bytes from peers that never became a record go
 * to the quarantine table. A record a key holder submits (`prepare` → `submit`) is judged
 * before it is stored: refused, it is answered and forgotten (./refusals.ts).
 *
 * Authority changes resolve first: revocations and fork proofs are folded on their own, in total
 * order (a revocation counts when its author was not already cut at that point), giving one cut
 * table that applies to every record wherever it sorts.
 */

import type { KeyObject } from 'node:crypto'
import { EventEmitter } from 'node:events'
import * as dagCbor from '@ipld/dag-cbor'
import { Resource } from '../lifecycle.ts'
import type { Logger } from '../log.ts'
import { Checkpointer } from './checkpointer.ts'
import { DappRegistry, type FoldRecord, type LedgerDapp } from './dapp.ts'
import { compareHlc, type Hlc, HybridClock, ZERO_HLC } from './hlc.ts'
import { IdOverlay } from './id-overlay.ts'
import { RETRYABLE, Reason, type Rejection, reject } from './reasons.ts'
import {
  compareBytes,
  decodeBody,
  decodeWire,
  encodeBody,
  encodeRecord,
  encodeWire,
  equalBytes,
  fromHex,
  GENESIS_SITE,
  keyHex,
  MAX_BODY_BYTES,
  MAX_PARENTS,
  prepareRecord,
  RECORD_VERSION,
  RecordError,
  type RecordFields,
  recordId,
  SIG_BYTES,
  type SignedRecord,
  signIdAsync,
  signRecord,
  TYPE_PATTERN,
  toHex,
  verifySignature,
  wireBytes,
} from './record.ts'
import { refusal, refusals } from './refusals.ts'
import { type CutInfo, cutStateKey, type KeyInfo, keyStateKey, SITE_TYPES, siteDapp } from './site-dapp.ts'
import { State, type StateView } from './state.ts'
import { type Db, openDb, storeError } from './store.ts'
import { VerifyPool } from './verify-pool.ts'

export interface LedgerOptions {
  /** SQLite file; ':memory:' for tests that need no durability. */
  file: string
  log: Logger
  clock?: HybridClock
  /** Application dapps; the `site` dapp (authority) is always loaded first. */
  dapps?: readonly LedgerDapp[]
  /** Pin the site: a genesis with another id is refused. */
  site?: Uint8Array | null
  /** Undo data is kept for this many most recent state-changing records (replays beyond it rebuild). */
  undoKeep?: number
  /** Open for reading only (CLI inspection while a node runs): no writes, no migrations. */
  readonly?: boolean
  /**
   * Run WAL checkpoints on a worker thread instead of inside commits (./checkpointer.ts). The
   * node turns it on; off by default so short-lived tools and tests do not start a thread.
   */
  checkpointWorker?: boolean
}

export interface Signer {
  readonly publicKey: Uint8Array
  readonly privateKeyObject: KeyObject
}

export interface AppendResult {
  record: SignedRecord
  /** Why the fold did not apply the record (it is still in the ledger), or null. */
  rejection: Rejection | null
}

/** What became of a submitted record. */
export interface Submitted {
  /** The record id, hex. */
  id: string
  /** The record was already held (the same id): nothing changed. */
  duplicate: boolean
  status: RecordStatus
  /** Why the fold did not apply it, or null. */
  rejection: Rejection | null
}

/** A stored record as the fold left it ('deferred': folded once a dapp owns its type). */
export type RecordStatus = 'applied' | 'rejected' | 'deferred'

/** The fold's verdict on a record whose type no loaded dapp owns: no state change, no marker. */
const DEFERRED = 'deferred'

export interface IngestReport {
  accepted: number
  duplicates: number
  held: number
  refused: number
  /** Count per reason code of held and refused records. */
  reasons: Record<string, number>
}

export interface IngestOptions {
  /**
   * Bulk catch-up: verify one signature per author run (its tip) and check the rest by their
   * hash links; authority records are still verified one by one.
   */
  tipVerification?: boolean
  /**
   * Records relayed by a peer (sync catch-up and live push) are committed with WAL
   * synchronous=NORMAL: atomic and safe from a crash of the process, but a power cut can lose
   * the newest such transactions, which the next sync fetches again from the peers that hold
   * them (an author's own records and everything submitted to this node are committed with
   * synchronous=FULL, and a FULL commit syncs every earlier one with it). Default false.
   */
  relayed?: boolean
  /**
   * The wires are views of a buffer this ledger may keep referring to and nobody writes to
   * (a received message): they are decoded in place instead of copied first.
   */
  owned?: boolean
}

interface Author {
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

interface Row {
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

interface PendingAppend {
  signed: Promise<SignedRecord>
  resolve: (r: AppendResult) => void
  reject: (e: unknown) => void
}

interface OrderKey {
  hlc: Hlc
  id: Uint8Array
}

export interface VerifyProblem {
  author: string
  seq: number
  id: string
  problem: string
}

/**
 * Records that change who may do what: folded first, on their own, by the authority pass.
 * Their rowids are listed in `authority_rows` (store.ts migration 4 names them too).
 * Governance approvals belong here because they decide whether an admin may be added or removed.
 */
const AUTHORITY_TYPES: ReadonlySet<string> = new Set([
  ...SITE_TYPES,
  'governance.propose',
  'governance.approve',
])
/** Records whose id starts like the bound id; CROSS JOIN keeps record_ids first (a lookup). */
export const ID_LOOKUP_SQL =
  'SELECT r.rowid, r.* FROM record_ids i CROSS JOIN records r ON r.rowid = i.rec WHERE i.p = substr(?, 1, 4)'

/**
 * Authority records of one type in time order. CROSS JOIN keeps authority_rows the outer loop:
 * with a plain JOIN the planner walks the whole records table in time order to satisfy the
 * ORDER BY (about a second at every open of a 1M-record ledger).
 */
export const AUTHORITY_ROWS_SQL =
  'SELECT r.rowid AS rowid, r.* FROM authority_rows s CROSS JOIN records r ON r.rowid = s.rec WHERE r.type = ? ORDER BY r.ms, r.c'
const REJECTED_PREFIX = 'ledger/rejected/'
/**
 * Relayed records share one transaction across ingest calls (see `commitRelayed`): a commit
 * writes every page it touched to the WAL, so fewer, larger commits write each page fewer
 * times. Chosen while relayed ids were still written as they arrived (ids are random, so 512
 * of them touched most record_ids leaves of a 100k-record ledger): 2048 against 512, three
 * sync bench runs each back to back, replicate 27.9–29.7k against 22.6–26.4k records/s, merge
 * 3.5–4.6 s against 5.3–6.4, the same p99. Index runs (`indexIds`) now share it too.
 */
const RELAY_COMMIT_RECORDS = 2048
const RELAY_COMMIT_MS = 200
/** Record ids are SHA-256 digests. */
const ID_BYTES = 32
/** Records written by one INSERT statement in bulk ingest (the per-statement cost dominates). */
const ROWS_PER_INSERT = 32
const COLUMNS = 10
/** Rows per INSERT into record_ids (see #writeIds). */
const IDS_PER_INSERT = 64
/**
 * Relayed ids waiting in memory (IdOverlay) beyond which the ledger writes them itself, in one
 * run, at the end of an ingest step. The sync engine runs index steps well before (see
 * INDEX_BEHIND in sync.ts); this bounds memory for callers that never do.
 */
const OVERLAY_MAX = 65_536

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

/** Sorts in place unless already in order (answers from peers come sorted); returns `xs`. */
function sortIfNeeded<T>(xs: T[], compare: (a: T, b: T) => number): T[] {
  for (let i = 1; i < xs.length; i++) if (compare(xs[i - 1]!, xs[i]!) > 0) return xs.sort(compare)
  return xs
}

/**
 * Entries 0..n-1 ordered by the top bits of their prefix (a counting sort, stable: rowid order
 * within a bucket). Rows need only land near each other, not in exact order: with at least as
 * many buckets as entries (up to 65,536), neighbours share a B-tree leaf. A comparison sort of
 * a 49k-entry index run took 10–20 ms in one turn.
 */
function byPrefix(ids: IdOverlay, n: number): Int32Array {
  const bits = Math.min(16, Math.max(1, Math.ceil(Math.log2(n + 1))))
  const shift = 32 - bits
  const starts = new Uint32Array((1 << bits) + 1)
  for (let i = 0; i < n; i++) starts[(ids.prefixAt(i) >>> shift) + 1]!++
  for (let b = 1; b < starts.length; b++) starts[b]! += starts[b - 1]!
  const order = new Int32Array(n)
  for (let i = 0; i < n; i++) order[starts[ids.prefixAt(i) >>> shift]!++] = i
  return order
}

function prefix32(id: Uint8Array): number {
  return ((id[0]! << 24) | (id[1]! << 16) | (id[2]! << 8) | id[3]!) >>> 0
}
const before = (a: OrderKey, b: OrderKey) => compareOrder(a, b) < 0
const HORIZON_ID = new Uint8Array(32)

export class Ledger extends Resource {
  readonly name = 'ledger'
  readonly clock: HybridClock
  readonly registry = new DappRegistry()
  /**
   * 'fork' (evidence), 'applied' (record folded), 'rejected' (record not applied), 'deferred'
   * (no loaded dapp owns its type yet).
   */
  readonly events = new EventEmitter()
  readonly state = new State()
  /** Dapps whose record handlers could not be registered: name → reason. */
  readonly failedDapps = new Map<string, string>()
  readonly counters = {
    ingested: 0,
    appended: 0,
    duplicates: 0,
    replays: 0,
    rebuilds: 0,
    refused: {} as Record<string, number>,
  }
  #opts: LedgerOptions
  #log: Logger
  #db: Db | null = null
  #site: Uint8Array | null
  #authors = new Map<string, Author>()
  #authorsByIdx: Author[] = []
  #types = new Map<string, number>()
  #typesByIdx: string[] = []
  #count = 0
  #pos: OrderKey | null = null
  /** Final cut table from the authority pass: key hex → cut. */
  #cuts = new Map<string, CutInfo>()
  /** Enrolment records naming a key (key hex → [author idx, seq]); genesis admins included. */
  #enrolIndex = new Map<string, Array<[number, number]>>()
  #pending: PendingAppend[] = []
  #flushScheduled = false
  /** Group commits run one after another, in append order. */
  #flushChain: Promise<void> = Promise.resolve()
  #retrying = false
  /** Authors whose head moved in the current transaction: written once, in #persist. */
  #headsMoved = new Set<Author>()
  #sincePrune = 0
  #stmts!: ReturnType<Ledger['statements']>
  /**
   * The rangeWire statement joins blobs with `||`, which keeps every byte in a UTF-8 database
   * (the encoding openDb creates); a file in a UTF-16 encoding is served through `range`.
   */
  #utf8 = true
  /** Rowid of the next stored record (explicit, so rows can be written in multi-row INSERTs). */
  #nextRowid = 1
  /** The state key of the last author folded (runs of one author's records are the rule). */
  #lastKeyState: [string, string] = ['', '']
  /** Column values of records stored in this transaction but not yet written (see #writeRows). */
  #rowValues: unknown[] = []
  /**
   * Ids of records stored by the ingest step in progress, with their rowids, looked up here
   * until the step's end: then `#writeIds` writes their record_ids rows, sorted, or (relayed
   * records) `#deferIds` hands them to the overlay.
   */
  #idsPending = new IdOverlay()
  /**
   * Relayed records' ids whose record_ids rows are not written yet (`indexIds` writes them).
   * Persisted as meta 'ids_from' (the first such rowid) so an open reloads them.
   */
  #overlay = new IdOverlay()
  /** The index run in progress: the first `n` overlay entries, in prefix order. */
  #indexRun: { order: Int32Array; done: number; n: number } | null = null
  /** The connection's current WAL sync mode (store.ts opens with FULL). */
  #synchronous: 'FULL' | 'NORMAL' = 'FULL'
  /**
   * A replay that relayed ingest put off (see `settle`): the earliest order key whose fold is
   * out of date. Persisted as meta 'replay_from' so a restart finishes it.
   */
  #pendingReplay: OrderKey | null = null
  #checkpointer: Checkpointer | null = null
  /** Whether the quarantine may hold records waiting for a retry (false: skip the lookup). */
  #mayHaveHeld = true
  /** The open transaction of relayed records, if any; `records` accepted in it (state to persist). */
  #relay: { records: number; since: number; timer: ReturnType<typeof setTimeout> } | null = null
  /** Heads of other authors already named as parents by each local author. */
  #namedParents = new Map<string, Map<string, number>>()
  /**
   * Record types folded while no loaded dapp owned them → the earliest such record in the total
   * order: when a dapp comes to own the type, the fold replays from there. Persisted as meta
   * 'deferred' so a restart with the dapp added folds them.
   */
  #deferred = new Map<string, OrderKey>()
  #deferredDirty = false
  /**
   * Stored records per type no loaded dapp owns (see `deferredCount`); null until first asked:
   * counting is a scan of the records table, which a tool that opens the ledger without the
   * dapps must not pay at every open.
   */
  #deferredCounts: Map<string, number> | null = null

  constructor(opts: LedgerOptions) {
    super()
    this.#opts = opts
    this.#log = opts.log
    this.clock = opts.clock ?? new HybridClock()
    this.#site = opts.site ?? null
  }

  // ── reading ────────────────────────────────────────────────────────────────────────────

  get site(): Uint8Array | null {
    return this.#site
  }

  get count(): number {
    return this.#count
  }

  get stateHash(): string {
    return this.state.hash
  }

  /** author hex → { seq, id hex } of every author's newest record. */
  heads(): Map<string, { seq: number; id: string }> {
    const out = new Map<string, { seq: number; id: string }>()
    for (const a of this.#authorsByIdx) if (a.headId) out.set(a.hex, { seq: a.headSeq, id: toHex(a.headId) })
    return out
  }

  /** Role of a key now ('admin' | 'device'), or null when not enrolled or cut. */
  roleOf(keyHex: string): string | null {
    if (this.#cuts.has(keyHex)) return null
    return this.state.get<KeyInfo>(keyStateKey(keyHex))?.role ?? null
  }

  get view(): StateView {
    return this.state
  }

  get db(): Db {
    if (!this.#db) throw new Error('ledger is not open')
    return this.#db
  }

  /** Signed records of one author from `fromSeq` (inclusive), at most `limit`. */
  range(authorHex: string, fromSeq: number, limit: number): SignedRecord[] {
    const a = this.#authors.get(authorHex)
    if (!a) return []
    const rows = this.#stmts.rangeByAuthor.all(a.idx, fromSeq, limit) as Row[]
    let prev = fromSeq > 1 ? this.#idAt(a.idx, fromSeq - 1) : null
    return rows.map((row) => {
      const r = this.#fromRow(row, prev)
      prev = row.id
      return r
    })
  }

  /**
   * The same records as `range`, in wire form (`sig || canonical bytes`, one buffer each): what a
   * peer is sent. Serving a catch-up is mostly this (CPU profile of the serving node in the sync
   * bench): one blob column per row instead of four, and no second copy of the record bytes.
   */
  rangeWire(authorHex: string, fromSeq: number, limit: number): Uint8Array[] {
    if (!this.#utf8) return this.range(authorHex, fromSeq, limit).map(wireBytes)
    const a = this.#authors.get(authorHex)
    if (!a) return []
    const rows = this.#stmts.rangeWire.all(a.idx, fromSeq, limit) as Array<
      [seq: number, ms: number, c: number, type: number, parentBytes: number | null, blob: Uint8Array]
    >
    let prev = fromSeq > 1 ? this.#idAt(a.idx, fromSeq - 1) : null
    const out: Uint8Array[] = []
    for (const [seq, ms, c, type, parentBytes, blob] of rows) {
      const id = blob.subarray(0, ID_BYTES)
      const bodyAt = ID_BYTES + SIG_BYTES + (parentBytes ?? 0)
      const parents = parentBytes ? blob.subarray(ID_BYTES + SIG_BYTES, bodyAt) : null
      const fields = this.#fields(a.key, type, seq, ms, c, id, prev, parents, blob.subarray(bodyAt))
      out.push(encodeWire(fields, blob.subarray(ID_BYTES, ID_BYTES + SIG_BYTES)))
      prev = id
    }
    return out
  }

  /** A held record, if any, by id hex prefix; or a stored record. */
  quarantined(): Array<{ code: string; detail: string; retry: boolean; receivedMs: number }> {
    return (
      this.#stmts.quarantineList.all() as Array<{
        code: string
        detail: string
        retry: number
        received_ms: number
      }>
    ).map((q) => ({
      code: q.code,
      detail: q.detail,
      retry: q.retry === 1,
      receivedMs: q.received_ms,
    }))
  }

  /** Stored records whose fold waits for a dapp that owns their type. */
  get deferredCount(): number {
    this.#deferredCounts ??= this.#countDeferred()
    let n = 0
    for (const c of this.#deferredCounts.values()) n += c
    return n
  }

  /**
   * How the fold left a stored record, or null when no record has this id. Read from what the
   * fold recorded (rejection markers, meta 'deferred'), so a tool that opens the ledger without
   * the dapps sees what the node decided.
   */
  statusOf(idHex: string): RecordStatus | null {
    const row = this.#rowById(fromHex(idHex))
    if (!row) return null
    return this.#outcome(idHex, this.#rowRecord(row)).status
  }

  /** Why the fold did not apply a record: the code from state, the sentence from beside it. */
  rejectionOf(idHex: string): Rejection | null {
    return this.#rejectionOf(idHex, null)
  }

  /** `rejectionOf`, told the record's author and sequence when the caller has them (no lookup). */
  #rejectionOf(idHex: string, record: { author: Uint8Array; seq: number } | null): Rejection | null {
    const code = this.state.get<string>(REJECTED_PREFIX + idHex)
    if (code === undefined) {
      if (this.#cuts.size === 0) return null // no key has been revoked or forked
      let authorHex: string | undefined
      let seq = 0
      if (record) {
        authorHex = keyHex(record.author)
        seq = record.seq
      } else {
        const row = this.#rowById(fromHex(idHex))
        authorHex = row ? this.#authorsByIdx[row.author]?.hex : undefined
        seq = row?.seq ?? 0
      }
      const cut = authorHex ? this.#cuts.get(authorHex) : undefined
      if (!cut || seq <= cut.cut) return null
      const forked = cut.reason.startsWith('forked')
      return {
        code: forked ? Reason.FORKED : Reason.REVOKED,
        detail: `key ${cut.reason}; valid up to seq ${cut.cut}`,
      }
    }
    const row = this.#stmts.detailGet.get(fromHex(idHex)) as { detail: string } | undefined
    return { code, detail: row?.detail ?? '' }
  }

  // ── lifecycle ──────────────────────────────────────────────────────────────────────────

  protected async _open(): Promise<void> {
    try {
      await this.#load()
    } catch (err) {
      // Damage found while reading the file is named (LK_LEDGER_CORRUPT), never a stack trace.
      throw storeError(this.#opts.file, err)
    }
  }

  async #load(): Promise<void> {
    this.registry.register(siteDapp(() => this.#site))
    for (const d of this.#opts.dapps ?? []) {
      try {
        this.registry.register(d)
      } catch (err) {
        // A broken dapp is left out, named; its records are stored with their fold deferred.
        this.failedDapps.set(d.name, (err as Error).message)
        this.#log.error({ dapp: d.name, err }, `dapp ${d.name} could not be loaded into the ledger`)
      }
    }
    const db = openDb(this.#opts.file, { readonly: this.#opts.readonly ?? false })
    this.#db = db
    this.#stmts = this.statements(db)
    this.#utf8 = db.pragma('encoding', { simple: true }) === 'UTF-8'
    this.#loadNextRowid()
    for (const t of db.prepare('SELECT idx, name FROM types ORDER BY idx').all() as Array<{
      idx: number
      name: string
    }>) {
      this.#types.set(t.name, t.idx)
      this.#typesByIdx[t.idx] = t.name
    }
    for (const a of db.prepare('SELECT idx, key, head_seq FROM authors ORDER BY idx').all() as Array<{
      idx: number
      key: Uint8Array
      head_seq: number
    }>) {
      const head =
        a.head_seq > 0
          ? (this.#stmts.headRow.get(a.idx, a.head_seq) as { id: Uint8Array; ms: number; c: number })
          : null
      this.#addAuthorInMemory(
        a.idx,
        a.key,
        a.head_seq,
        head?.id ?? null,
        head ? { ms: head.ms, c: head.c } : ZERO_HLC,
      )
    }
    const meta = (key: string) => (this.#stmts.metaGet.get(key) as { value: unknown } | undefined)?.value
    const site = meta('site') as Uint8Array | undefined
    if (site) {
      if (this.#site && !equalBytes(this.#site, site))
        throw new Error(`ledger ${this.#opts.file} belongs to site ${toHex(site)}, not ${toHex(this.#site)}`)
      this.#site = new Uint8Array(site)
    }
    this.#count = Number(meta('count') ?? 0)
    const pos = meta('pos') as Uint8Array | undefined
    this.#pos = pos ? decodeOrderKey(pos) : null
    for (const row of db.prepare('SELECT key, value FROM state').iterate() as IterableIterator<{
      key: string
      value: Uint8Array
    }>) {
      this.state.load(row.key, row.value)
    }
    this.state.dirty.clear()
    const savedHash = meta('state_hash') as string | undefined
    if (savedHash !== undefined && savedHash !== this.state.hash) {
      this.#log.warn(
        { saved: savedHash, loaded: this.state.hash },
        'materialized state does not match its hash; rebuilding',
      )
      if (!this.#opts.readonly) this.rebuild()
    }
    this.#loadEnrolIndex()
    this.#cuts = this.#authorityPass()
    const idsFrom = meta('ids_from') as number | undefined
    if (idsFrom !== undefined) {
      // Relayed ids whose record_ids rows were not written before the ledger closed.
      for (const row of db
        .prepare('SELECT rowid, id FROM records WHERE rowid >= ?')
        .iterate(idsFrom) as IterableIterator<{
        rowid: number
        id: Uint8Array
      }>)
        this.#overlay.add(prefix32(row.id), row.id, row.rowid)
    }
    const replayFrom = meta('replay_from') as Uint8Array | undefined
    // A catch-up cut short before its replay is finished now.
    if (replayFrom) this.#pendingReplay = decodeOrderKey(replayFrom)
    this.#loadDeferred(meta('deferred') as Uint8Array | undefined)
    if (this.#pendingReplay) this.settle()
    const latest =
      this.#count > 0
        ? (db.prepare('SELECT ms, c FROM records ORDER BY ms DESC, c DESC LIMIT 1').get() as {
            ms: number
            c: number
          })
        : null
    if (latest) this.clock.observe({ ms: latest.ms, c: latest.c })
    // Held records get another chance: this start may bring the dapp or the clock they waited for.
    if (!this.#opts.readonly) this.retryHeld()
    if (this.#opts.checkpointWorker && !this.#opts.readonly && this.#opts.file !== ':memory:')
      this.#checkpointer = new Checkpointer(db, this.#opts.file, this.#log)
    this.#log.info(
      { records: this.#count, stateHash: this.state.hash, site: this.#site ? toHex(this.#site) : null },
      'ledger open',
    )
  }

  protected async _close(): Promise<void> {
    if (this.#pending.length > 0) this.#flush()
    await this.#flushChain
    if (!this.#opts.readonly) while (this.#overlay.size > 0) this.indexIds()
    this.commitRelayed()
    await this.#checkpointer?.close()
    this.#checkpointer = null
    this.#db?.close()
    this.#db = null
  }

  private statements(db: Db) {
    return {
      metaGet: db.prepare('SELECT value FROM meta WHERE key = ?'),
      metaDel: db.prepare('DELETE FROM meta WHERE key = ?'),
      metaPut: db.prepare(
        'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      ),
      insertAuthor: db.prepare('INSERT INTO authors (idx, key, head_seq) VALUES (?, ?, 0)'),
      setHead: db.prepare('UPDATE authors SET head_seq = ? WHERE idx = ?'),
      insertType: db.prepare('INSERT INTO types (idx, name) VALUES (?, ?)'),
      insertRecord: db.prepare(
        'INSERT INTO records (rowid, author, seq, ms, c, type, id, sig, parents, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      insertRecords: db.prepare(
        `INSERT INTO records (rowid, author, seq, ms, c, type, id, sig, parents, body) VALUES ${Array.from(
          { length: ROWS_PER_INSERT },
          () => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
        ).join(', ')}`,
      ),
      maxRowid: db.prepare('SELECT max(rowid) AS m FROM records'),
      headRow: db.prepare('SELECT id, ms, c FROM records WHERE author = ? AND seq = ?'),
      idAt: db.prepare('SELECT id FROM records WHERE author = ? AND seq = ?'),
      rowByRowid: db.prepare('SELECT rowid, * FROM records WHERE rowid = ?'),
      rowAt: db.prepare('SELECT rowid, * FROM records WHERE author = ? AND seq = ?'),
      byId: db.prepare(ID_LOOKUP_SQL),
      insertId: db.prepare('INSERT OR IGNORE INTO record_ids (p, rec) VALUES (substr(?, 1, 4), ?)'),
      insertIds: db.prepare(
        `INSERT OR IGNORE INTO record_ids (p, rec) VALUES ${Array.from(
          { length: IDS_PER_INSERT },
          () => '(substr(?, 1, 4), ?)',
        ).join(', ')}`,
      ),
      rangeByAuthor: db.prepare(
        'SELECT rowid, * FROM records WHERE author = ? AND seq >= ? ORDER BY seq LIMIT ?',
      ),
      // One blob per row (id | sig | parents | body): each blob column costs a buffer.
      rangeWire: db
        .prepare(
          `SELECT seq, ms, c, type, length(parents), CAST(id || sig || ifnull(parents, x'') || body AS BLOB)
           FROM records WHERE author = ? AND seq >= ? ORDER BY seq LIMIT ?`,
        )
        .raw(true),
      page: db.prepare(
        'SELECT rowid, * FROM records WHERE (ms, c, rowid) > (?, ?, ?) ORDER BY ms, c, rowid LIMIT ?',
      ),
      byType: db.prepare(AUTHORITY_ROWS_SQL),
      authorityRowPut: db.prepare('INSERT INTO authority_rows (rec) VALUES (?)'),
      undoFrom: db.prepare(
        'SELECT r.rowid AS rowid, r.ms, r.c, r.id, u.changes FROM undo u JOIN records r ON r.rowid = u.rec WHERE (r.ms, r.c) >= (?, ?) ORDER BY r.ms DESC, r.c DESC',
      ),
      undoPut: db.prepare('INSERT OR REPLACE INTO undo (rec, changes) VALUES (?, ?)'),
      undoDel: db.prepare('DELETE FROM undo WHERE rec = ?'),
      undoCutoff: db.prepare(
        'SELECT r.ms, r.c FROM undo u JOIN records r ON r.rowid = u.rec ORDER BY r.ms DESC, r.c DESC LIMIT 1 OFFSET ?',
      ),
      undoPrune: db.prepare(
        'DELETE FROM undo WHERE rec IN (SELECT u.rec FROM undo u JOIN records r ON r.rowid = u.rec WHERE (r.ms, r.c) < (?, ?))',
      ),
      statePut: db.prepare(
        'INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      ),
      stateDel: db.prepare('DELETE FROM state WHERE key = ?'),
      quarantinePut: db.prepare(
        'INSERT INTO quarantine (ref, received_ms, code, detail, retry, wire) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (ref) DO UPDATE SET code = excluded.code, detail = excluded.detail, retry = excluded.retry',
      ),
      quarantineList: db.prepare('SELECT code, detail, retry, received_ms FROM quarantine ORDER BY qid'),
      quarantineHeld: db.prepare('SELECT qid, wire FROM quarantine WHERE retry = 1 ORDER BY qid LIMIT ?'),
      quarantineDel: db.prepare('DELETE FROM quarantine WHERE qid = ?'),
      detailGet: db.prepare('SELECT detail FROM rejection_detail WHERE id = ?'),
      detailPut: db.prepare('INSERT OR REPLACE INTO rejection_detail (id, detail) VALUES (?, ?)'),
      forkEvidence: db.prepare('SELECT other_wire FROM forks WHERE other_id = ?'),
      forkPut: db.prepare(
        'INSERT OR IGNORE INTO forks (author, seq, held_id, other_id, other_wire, detected_ms) VALUES (?, ?, ?, ?, ?, ?)',
      ),
    }
  }

  // ── writing: local appends (group commit) ──────────────────────────────────────────────

  /**
   * Signs and appends a record by `signer`. Resolves once the record is durable (its
   * transaction committed with synchronous=FULL); concurrent appends share one commit.
   */
  append(type: string, body: unknown, signer: Signer): Promise<AppendResult> {
    let signed: Promise<SignedRecord>
    try {
      const unsigned = this.#build(type, encodeBody(body), signer)
      signed = signIdAsync(unsigned.id, signer.privateKeyObject).then((sig) => ({ ...unsigned, sig }))
    } catch (err) {
      return Promise.reject(err)
    }
    return new Promise((resolve, reject) => {
      this.#pending.push({ signed, resolve, reject })
      if (!this.#flushScheduled) {
        this.#flushScheduled = true
        setImmediate(() => this.#flush())
      }
    })
  }

  /** Creates the site: the genesis record, signed by the first admin. */
  async createGenesis(name: string, admins: Uint8Array[], signer: Signer): Promise<SignedRecord> {
    if (this.#site) throw new Error('this ledger already has a site')
    const fields: RecordFields = {
      v: RECORD_VERSION,
      site: GENESIS_SITE,
      author: signer.publicKey,
      seq: 1,
      prev: null,
      parents: [],
      hlc: this.clock.tick(),
      type: 'site.genesis',
      body: encodeBody({ name, admins }),
    }
    const record = signRecord(fields, signer.privateKeyObject)
    const report = this.ingestRecords([record], { trusted: true })
    if (report.accepted !== 1) throw new Error(`genesis refused: ${JSON.stringify(report.reasons)}`)
    return record
  }

  /**
   * Builds the unsigned next record of a key this node does not hold (an admin's, signing on
   * their own machine) and judges it as the fold would at the tip: the record sorts last, its
   * clock coming from this node's clock, which has observed every stored record. A record the
   * rules refuse is never handed out for signing (throws a 4xx, ./refusals.ts).
   *
   * Nothing is reserved: a prepared record that is never submitted blocks nobody, and two
   * prepares for one key get the same seq; the first submitted takes it, the other is answered
   * SEQ_TAKEN (never evidence of a fork). The node's own keys are not prepared for.
   */
  prepare(type: string, body: Uint8Array, author: Uint8Array): Omit<SignedRecord, 'sig'> {
    if (this.#pendingReplay) this.settle()
    const local = this.#authors.get(toHex(author))?.reserved
    if (local)
      throw refusal(reject(Reason.SEQ_TAKEN, `this node is writing seq ${local.seq} of this key itself`))
    let record: Omit<SignedRecord, 'sig'>
    try {
      record = this.#build(type, body, { publicKey: author }, false)
    } catch (err) {
      if (err instanceof RecordError) throw refusal(reject(err.code, err.message))
      throw err
    }
    const verdict = this.#judge(this.#foldRecordFrom(record))
    if (verdict && verdict !== DEFERRED) throw refusal(verdict)
    return record
  }

  /**
   * Takes a record signed by a key holder (prepared by `prepare`, signed on their machine):
   * decode → the ingest checks → a dry run of the fold at the tip → store and fold, in one
   * transaction. `author` (hex) is the key the client authenticated as: a client submits only
   * its own records. A refusal throws (a 4xx, ./refusals.ts) and keeps nothing: no quarantine
   * row, no reservation, no fork evidence. The refused record's seq stays free, and its author
   * may sign that seq again.
   */
  submit(wire: Uint8Array, opts: { author?: string } = {}): Submitted {
    let record: SignedRecord
    try {
      record = decodeWire(wire)
    } catch (err) {
      throw refusal(reject(err instanceof RecordError ? err.code : Reason.MALFORMED, (err as Error).message))
    }
    const hex = keyHex(record.author)
    if (opts.author !== undefined && opts.author !== hex) throw refusals.WRONG_AUTHOR(hex, opts.author)
    if (!verifySignature(record))
      throw refusal(reject(Reason.BAD_SIGNATURE, 'signature does not verify for the author key'))
    this.commitRelayed()
    if (this.#pendingReplay) this.settle()
    const id = toHex(record.id)
    const author = this.#authors.get(hex)
    if (author?.reserved)
      throw refusal(reject(Reason.SEQ_TAKEN, `this node is writing seq ${author.reserved.seq} of this key`))
    if (author && author.idx >= 0 && record.seq <= author.headSeq) {
      this.#writeRows()
      const held = this.#idAt(author.idx, record.seq)
      if (held && equalBytes(held, record.id)) return { id, duplicate: true, ...this.#outcome(id, record) }
      throw refusal(
        reject(
          Reason.SEQ_TAKEN,
          `seq ${record.seq} of this key is taken by another record (head ${author.headSeq})`,
        ),
      )
    }
    // Rule: a key holder's record sorts after every record this node has folded, so the dry run
    // at the tip below is the verdict it gets in its place (a record signed with an older clock
    // or fewer parents than prepare gave it would be judged at the tip but folded in the past).
    if (this.#pos && !before(this.#pos, record))
      throw refusal(
        reject(
          Reason.STALE,
          'the record sorts before records this node already holds (its clock is older): prepare it again',
        ),
      )
    // The same checks ingest applies (no fork branch: the seq is past the author's head).
    const problem = this.#check(record, true)
    if (problem === 'duplicate') return { id, duplicate: true, ...this.#outcome(id, record) }
    if (problem) throw refusal(problem)
    const verdict = this.#judge(this.#foldRecordFrom(record))
    if (verdict && verdict !== DEFERRED) throw refusal(verdict)
    const report = this.ingestRecords([record], { trusted: true })
    if (report.accepted !== 1)
      throw new Error(`submitted record passed its checks but was not stored: ${JSON.stringify(report)}`)
    return { id, duplicate: false, ...this.#outcome(id, record) }
  }

  #outcome(
    id: string,
    record: { author: Uint8Array; seq: number; type: string; hlc: Hlc; id: Uint8Array },
  ): { status: RecordStatus; rejection: Rejection | null } {
    const rejection = this.#rejectionOf(id, record)
    if (rejection) return { status: 'rejected', rejection }
    const since = this.#deferred.get(record.type)
    return { status: since && !before(record, since) ? 'deferred' : 'applied', rejection }
  }

  /**
   * The unsigned next record of `signer`. `local`: this node signs it now (an append), so the
   * seq is reserved for the group commit and the parents it names are remembered; otherwise
   * (prepare) nothing about the ledger changes.
   */
  #build(
    type: string,
    body: Uint8Array,
    signer: { publicKey: Uint8Array },
    local = true,
  ): Omit<SignedRecord, 'sig'> {
    if (!this.#site)
      throw new RecordError(
        reject(Reason.NO_GENESIS, 'the ledger has no site yet: create or receive its genesis first'),
      )
    // A local record gets the checks a peer will apply, or peers would refuse what this node holds.
    checkLocal(type, body)
    const hex = toHex(signer.publicKey)
    const me = this.#authors.get(hex)
    const named = this.#namedParents.get(hex) ?? new Map<string, number>()
    // Parents: heads of other authors this author has not named yet, newest first.
    const candidates = this.#authorsByIdx
      .filter((a) => a.hex !== hex && a.headId && named.get(a.hex) !== a.headSeq)
      .sort((x, y) => compareHlc(y.headHlc, x.headHlc))
      .slice(0, MAX_PARENTS)
    const mine = me?.reserved ?? (me ? { seq: me.headSeq, id: me.headId, hlc: me.headHlc } : null)
    let after = mine?.hlc ?? ZERO_HLC
    for (const a of candidates) if (compareHlc(a.headHlc, after) > 0) after = a.headHlc
    const fields: RecordFields = {
      v: RECORD_VERSION,
      site: this.#site,
      author: signer.publicKey,
      seq: (mine?.seq ?? 0) + 1,
      prev: mine?.id ?? null,
      parents: candidates.map((a) => a.headId!).sort(compareBytes),
      hlc: this.clock.tickAfter(after),
      type,
      body,
    }
    const record = prepareRecord(fields)
    if (!local) return record
    this.#namedParents.set(hex, named)
    for (const a of candidates) named.set(a.hex, a.headSeq)
    // Reserve the sequence number now so the next append chains onto this one.
    const author = me ?? this.#addAuthorInMemory(-1, signer.publicKey, 0, null, ZERO_HLC)
    author.reserved = { seq: record.seq, id: record.id, hlc: record.hlc }
    return record
  }

  #flush(): void {
    this.#flushScheduled = false
    const batch = this.#pending
    this.#pending = []
    if (batch.length === 0) return
    this.#flushChain = this.#flushChain.then(() => this.#commit(batch))
  }

  async #commit(batch: PendingAppend[]): Promise<void> {
    let records: SignedRecord[]
    try {
      records = await Promise.all(batch.map((p) => p.signed))
    } catch (err) {
      for (const p of batch) p.reject(err)
      this.#reloadHeads()
      for (const a of this.#authors.values()) a.reserved = null
      return
    }
    try {
      const report = this.ingestRecords(records, { trusted: true })
      this.counters.appended += report.accepted
      for (const a of this.#authors.values()) if (a.reserved && a.reserved.seq <= a.headSeq) a.reserved = null
      batch.forEach((p, i) => {
        const record = records[i]!
        const stored = this.#authors.get(keyHex(record.author))!.headSeq >= record.seq
        if (!stored)
          p.reject(new Error(`append of ${record.type} was refused: ${JSON.stringify(report.reasons)}`))
        else p.resolve({ record, rejection: this.#rejectionOf(toHex(record.id), record) })
      })
    } catch (err) {
      for (const p of batch) p.reject(err)
      this.#reloadHeads()
      for (const a of this.#authors.values()) a.reserved = null
    }
  }

  // ── writing: ingest ────────────────────────────────────────────────────────────────────

  /** Ingests signed records in wire form (`sig || bytes`). Idempotent. */
  ingest(wires: readonly Uint8Array[], opts: IngestOptions = {}): IngestReport {
    const { records, report } = this.decodeWires(wires, opts)
    const sub = this.ingestRecords(records, {
      tipVerification: opts.tipVerification ?? false,
      relayed: opts.relayed ?? false,
    })
    return mergeReports(report, sub)
  }

  /**
   * The first ingest step on its own: decodes wires; what does not decode is quarantined with
   * its reason (counted in the report). With `vouch` and `ingestRecords({ vouched })`, a caller
   * can spread a large message over several event-loop turns and still check one signature per
   * author run of the whole message.
   */
  decodeWires(
    wires: readonly Uint8Array[],
    opts: { owned?: boolean } = {},
  ): { records: SignedRecord[]; report: IngestReport } {
    const report = newReport()
    const records: SignedRecord[] = []
    for (const wire of wires) {
      try {
        records.push(decodeWire(wire, { owned: opts.owned === true }))
      } catch (err) {
        const code = err instanceof RecordError ? err.code : Reason.MALFORMED
        this.#quarantine(wire, reject(code, (err as Error).message), report)
      }
    }
    return { records, report }
  }

  /**
   * Which of these decoded records' signatures are vouched for: with tip verification, every
   * record of a run whose links (prev = id of the record before, ids computed from the bytes)
   * reach a tip whose signature verifies (authority records are still checked one by one).
   */
  vouch(records: readonly SignedRecord[], tipVerification = true): ReadonlySet<SignedRecord> {
    const byAuthor = sortIfNeeded([...records], (a, b) => compareBytes(a.author, b.author) || a.seq - b.seq)
    return this.#verifyTips(byAuthor, tipVerification)
  }

  /**
   * Ingests decoded records: the named steps, then one synchronous transaction that stores
   * the accepted ones and folds them. `trusted` skips signature checks for records this node
   * just signed itself.
   */
  ingestRecords(
    records: readonly SignedRecord[],
    opts: {
      tipVerification?: boolean
      trusted?: boolean
      relayed?: boolean
      /** Signatures already vouched for (`vouch`): records outside the set are refused. */
      vouched?: ReadonlySet<SignedRecord>
    } = {},
  ): IngestReport {
    const report = newReport()
    if (records.length === 0) return report
    if (opts.relayed === true) this.#beginRelayed()
    else {
      this.commitRelayed()
      this.#setSynchronous('FULL')
    }
    // Signatures are checked per author chain; records are stored in total order, which is
    // causal (a record's clock exceeds its parents'), so a batch can carry a whole DAG.
    const tipOk = opts.trusted ? null : (opts.vouched ?? this.vouch(records, opts.tipVerification ?? false))
    const sorted = sortIfNeeded([...records], compareOrder)
    const accepted: Array<{ record: SignedRecord; rowid: number }> = []
    const tx = this.db.transaction(() => {
      for (const record of sorted) {
        const problem = this.#check(record, opts.trusted === true || tipOk?.has(record) === true)
        if (problem === 'duplicate') {
          report.duplicates++
          this.counters.duplicates++
          continue
        }
        if (problem) {
          this.#quarantine(wireBytes(record), problem, report)
          continue
        }
        accepted.push({ record, rowid: this.#store(record) })
        report.accepted++
      }
      this.#writeRows()
      if (opts.relayed === true) this.#deferIds()
      else this.#writeIds()
      if (accepted.length > 0) {
        this.#count += accepted.length
        this.#foldNew(accepted, opts.relayed === true)
        // Relayed slices share one transaction: their state and metadata are written once,
        // just before it commits (commitRelayed).
        if (!this.#relay) this.#persist()
      }
    })
    try {
      tx()
    } catch (err) {
      this.#loadNextRowid() // the transaction rolled back: so did the rowids it took
      this.#deferredCounts = null
      throw err
    }
    for (const { record } of accepted) {
      const a = this.#authors.get(keyHex(record.author))
      if (a?.reserved && a.reserved.seq <= a.headSeq) a.reserved = null
    }
    this.counters.ingested += report.accepted
    if (accepted.length > 0 && !this.#retrying) this.retryHeld(10_000, opts.relayed === true)
    const relay = this.#relay
    if (relay) {
      relay.records += accepted.length
      if (this.#overlay.size >= OVERLAY_MAX) this.indexIds()
      // The caller may take the commit in a turn of its own (`relayedDue`); past twice the
      // bound the ledger commits here itself.
      if (relay.records >= 2 * RELAY_COMMIT_RECORDS) this.commitRelayed()
    }
    return report
  }

  /** Whether the open transaction of relayed records has reached its size or age bound. */
  get relayedDue(): boolean {
    const relay = this.#relay
    return (
      relay !== null &&
      (relay.records >= RELAY_COMMIT_RECORDS || performance.now() - relay.since >= RELAY_COMMIT_MS)
    )
  }

  /**
   * Which records' signatures are vouched for: all checked one by one, or (bulk catch-up) the
   * tip of each contiguous run per author, whose id commits to every earlier record by hash.
   */
  #verifyTips(sorted: readonly SignedRecord[], tipOnly: boolean): Set<SignedRecord> {
    const ok = new Set<SignedRecord>()
    let run: SignedRecord[] = []
    const closeRun = () => {
      if (run.length === 0) return
      const tip = run[run.length - 1]!
      if (verifySignature(tip)) {
        // The chain below the tip is vouched for once each link's prev matches (checked in #check).
        for (const r of run) if (!AUTHORITY_TYPES.has(r.type) || r === tip || verifySignature(r)) ok.add(r)
      } else {
        for (const r of run) if (verifySignature(r)) ok.add(r)
      }
      run = []
    }
    for (const r of sorted) {
      if (!tipOnly) {
        if (verifySignature(r)) ok.add(r)
        continue
      }
      const last = run[run.length - 1]
      if (
        last &&
        (!equalBytes(last.author, r.author) ||
          last.seq + 1 !== r.seq ||
          !r.prev ||
          !equalBytes(r.prev, last.id))
      )
        closeRun()
      run.push(r)
    }
    closeRun()
    return ok
  }

  /** The named ingest steps. Returns null (accept), 'duplicate', or the rejection. */
  #check(r: SignedRecord, signatureOk: boolean): Rejection | 'duplicate' | null {
    // site
    if (r.type === 'site.genesis' && !equalBytes(r.site, GENESIS_SITE)) {
      return reject(Reason.GENESIS, 'a site.genesis record must carry the all-zero site: it creates the site')
    }
    if (r.type === 'site.genesis') {
      if (this.#site && equalBytes(r.id, this.#site))
        return this.#authors.has(keyHex(r.author)) ? 'duplicate' : null
      if (this.#site) return reject(Reason.GENESIS, 'a second genesis for a site that already has one')
      if (r.seq !== 1) return reject(Reason.GENESIS, "a genesis must be its author's first record")
    } else if (!this.#site) {
      return reject(Reason.NO_GENESIS, 'no genesis yet: records of a site are held until its genesis arrives')
    } else if (!equalBytes(r.site, this.#site)) {
      return reject(
        Reason.WRONG_SITE,
        `record is for site ${toHex(r.site).slice(0, 16)}…, this ledger is ${toHex(this.#site).slice(0, 16)}…`,
      )
    }
    // duplicate / fork
    const author = this.#authors.get(keyHex(r.author))
    if (author && r.seq <= author.headSeq) {
      this.#writeRows()
      const held = this.#idAt(author.idx, r.seq)
      if (held && equalBytes(held, r.id)) return 'duplicate'
      if (held && (signatureOk || verifySignature(r))) {
        this.#recordFork(author, r, held)
        return reject(
          Reason.FORK,
          `a second record at seq ${r.seq} by ${author.hex.slice(0, 16)}…: kept as fork evidence`,
        )
      }
      if (held)
        return reject(
          Reason.BAD_SIGNATURE,
          'signature does not verify (and the record conflicts with one held)',
        )
    }
    // signature (before anything that would hold the record for a retry)
    if (!signatureOk) return reject(Reason.BAD_SIGNATURE, 'signature does not verify for the author key')
    // chain
    const headSeq = author && author.idx >= 0 ? author.headSeq : 0
    if (r.seq > headSeq + 1)
      return reject(Reason.SEQ_GAP, `seq ${r.seq} arrived but the author's head is ${headSeq}`)
    if (r.seq > 1 && (!r.prev || !author?.headId || !equalBytes(r.prev, author.headId))) {
      return reject(Reason.BAD_PREV, `prev is not the id of the author's record ${r.seq - 1}`)
    }
    // clock
    if (this.clock.isTooFarAhead(r.hlc)) {
      return reject(
        Reason.CLOCK_FUTURE,
        `clock ${new Date(r.hlc.ms).toISOString()} is more than ${this.clock.maxAheadMs} ms ahead of this node`,
      )
    }
    if (author && r.seq > 1 && compareHlc(r.hlc, author.headHlc) <= 0)
      return reject(Reason.CLOCK_ORDER, "clock is not after the previous record's")
    // parents
    const parentAuthors: Array<[Author, number]> = []
    for (const p of r.parents) {
      const row = this.#rowById(p) ?? this.#forkEvidence(p, r)
      if (!row) return reject(Reason.UNKNOWN_PARENT, `parent ${toHex(p).slice(0, 16)}… is not held`)
      if (compareHlc({ ms: row.ms, c: row.c }, r.hlc) >= 0)
        return reject(Reason.CLOCK_ORDER, "clock is not after a parent's")
      parentAuthors.push([this.#authorsByIdx[row.author]!, row.seq])
    }
    // ancestry: an author's first record must follow its enrolment (or be a genesis admin's)
    if (r.seq === 1 && r.type !== 'site.genesis') {
      const enrolments = this.#enrolIndex.get(keyHex(r.author)) ?? []
      const follows = enrolments.some(([aIdx, aSeq]) =>
        parentAuthors.some(([pa, pSeq]) => pa.idx === aIdx && pSeq >= aSeq),
      )
      if (!follows)
        return reject(
          Reason.NOT_AUTHORIZED,
          "the author's first record does not follow an enrolment of its key",
        )
    }
    return null
  }

  #rowById(id: Uint8Array): Row | null {
    this.#writeRows()
    const p = prefix32(id)
    let rowid = this.#idsPending.find(p, id)
    if (rowid < 0) rowid = this.#overlay.find(p, id)
    if (rowid >= 0) {
      const row = this.#stmts.rowByRowid.get(rowid) as Row | undefined
      if (row && equalBytes(row.id, id)) return row
    }
    for (const row of this.#stmts.byId.all(id) as Row[]) if (equalBytes(row.id, id)) return row
    return null
  }

  /**
   * A parent that is the other branch of a fork: held as evidence (forks table) or carried in
   * the fork proof that names it. After a fork each side holds one branch; records that name
   * the other branch must still be accepted, or the network would split for good.
   */
  #forkEvidence(id: Uint8Array, naming: SignedRecord): Pick<Row, 'ms' | 'c' | 'author' | 'seq'> | null {
    const wires = (this.#stmts.forkEvidence.all(id) as Array<{ other_wire: Uint8Array }>).map(
      (f) => f.other_wire,
    )
    if (naming.type === 'site.fork') {
      const proof = naming.value as { a?: unknown; b?: unknown } | undefined
      for (const w of [proof?.a, proof?.b]) if (w instanceof Uint8Array) wires.push(w)
    }
    for (const wire of wires) {
      let r: SignedRecord
      try {
        r = decodeWire(wire)
      } catch {
        continue
      }
      const author = this.#authors.get(keyHex(r.author))
      if (!equalBytes(r.id, id) || !author || author.idx < 0 || !verifySignature(r)) continue
      return { ms: r.hlc.ms, c: r.hlc.c, author: author.idx, seq: r.seq }
    }
    return null
  }

  #store(r: SignedRecord): number {
    const hex = keyHex(r.author)
    let author = this.#authors.get(hex)
    if (!author || author.idx < 0) {
      const idx = this.#authorsByIdx.length
      this.#stmts.insertAuthor.run(idx, r.author)
      if (author) {
        author.idx = idx // a local author whose first record is being stored
        this.#authorsByIdx[idx] = author
      } else {
        author = this.#addAuthorInMemory(idx, r.author, 0, null, ZERO_HLC)
      }
    }
    let typeIdx = this.#types.get(r.type)
    if (typeIdx === undefined) {
      typeIdx = this.#typesByIdx.length
      this.#stmts.insertType.run(typeIdx, r.type)
      this.#types.set(r.type, typeIdx)
      this.#typesByIdx[typeIdx] = r.type
    }
    if (!this.registry.owner(r.type))
      this.#deferredCounts?.set(r.type, (this.#deferredCounts.get(r.type) ?? 0) + 1)
    const parents = r.parents.length > 0 ? Buffer.concat(r.parents) : null
    const rowid = this.#nextRowid++
    this.#rowValues.push(rowid, author.idx, r.seq, r.hlc.ms, r.hlc.c, typeIdx, r.id, r.sig, parents, r.body)
    this.#idsPending.add(prefix32(r.id), r.id, rowid)
    if (this.#rowValues.length >= ROWS_PER_INSERT * COLUMNS) this.#writeRows()
    if (AUTHORITY_TYPES.has(r.type)) this.#stmts.authorityRowPut.run(rowid)
    this.#headsMoved.add(author)
    author.headSeq = r.seq
    author.headId = r.id
    author.headHlc = r.hlc
    if (r.type === 'site.genesis') {
      this.#site = r.id
      this.#stmts.metaPut.run('site', r.id)
      for (const k of (decodeBody<{ admins?: unknown }>(r.body).admins as Uint8Array[]) ?? [])
        this.#indexEnrol(toHex(k), author.idx, r.seq)
    } else if (r.type === 'site.enrol') {
      const key = decodeBody<{ key?: unknown }>(r.body).key
      if (key instanceof Uint8Array) this.#indexEnrol(toHex(key), author.idx, r.seq)
    }
    this.clock.observe(r.hlc)
    return rowid
  }

  /** Writes the queued record rows; called before anything reads records and at the end of a batch. */
  #writeRows(): void {
    const values = this.#rowValues
    if (values.length === 0) return
    this.#rowValues = []
    if (values.length === ROWS_PER_INSERT * COLUMNS) {
      this.#stmts.insertRecords.run(values)
      return
    }
    for (let i = 0; i < values.length; i += COLUMNS)
      this.#stmts.insertRecord.run(values.slice(i, i + COLUMNS))
  }

  /**
   * Writes the record_ids rows of the records stored by this ingest step, sorted by id prefix
   * so that each B-tree page is visited once per run rather than once per record.
   */
  #writeIds(): void {
    const pending = this.#idsPending
    const n = pending.size
    if (n === 0) return
    this.#insertIds(pending, byPrefix(pending, n), 0, n)
    pending.clear()
  }

  /** Inserts rows `order[from..to)` of `src` (rows already there are left as they are). */
  #insertIds(src: IdOverlay, order: Int32Array, from: number, to: number): void {
    const values: unknown[] = []
    let i = from
    for (; i + IDS_PER_INSERT <= to; i += IDS_PER_INSERT) {
      values.length = 0
      for (let j = i; j < i + IDS_PER_INSERT; j++) values.push(src.idAt(order[j]!), src.rowidAt(order[j]!))
      this.#stmts.insertIds.run(values)
    }
    for (; i < to; i++) this.#stmts.insertId.run(src.idAt(order[i]!), src.rowidAt(order[i]!))
  }

  /** A relayed step's ids go to the overlay; `indexIds` writes their rows later. */
  #deferIds(): void {
    const pending = this.#idsPending
    if (pending.size === 0) return
    // In this step's transaction: rolled back with it, committed with its records.
    if (this.#overlay.size === 0) this.#stmts.metaPut.run('ids_from', pending.rowidAt(0))
    this.#overlay.addAll(pending)
    pending.clear()
  }

  /** Relayed records whose record_ids rows are not written yet (see `indexIds`). */
  get idsBehind(): number {
    return this.#overlay.size
  }

  /**
   * One index step: writes record_ids rows of relayed records, sorted by id prefix, for about
   * `budgetMs`, in the relayed transaction (opened if need be; it commits as relayed records
   * do, so a run over many steps is not a commit per step). A run covers the ids waiting when
   * it started; later ones wait for the next run. Returns whether the run has rows left.
   */
  indexIds(budgetMs = Number.POSITIVE_INFINITY): boolean {
    if (this.#overlay.size === 0 || this.#opts.readonly) return false
    this.#beginRelayed()
    const t0 = performance.now()
    const overlay = this.#overlay
    let run = this.#indexRun
    if (!run) {
      const n = overlay.size
      run = this.#indexRun = { order: byPrefix(overlay, n), done: 0, n }
    }
    do {
      const to = Math.min(run.n, run.done + IDS_PER_INSERT)
      this.#insertIds(overlay, run.order, run.done, to)
      run.done = to
    } while (run.done < run.n && performance.now() - t0 < budgetMs)
    if (run.done === run.n) {
      overlay.dropFirst(run.n)
      this.#indexRun = null
      if (overlay.size === 0) this.#stmts.metaDel.run('ids_from')
      else this.#stmts.metaPut.run('ids_from', overlay.rowidAt(0))
    }
    return this.#indexRun !== null
  }

  /** Opens the shared transaction of relayed records (committed with synchronous=NORMAL). */
  #beginRelayed(): void {
    if (this.#relay) return
    this.#setSynchronous('NORMAL')
    this.db.exec('BEGIN')
    const timer = setTimeout(() => this.commitRelayed(), RELAY_COMMIT_MS)
    timer.unref()
    this.#relay = { records: 0, since: performance.now(), timer }
  }

  /**
   * Commits the open transaction of relayed records, if any. Runs by itself after
   * RELAY_COMMIT_RECORDS records or RELAY_COMMIT_MS, before any other write (a local append
   * commits it with its own fsync), on settle and on close; the sync engine calls it when its
   * queue has drained.
   */
  commitRelayed(): void {
    const relay = this.#relay
    if (!relay) return
    this.#relay = null
    clearTimeout(relay.timer)
    if (!this.#db?.inTransaction) return
    if (relay.records > 0) this.#persist()
    this.#db.exec('COMMIT')
  }

  #setSynchronous(mode: 'FULL' | 'NORMAL'): void {
    if (this.#synchronous === mode || this.#opts.readonly) return
    this.db.pragma(`synchronous = ${mode}`)
    this.#synchronous = mode
  }

  #loadNextRowid(): void {
    this.#rowValues = []
    this.#nextRowid = Number((this.#stmts.maxRowid.get() as { m: number | null }).m ?? 0) + 1
    // Pending ids belong to the step that rolled back (or, at open, there are none).
    this.#idsPending.clear()
    this.#overlay.truncateFrom(this.#nextRowid)
    if (this.#indexRun && this.#indexRun.n > this.#overlay.size) this.#indexRun = null
  }

  #addAuthorInMemory(
    idx: number,
    key: Uint8Array,
    headSeq: number,
    headId: Uint8Array | null,
    headHlc: Hlc,
  ): Author {
    const a: Author = {
      idx,
      key: new Uint8Array(key),
      hex: toHex(key),
      headSeq,
      headId,
      headHlc,
      reserved: null,
    }
    this.#authors.set(a.hex, a)
    if (idx >= 0) this.#authorsByIdx[idx] = a
    return a
  }

  #reloadHeads(): void {
    for (const a of this.#authorsByIdx) {
      const row = this.db.prepare('SELECT head_seq FROM authors WHERE idx = ?').get(a.idx) as {
        head_seq: number
      }
      const head =
        row.head_seq > 0
          ? (this.#stmts.headRow.get(a.idx, row.head_seq) as { id: Uint8Array; ms: number; c: number })
          : null
      a.headSeq = row.head_seq
      a.headId = head?.id ?? null
      a.headHlc = head ? { ms: head.ms, c: head.c } : ZERO_HLC
    }
  }

  #indexEnrol(keyHex: string, authorIdx: number, seq: number): void {
    const list = this.#enrolIndex.get(keyHex) ?? []
    list.push([authorIdx, seq])
    this.#enrolIndex.set(keyHex, list)
  }

  #loadEnrolIndex(): void {
    this.#enrolIndex.clear()
    for (const type of ['site.genesis', 'site.enrol']) {
      const idx = this.#types.get(type)
      if (idx === undefined) continue
      for (const row of this.#stmts.byType.iterate(idx) as IterableIterator<Row>) {
        const body = decodeBody<{ key?: Uint8Array; admins?: Uint8Array[] }>(row.body)
        for (const k of type === 'site.genesis' ? (body.admins ?? []) : body.key ? [body.key] : [])
          this.#indexEnrol(toHex(k), row.author, row.seq)
      }
    }
  }

  #recordFork(author: Author, other: SignedRecord, heldId: Uint8Array): void {
    this.#stmts.forkPut.run(author.key, other.seq, heldId, other.id, wireBytes(other), this.clock.wall())
    const held = this.#stmts.rowAt.get(author.idx, other.seq) as Row
    const prev = other.seq > 1 ? this.#idAt(author.idx, other.seq - 1) : null
    const heldWire = wireBytes(this.#fromRow(held, prev))
    this.#log.error(
      { author: author.hex, seq: other.seq },
      'fork: an author signed two records with the same seq; key quarantined',
    )
    this.events.emit('fork', { author: author.hex, seq: other.seq, a: heldWire, b: wireBytes(other) })
  }

  #quarantine(wire: Uint8Array, why: Rejection, report: IngestReport): void {
    const retry = RETRYABLE.has(why.code)
    // Keyed by the exact bytes, signature included: a forged copy of a held record (same id,
    // other signature) must not displace it.
    const ref = recordId(wire)
    this.#stmts.quarantinePut.run(ref, this.clock.wall(), why.code, why.detail, retry ? 1 : 0, wire)
    if (retry) this.#mayHaveHeld = true
    if (retry) report.held++
    else report.refused++
    report.reasons[why.code] = (report.reasons[why.code] ?? 0) + 1
    this.counters.refused[why.code] = (this.counters.refused[why.code] ?? 0) + 1
    this.#log.debug({ code: why.code, detail: why.detail }, retry ? 'record held' : 'record refused')
  }

  /** Retries held records (missing predecessor or parent, clock ahead). Bounded per call. */
  retryHeld(limit = 10_000, relayed = false): IngestReport {
    const total = newReport()
    if (this.#retrying) return total
    this.#retrying = true
    try {
      this.#retryRounds(limit, total, relayed)
    } finally {
      this.#retrying = false
    }
    return total
  }

  #retryRounds(limit: number, total: IngestReport, relayed: boolean): void {
    for (let round = 0; round < 8; round++) {
      if (!this.#mayHaveHeld) break
      const held = this.#stmts.quarantineHeld.all(limit) as Array<{ qid: number; wire: Uint8Array }>
      if (held.length === 0) {
        this.#mayHaveHeld = false
        break
      }
      this.db.transaction(() => {
        for (const h of held) this.#stmts.quarantineDel.run(h.qid)
      })()
      const report = this.ingest(
        held.map((h) => h.wire),
        { relayed },
      )
      mergeReports(total, report)
      if (report.accepted === 0) break
    }
  }

  // ── folding ────────────────────────────────────────────────────────────────────────────

  #foldNew(added: Array<{ record: SignedRecord; rowid: number }>, deferReplay: boolean): void {
    const authority = added.some((a) => AUTHORITY_TYPES.has(a.record.type))
    let replayFrom: OrderKey | null = null
    if (authority) {
      const cuts = this.#authorityPass()
      replayFrom = this.#earliestCutChange(this.#cuts, cuts)
      this.#cuts = cuts
    }
    const sorted = sortIfNeeded(added, (x, y) => compareOrder(x.record, y.record))
    const first = sorted[0]!.record
    if (this.#pos && before(first, this.#pos) && (!replayFrom || before(first, replayFrom)))
      replayFrom = first
    if (replayFrom && this.#pos && !before(this.#pos, replayFrom)) {
      const pos = this.#pos
      if (deferReplay) {
        // Catch-up: records that sort before the fold position are stored now and folded by one
        // replay when the burst is over (`settle`), not by one replay per batch. Records after
        // the position fold now; the replay folds them again in their place.
        if (!this.#pendingReplay || before(replayFrom, this.#pendingReplay)) this.#pendingReplay = replayFrom
        for (const { record, rowid } of sorted)
          if (before(pos, record)) this.#apply(this.#foldRecordFrom(record), rowid)
        return
      }
      if (this.#pendingReplay && before(this.#pendingReplay, replayFrom)) replayFrom = this.#pendingReplay
      this.#pendingReplay = null
      this.#replayFrom(replayFrom)
      return
    }
    for (const { record, rowid } of sorted) this.#apply(this.#foldRecordFrom(record), rowid)
  }

  /**
   * Loads a dapp into an open ledger (dapps installed while the node runs): its stored records,
   * deferred until now, are folded in their place by a replay from the earliest of them.
   * Throws, changing nothing, when the registry refuses the dapp (./dapp.ts).
   */
  registerDapp(dapp: LedgerDapp): void {
    this.registry.register(dapp)
    this.failedDapps.delete(dapp.name)
    if (this.#db) this.#foldDeferred()
  }

  /** Reads meta 'deferred' at open, then replays from records a dapp now owns (see #foldDeferred). */
  #loadDeferred(saved: Uint8Array | undefined): void {
    this.#deferred.clear()
    if (saved) {
      const entries = dagCbor.decode(saved) as Record<string, [number, number, Uint8Array]>
      for (const [type, [ms, c, id]] of Object.entries(entries))
        this.#deferred.set(type, { hlc: { ms, c }, id: new Uint8Array(id) })
    }
    this.#foldDeferred()
  }

  /** Counts the records of each deferred type from its earliest deferred record on. */
  #countDeferred(): Map<string, number> {
    const counts = new Map<string, number>()
    const count = this.db.prepare('SELECT count(*) AS n FROM records WHERE type = ? AND (ms, c) >= (?, ?)')
    for (const [type, from] of this.#deferred) {
      const idx = this.#types.get(type)
      if (idx === undefined) continue
      const n = (count.get(idx, from.hlc.ms, from.hlc.c) as { n: number }).n
      if (n > 0) counts.set(type, n)
    }
    return counts
  }

  /**
   * Deferred types a dapp now owns: the fold replays from the earliest of their records (a
   * rebuild when they are authority records).
   */
  #foldDeferred(): void {
    let from: OrderKey | null = null
    let authority = false
    for (const [type, key] of this.#deferred) {
      if (!this.registry.owner(type)) continue
      this.#deferred.delete(type)
      this.#deferredDirty = true
      if (!from || before(key, from)) from = key
      if (AUTHORITY_TYPES.has(type)) authority = true
    }
    for (const type of this.#deferredCounts?.keys() ?? [])
      if (this.registry.owner(type)) this.#deferredCounts!.delete(type)
    if (!from || this.#opts.readonly) return
    if (authority) {
      // A cut applies to the cut key's records wherever they sort, even before the record that
      // made it: the whole fold is redone with the new cut table.
      this.rebuild()
      return
    }
    if (!this.#pendingReplay || before(from, this.#pendingReplay)) this.#pendingReplay = from
    this.settle()
  }

  /** WAL checkpoints done on the worker (null: no worker, SQLite checkpoints in commits). */
  get checkpoints(): { done: number; failed: number } | null {
    return this.#checkpointer?.stats ?? null
  }

  /** Whether a replay put off by relayed ingest is waiting (state is behind its records). */
  get unsettled(): boolean {
    return this.#pendingReplay !== null
  }

  /**
   * Runs the replay that relayed ingest put off, in one transaction; the sync engine calls it
   * when its ingest queue has drained. Returns whether there was one.
   */
  settle(): boolean {
    this.commitRelayed()
    if (!this.#pendingReplay || this.#opts.readonly) return false
    this.db.transaction(() => {
      const from = this.#pendingReplay!
      this.#pendingReplay = null
      this.#replayFrom(from)
      this.#persist()
    })()
    return true
  }

  /**
   * Folds one record into state: authority, then the owning dapp's validator and reducer. A
   * record no loaded dapp owns changes nothing and leaves no marker: it is folded in its place
   * once a dapp owns its type.
   */
  #apply(r: FoldRecord, rowid: number): void {
    const rejection = this.#judge(r)
    if (rejection === DEFERRED) {
      const seen = this.#deferred.get(r.type)
      if (!seen || before(r, seen)) {
        this.#deferred.set(r.type, { hlc: r.hlc, id: r.id })
        this.#deferredDirty = true
      }
      this.events.emit('deferred', r)
    } else if (rejection) {
      // A record excluded by a cut needs no marker: the cut (site/cut/…) is in state already,
      // and after a fork each side holds a different branch: markers would split the hash.
      if (rejection.code !== Reason.REVOKED && rejection.code !== Reason.FORKED) {
        this.state.put(REJECTED_PREFIX + r.idHex, rejection.code)
        this.#stmts.detailPut.run(r.id, rejection.detail)
      }
      this.events.emit('rejected', r, rejection)
    } else {
      this.registry.owner(r.type)!.handlers.reduce(r, this.state)
      this.events.emit('applied', r)
    }
    const changes = this.state.takeJournal()
    if (changes.length > 0) this.#stmts.undoPut.run(rowid, dagCbor.encode(changes.map((c) => [c.key, c.old])))
    this.#pos = { hlc: r.hlc, id: r.id }
  }

  /** The fold's verdict on a record at the current state: applied (null), refused, or deferred. */
  #judge(r: FoldRecord): Rejection | typeof DEFERRED | null {
    const cut = this.#cuts.get(r.authorHex)
    if (cut && r.seq > cut.cut) {
      return reject(
        cut.reason.startsWith('forked') ? Reason.FORKED : Reason.REVOKED,
        `key ${cut.reason}; valid up to seq ${cut.cut}`,
      )
    }
    if (r.role === 'none')
      return reject(Reason.NOT_AUTHORIZED, 'the author is not an enrolled key at this point')
    const owner = this.registry.owner(r.type)
    if (!owner) return DEFERRED
    try {
      return owner.handlers.validate(r, this.state) ?? null
    } catch (err) {
      // A validator that throws rejects the record; the bug is logged, the node keeps folding.
      this.#log.error({ err, type: r.type, dapp: owner.dapp }, 'validator threw')
      return reject(`${owner.dapp}.VALIDATOR_ERROR`, `the ${owner.dapp} validator failed on this record`)
    }
  }

  #foldRecordFrom(
    r: {
      id: Uint8Array
      author: Uint8Array
      seq: number
      hlc: Hlc
      type: string
      body: Uint8Array
      value?: unknown
    },
    state: StateView = this.state,
  ): FoldRecord {
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

  #rowRecord(row: Row): {
    id: Uint8Array
    author: Uint8Array
    seq: number
    hlc: Hlc
    type: string
    body: Uint8Array
  } {
    return {
      id: row.id,
      author: this.#authorsByIdx[row.author]!.key,
      seq: row.seq,
      hlc: { ms: row.ms, c: row.c },
      type: this.#typesByIdx[row.type]!,
      body: row.body,
    }
  }

  /**
   * The authority pass: folds only site.* records, in total order, into a scratch state. A
   * revocation or fork proof whose author is already cut at that point does not count. Returns
   * the cut table that then applies to every record.
   */
  #authorityPass(): Map<string, CutInfo> {
    const scratch = new State()
    const rows: Row[] = []
    for (const type of AUTHORITY_TYPES) {
      const idx = this.#types.get(type)
      if (idx !== undefined) rows.push(...(this.#stmts.byType.all(idx) as Row[]))
    }
    const ordered = rows.map((row) => this.#rowRecord(row)).sort(compareOrder)
    for (const rec of ordered) {
      const r = this.#foldRecordFrom(rec, scratch)
      const cut = scratch.get<CutInfo>(cutStateKey(r.authorHex))
      if (cut && r.seq > cut.cut) continue
      if (r.role === 'none') continue
      const handlers = this.registry.owner(r.type)?.handlers
      if (!handlers || handlers.validate(r, scratch)) continue
      handlers.reduce(r, scratch)
    }
    scratch.takeJournal()
    return new Map(scratch.list<CutInfo>('site/cut/').map(([k, v]) => [k.slice('site/cut/'.length), v]))
  }

  /** The earliest stored record whose cut status differs between two cut tables. */
  #earliestCutChange(old: Map<string, CutInfo>, next: Map<string, CutInfo>): OrderKey | null {
    let earliest: OrderKey | null = null
    for (const hex of new Set([...old.keys(), ...next.keys()])) {
      const a = old.get(hex)?.cut ?? Number.POSITIVE_INFINITY
      const b = next.get(hex)?.cut ?? Number.POSITIVE_INFINITY
      if (a === b) continue
      const author = this.#authors.get(hex)
      if (!author || author.idx < 0) continue
      for (const row of this.#stmts.rangeByAuthor.iterate(
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
    this.counters.replays++
    const horizon = this.#stmts.metaGet.get('undo_horizon') as { value: Uint8Array } | undefined
    if (horizon && before(from, decodeOrderKey(horizon.value))) {
      this.#log.info('late record sorts before the undo horizon: rebuilding state')
      this.#rebuild()
      return
    }
    const undo = this.#stmts.undoFrom.all(from.hlc.ms, from.hlc.c) as Array<{
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
      this.state.revert(changes)
      this.#stmts.undoDel.run(u.rowid)
    }
    this.#pos = null
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
      const rows = this.#stmts.page.all(ms, c, rowid, 4096) as Row[]
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
    let group: Row[] = []
    const flushGroup = () => {
      if (group.length > 1) group.sort((x, y) => compareBytes(x.id, y.id))
      for (const row of group) {
        const rec = this.#rowRecord(row)
        if (from && before(rec, from)) continue
        this.#apply(this.#foldRecordFrom(rec), row.rowid)
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
    this.commitRelayed()
    this.#rebuild()
  }

  #rebuild(): void {
    this.counters.rebuilds++
    this.db.transaction(() => {
      this.state.clear()
      this.#deferred.clear()
      this.#deferredDirty = true
      this.db.exec("DELETE FROM undo; DELETE FROM meta WHERE key = 'undo_horizon'")
      this.#pos = null
      this.#pendingReplay = null
      this.#cuts = this.#authorityPass()
      this.#foldRows(this.#pageRows(null), null)
      this.#persist()
    })()
  }

  /** Writes dirty state entries and the fold metadata (inside the caller's transaction). */
  #persist(): void {
    for (const a of this.#headsMoved) this.#stmts.setHead.run(a.headSeq, a.idx)
    this.#headsMoved.clear()
    for (const key of this.state.dirty) {
      const bytes = this.state.entryBytes(key)
      if (bytes) this.#stmts.statePut.run(key, bytes)
      else this.#stmts.stateDel.run(key)
    }
    this.state.dirty.clear()
    this.#stmts.metaPut.run('count', this.#count)
    this.#stmts.metaPut.run('state_hash', this.state.hash)
    if (this.#pos) this.#stmts.metaPut.run('pos', encodeOrderKey(this.#pos))
    if (this.#pendingReplay) this.#stmts.metaPut.run('replay_from', encodeOrderKey(this.#pendingReplay))
    else this.#stmts.metaDel.run('replay_from')
    if (this.#deferredDirty) {
      this.#deferredDirty = false
      if (this.#deferred.size === 0) this.#stmts.metaDel.run('deferred')
      else
        this.#stmts.metaPut.run(
          'deferred',
          dagCbor.encode(
            Object.fromEntries([...this.#deferred].map(([t, k]) => [t, [k.hlc.ms, k.hlc.c, k.id]])),
          ),
        )
    }
    if (++this.#sincePrune >= 1000) this.#pruneUndo()
  }

  /**
   * Keeps undo data for the newest `undoKeep` state-changing records in fold order. A late
   * record sorting before the horizon makes the next fold a full rebuild instead of a replay.
   */
  #pruneUndo(): void {
    this.#sincePrune = 0
    const keep = this.#opts.undoKeep ?? 100_000
    const cutoff = this.#stmts.undoCutoff.get(keep) as { ms: number; c: number } | undefined
    if (!cutoff) return
    this.#stmts.undoPrune.run(cutoff.ms, cutoff.c)
    this.#stmts.metaPut.run(
      'undo_horizon',
      encodeOrderKey({ hlc: { ms: cutoff.ms, c: cutoff.c }, id: HORIZON_ID }),
    )
  }

  // ── verification and export ────────────────────────────────────────────────────────────

  #fromRow(row: Row, prev: Uint8Array | null): SignedRecord {
    const author = this.#authorsByIdx[row.author]!.key
    const fields = this.#fields(author, row.type, row.seq, row.ms, row.c, row.id, prev, row.parents, row.body)
    const bytes = encodeRecord(fields)
    return { ...fields, bytes, id: row.id, sig: row.sig }
  }

  /** A stored record's fields, from its row's columns. */
  #fields(
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
    const type = this.#typesByIdx[typeIdx]!
    return {
      v: RECORD_VERSION,
      site:
        type === 'site.genesis' && seq === 1 && this.#site && equalBytes(id, this.#site)
          ? GENESIS_SITE
          : this.#site!,
      author,
      seq,
      prev,
      parents: splitIds(parents),
      hlc: { ms, c },
      type,
      body,
    }
  }

  #idAt(authorIdx: number, seq: number): Uint8Array | null {
    return (this.#stmts.idAt.get(authorIdx, seq) as { id: Uint8Array } | undefined)?.id ?? null
  }

  /** Every stored record as a signed record, in (author, seq) order. */
  *records(): Generator<SignedRecord> {
    for (const a of this.#authorsByIdx) {
      let prev: Uint8Array | null = null
      for (const row of this.db
        .prepare('SELECT rowid, * FROM records WHERE author = ? ORDER BY seq')
        .iterate(a.idx) as IterableIterator<Row>) {
        const r = this.#fromRow(row, prev)
        prev = row.id
        yield r
      }
    }
  }

  /**
   * Re-checks every hash link and every signature; signatures are verified in batches on worker
   * threads (one per core). Returns the first problem in (author, seq) order, or null.
   */
  async verifyAll(
    onProgress?: (checked: number) => void,
  ): Promise<{ checked: number; problem: VerifyProblem | null }> {
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
          return bad < 0 ? null : { ...b[bad]!.where, problem: 'signature does not verify' }
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
      for (const a of this.#authorsByIdx) {
        let expectSeq = 1
        let prev: Uint8Array | null = null
        for (;;) {
          // Pages, not a live cursor: appends may run between pages.
          const rows = this.#stmts.rangeByAuthor.all(a.idx, expectSeq, 4096) as Row[]
          if (rows.length === 0) break
          for (const row of rows) {
            const where = { author: a.hex, seq: row.seq, id: toHex(row.id) }
            if (row.seq !== expectSeq) {
              if (batch.length) send()
              return {
                checked,
                problem: (await drain(0)) ?? { ...where, problem: `sequence gap: expected ${expectSeq}` },
              }
            }
            const r = this.#fromRow(row, prev)
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

/** The record-level checks decodeWire applies on a peer, for records signed here. */
function checkLocal(type: string, body: Uint8Array): void {
  if (!TYPE_PATTERN.test(type))
    throw new RecordError(reject(Reason.BAD_FIELD, `record type "${type}" does not look like "dapp.name"`))
  if (body.length > MAX_BODY_BYTES) {
    throw new RecordError(
      reject(Reason.OVERSIZE, `body is ${body.length} bytes; the limit is ${MAX_BODY_BYTES}`),
    )
  }
  try {
    decodeBody(body)
  } catch (err) {
    throw new RecordError(reject(Reason.MALFORMED, `body cannot be carried: ${(err as Error).message}`))
  }
}

function newReport(): IngestReport {
  return { accepted: 0, duplicates: 0, held: 0, refused: 0, reasons: {} }
}

function mergeReports(into: IngestReport, from: IngestReport): IngestReport {
  into.accepted += from.accepted
  into.duplicates += from.duplicates
  into.held += from.held
  into.refused += from.refused
  for (const [k, v] of Object.entries(from.reasons)) into.reasons[k] = (into.reasons[k] ?? 0) + v
  return into
}

function compareOrder(a: { hlc: Hlc; id: Uint8Array }, b: { hlc: Hlc; id: Uint8Array }): number {
  return compareHlc(a.hlc, b.hlc) || compareBytes(a.id, b.id)
}

function splitIds(blob: Uint8Array | null): Uint8Array[] {
  if (!blob) return []
  const out: Uint8Array[] = []
  for (let i = 0; i < blob.length; i += ID_BYTES) out.push(new Uint8Array(blob.subarray(i, i + ID_BYTES)))
  return out
}

function encodeOrderKey(k: OrderKey): Uint8Array {
  return dagCbor.encode([k.hlc.ms, k.hlc.c, k.id])
}

function decodeOrderKey(b: Uint8Array): OrderKey {
  const [ms, c, id] = dagCbor.decode(b) as [number, number, Uint8Array]
  return { hlc: { ms, c }, id }
}
