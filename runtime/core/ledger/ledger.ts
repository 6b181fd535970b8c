/**
 * The signed ledger: records in SQLite, judged by their dapps, folded into deterministic state.
 *
 * A record's flow is a row of named steps, each in its own file:
 *   decode (./quarantine.ts) → vouch (./vouch.ts) → check (./checks.ts: site → duplicate/fork
 *   → signature → chain → clock → parents → ancestry) → store (./rows.ts) → fold (./fold.ts:
 *   authority pass → the owning dapp's validator → its reducer; replay/undo)
 * run by ./ingest.ts in one synchronous transaction per call. Local appends are
 * group-committed (./appends.ts); a key holder's record is judged before it is stored
 * (./admin.ts `prepare` → `submit`); a catch-up from peers runs in its own room
 * (./relay-session.ts, ./relay-writer.ts), which the ordinary path does not know.
 *
 * `Ledger` is the face: what the node, its dapps and tools use. Reads beyond the tip go
 * through `query` (./query.ts), operators' writes through `admin` (./admin.ts).
 */
import { EventEmitter } from 'node:events'
import { systemClock } from '../clock.ts'
import { Resource } from '../lifecycle.ts'
import { LedgerAdmin } from './admin.ts'
import { Appends } from './appends.ts'
import { Authors } from './authors.ts'
import { Checker } from './checks.ts'
import { DappRegistry } from './dapp.ts'
import { Fold } from './fold.ts'
import { HybridClock } from './hlc.ts'
import { Ingest } from './ingest.ts'
import { load } from './open.ts'
import { Quarantine } from './quarantine.ts'
import { LedgerQuery } from './query.ts'
import { RelaySession } from './relay-session.ts'
import { RelayWriter } from './relay-writer.ts'
import type { Rows } from './rows.ts'
import type { KeyInfo } from './site-dapp.ts'
import { keyStateKey } from './site-dapp.ts'
import { State, type StateView } from './state.ts'
import { storeError } from './store.ts'
import type { AppendResult, IngestOptions, IngestReport, LedgerOptions, Parts, Signer } from './types.ts'

export { AUTHORITY_ROWS_SQL, ID_LOOKUP_SQL } from './statements.ts'
export type {
  AppendResult,
  IngestOptions,
  IngestReport,
  LedgerOptions,
  RecordStatus,
  Signer,
  Submitted,
  VerifyProblem,
} from './types.ts'

/** The ledger's public face. */
export class Ledger extends Resource {
  readonly name = 'ledger'
  /**
   * 'fork' (evidence), 'applied' (record folded), 'rejected' (record not applied), 'deferred'
   * (no loaded dapp owns its type yet).
   */
  readonly events = new EventEmitter()
  readonly query: LedgerQuery
  readonly admin: LedgerAdmin
  /** The ledger's parts; for tests inside runtime/core/ledger/. */
  protected readonly parts: Parts

  constructor(opts: LedgerOptions) {
    super()
    const p = {
      opts,
      log: opts.log,
      clock: opts.clock ?? new HybridClock(),
      timers: opts.timers ?? systemClock,
      events: this.events,
      state: new State(),
      registry: new DappRegistry(),
      failedDapps: new Map<string, string>(),
      counters: { ingested: 0, appended: 0, duplicates: 0, replays: 0, rebuilds: 0, refused: {} },
      store: null as unknown as Rows,
      authors: new Authors(),
      checkpointer: null,
    } as Partial<Parts> as { -readonly [K in keyof Parts]: Parts[K] }
    p.fold = new Fold(p)
    p.checks = new Checker(p)
    p.quarantine = new Quarantine(p)
    p.ingest = new Ingest(p)
    p.appends = new Appends(p)
    p.writer = new RelayWriter(p)
    p.relay = new RelaySession(p, p.writer)
    this.parts = p
    this.query = new LedgerQuery(p)
    this.admin = new LedgerAdmin(p)
  }

  get site(): Uint8Array | null {
    return this.parts.store?.site ?? this.parts.opts.site ?? null
  }

  get count(): number {
    return this.parts.store?.count ?? 0
  }

  get stateHash(): string {
    return this.parts.state.hash
  }

  /** State as the fold left it: what decisions read (in memory, never the disk). */
  get view(): StateView {
    return this.parts.state
  }

  /** author hex → { seq, id hex } of every author's newest record. */
  heads(): Map<string, { seq: number; id: string }> {
    return this.parts.authors.heads()
  }

  /** Role of a key now ('admin' | 'device'), or null when not enrolled or cut. */
  roleOf(keyHex: string): string | null {
    if (this.parts.fold.cuts.has(keyHex)) return null
    return this.parts.state.get<KeyInfo>(keyStateKey(keyHex))?.role ?? null
  }

  /**
   * Signs and appends a record by `signer`. Resolves once the record is durable (its
   * transaction committed with synchronous=FULL); concurrent appends share one commit.
   */
  append(type: string, body: unknown, signer: Signer): Promise<AppendResult> {
    return this.parts.appends.append(type, body, signer)
  }

  /** Ingests signed records in wire form (`sig || bytes`), durably when it returns. Idempotent. */
  ingest(wires: readonly Uint8Array[], opts: IngestOptions = {}): IngestReport {
    return this.parts.ingest.wires(wires, opts)
  }

  /**
   * The ledger's catch-up session: records relayed by peers, pushed and worked through in
   * bounded steps (./relay-session.ts). One per ledger; it lives as long as the ledger.
   */
  relay(): RelaySession {
    return this.parts.relay
  }

  protected async _open(): Promise<void> {
    try {
      load(this.parts, this.parts.writer)
    } catch (err) {
      // Damage found while reading the file is named (LK_LEDGER_CORRUPT), never a stack trace.
      throw storeError(this.parts.opts.file, err)
    }
  }

  protected async _close(): Promise<void> {
    const p = this.parts
    await p.appends.close()
    if (p.store) p.writer.close()
    await p.checkpointer?.close()
    p.checkpointer = null
    p.store?.db.close()
  }
}
