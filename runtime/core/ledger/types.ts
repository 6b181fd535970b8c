/**
 * The ledger's public types, and the parts a ledger is composed of (./ledger.ts builds them at
 * open): each step of the record's flow is its own file, and they reach each other through
 * `Parts`, never through the `Ledger` face.
 */
import type { KeyObject } from 'node:crypto'
import type { EventEmitter } from 'node:events'
import type { Clock } from '../clock.ts'
import type { Logger } from '../log.ts'
import type { DappRegistry, LedgerDapp } from './dapp.ts'
import type { Hlc, HybridClock } from './hlc.ts'
import type { Rejection } from './reasons.ts'
import type { SignedRecord } from './record.ts'
import type { State } from './state.ts'

export interface LedgerOptions {
  /** SQLite file; ':memory:' for tests that need no durability. */
  file: string
  log: Logger
  /** The hybrid logical clock records are stamped with. */
  clock?: HybridClock
  /**
   * Timers and elapsed time (group-commit flushes, the bounds of a catch-up's transaction);
   * the system clock by default, a FakeClock in tests.
   */
  timers?: Clock
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
   * The wires are views of a buffer this ledger may keep referring to and nobody writes to
   * (a received message): they are decoded in place instead of copied first.
   */
  owned?: boolean
}

export interface VerifyProblem {
  author: string
  seq: number
  id: string
  problem: string
  /** The protocol's reason code (docs/PROTOCOL.md §4), where the problem is one a node refuses by. */
  reason?: string
}

export interface LedgerCounters {
  ingested: number
  appended: number
  duplicates: number
  replays: number
  rebuilds: number
  refused: Record<string, number>
}

/** A position in the total order (clock, then id). */
export interface OrderKey {
  hlc: Hlc
  id: Uint8Array
}

/** What the parts of one open ledger share (built at open, by ./ledger.ts). */
export interface Parts {
  readonly opts: LedgerOptions
  readonly log: Logger
  readonly clock: HybridClock
  readonly timers: Clock
  readonly events: EventEmitter
  readonly state: State
  readonly registry: DappRegistry
  readonly failedDapps: Map<string, string>
  readonly counters: LedgerCounters
  readonly store: import('./rows.ts').Rows
  readonly authors: import('./authors.ts').Authors
  readonly fold: import('./fold.ts').Fold
  readonly checks: import('./checks.ts').Checker
  readonly quarantine: import('./quarantine.ts').Quarantine
  readonly ingest: import('./ingest.ts').Ingest
  readonly appends: import('./appends.ts').Appends
  readonly writer: import('./relay-writer.ts').RelayWriter
  readonly relay: import('./relay-session.ts').RelaySession
  checkpointer: import('./checkpointer.ts').Checkpointer | null
}

export function newReport(): IngestReport {
  return { accepted: 0, duplicates: 0, held: 0, refused: 0, reasons: {} }
}

export function mergeReports(into: IngestReport, from: IngestReport): IngestReport {
  into.accepted += from.accepted
  into.duplicates += from.duplicates
  into.held += from.held
  into.refused += from.refused
  for (const [k, v] of Object.entries(from.reasons)) into.reasons[k] = (into.reasons[k] ?? 0) + v
  return into
}
