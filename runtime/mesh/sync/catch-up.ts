/**
 * The bulk catch-up: batch and live messages waiting for the ledger, worked one slice per
 * event-loop turn (a turn between slices), so a badge decision never waits behind more than
 * one slice. A slice decodes a window of records (`Ledger.decodeWires`), vouches for their
 * signatures one per author run (`Ledger.vouch`) and ingests them relayed
 * (`Ledger.ingestRecords`); between slices the ledger's relayed commit, id index and replay
 * (`commitRelayed`, `indexIds`, `settle`) take their turns.
 *
 * This is the one file of sync that drives ledger internals; the protocol around it sees a
 * queue (`push`, `length`) and hooks (CatchUpHooks).
 */
import type { TimerHandle } from '../../core/clock.ts'
import type { IngestReport, Ledger } from '../../core/ledger/ledger.ts'
import type { SignedRecord } from '../../core/ledger/record.ts'
import type { SyncCounters } from './context.ts'
import type { TurnClock } from './turns.ts'

export interface Incoming {
  peer: string
  link: string
  kind: 'batch' | 'live'
  /** The message's signed records (views of its payload). */
  records: Uint8Array[]
  /** Wires decoded so far (decoding runs over turns). */
  decodedUpTo: number
  /**
   * The window: records decoded and not yet ingested (at most VOUCH_RUN and a decode slice),
   * so no more of a message is held decoded than that.
   */
  decoded: SignedRecord[]
  /** The window's records vouched for (`vouch`); null while the window is still decoding. */
  vouched: ReadonlySet<SignedRecord> | null
  /** Next record of the window to ingest. */
  next: number
  /** What the ledger made of the message so far. */
  report: IngestReport
}

export interface CatchUpHooks {
  /** Before an ingest slice: local records committed before it are pushed live first. */
  beforeIngest(): void
  /** After an ingest slice, even one that threw: what the mesh brought is the new live base. */
  afterIngest(): void
  /** A slice of `peer`'s message went through the ledger. */
  heard(peer: string): void
  /** A message has been through the ledger; `item.report` says what it made of it. */
  ingested(item: Incoming): void
  /** A request is in flight to some peer: the catch-up burst is not over. */
  requesting(): boolean
  /** Runs a step; an operational error is counted and logged, a programmer error rethrown. */
  safely(fn: () => void): void
}

/**
 * Records ingested per event-loop turn: adapted so one turn takes about INGEST_TURN_MS, so a
 * badge decision waits behind at most one such turn; the decision p99 during sync rises with
 * it (docs/mesh.md, "Sync speed").
 */
const INGEST_TURN_MS = 0.5
const MIN_SLICE = 16
const MAX_SLICE = 512

/**
 * Records vouched for by one signature check (per author run): a message is decoded, vouched
 * for and ingested in windows of about this many, not whole, because decoded records are what
 * a young-generation collection copies; a window bounds that set, at one more signature check
 * per window.
 */
const VOUCH_RUN = 256

/**
 * Relayed ids waiting for their record_ids rows (`Ledger.idsBehind`) at which an index run
 * (`Ledger.indexIds`, in INGEST_TURN_MS steps) starts, its steps taking turns with ingest
 * slices. Otherwise rows are written once the catch-up is over (no request in flight). Long
 * runs visit each B-tree leaf once for many rows; below the ledger's own bound (65,536).
 */
const INDEX_BEHIND = 49_152

/** Longest a catch-up may leave the ledger's state behind its records (see #maybeSettle). */
const MAX_UNSETTLED_MS = 3000

export class CatchUp {
  #ledger: Ledger
  #clock: TurnClock
  #counters: SyncCounters
  #hooks: CatchUpHooks
  #queue: Incoming[] = []
  #draining = false
  #drainImmediate: TimerHandle | null = null
  /** An index run is in progress: drain turns write record_ids rows until it is done. */
  #indexing = false
  /** While a run is in progress with messages queued, turns alternate: index, ingest, … */
  #indexTurn = false
  #slice = 64
  /** Records decoded per turn, adapted the same way. */
  #decodeSlice = 128
  #settleTimer: TimerHandle | null = null
  /** When the ledger was first seen with a replay put off (0: settled). */
  #unsettledSince = 0
  #closed = false

  constructor(ledger: Ledger, clock: TurnClock, counters: SyncCounters, hooks: CatchUpHooks) {
    this.#ledger = ledger
    this.#clock = clock
    this.#counters = counters
    this.#hooks = hooks
  }

  /** Messages waiting (the one being worked included). */
  get length(): number {
    return this.#queue.length
  }

  push(peer: string, link: string, kind: 'batch' | 'live', records: Uint8Array[]): void {
    this.#queue.push({
      peer,
      link,
      kind,
      records,
      decoded: [],
      decodedUpTo: 0,
      vouched: null,
      next: 0,
      report: { accepted: 0, duplicates: 0, held: 0, refused: 0, reasons: {} },
    })
    this.#scheduleDrain()
  }

  close(): void {
    this.#closed = true
    this.#clock.clearTimeout(this.#settleTimer)
    this.#clock.clearImmediate(this.#drainImmediate)
    this.#queue = []
  }

  #scheduleDrain(): void {
    if (this.#draining || this.#closed) return
    if (this.#queue.length === 0 && !this.#indexing && !this.#indexDue()) return
    this.#draining = true
    this.#drainImmediate = this.#clock.setImmediate(() => {
      this.#drainImmediate = null
      this.#draining = false
      const ledger = this.#ledger
      // A due commit of relayed records takes a turn of its own, not on top of a slice.
      if (this.#indexing) this.#indexTurn = !this.#indexTurn
      if (ledger.relayedDue) this.#hooks.safely(() => ledger.commitRelayed())
      else if (this.#queue.length === 0 || (this.#indexing && this.#indexTurn))
        this.#hooks.safely(() => {
          this.#indexing = false // stays so if the step throws
          this.#indexing = ledger.indexIds(INGEST_TURN_MS)
        })
      else {
        this.#hooks.safely(() => this.#ingestOne())
        if (ledger.idsBehind >= INDEX_BEHIND) this.#indexing = true
      }
      this.#hooks.safely(() => this.#maybeSettle())
      this.#scheduleDrain()
    })
  }

  /** Ids wait for their rows and the catch-up is over (no request in flight): index them. */
  #indexDue(): boolean {
    if (this.#ledger.idsBehind === 0) return false
    return !this.#hooks.requesting()
  }

  /**
   * Relayed ingest puts off the replay of records that sort before the fold position; run it
   * once the catch-up burst is over (queue drained, no request in flight), or after
   * MAX_UNSETTLED_MS so the state is never long behind the records.
   */
  #maybeSettle(): void {
    // An index run commits with the relayed transaction, not after each of its steps.
    if (this.#queue.length === 0 && !this.#indexing) this.#ledger.commitRelayed()
    if (!this.#ledger.unsettled) {
      this.#unsettledSince = 0
      return
    }
    const now = this.#clock.now()
    if (this.#unsettledSince === 0) this.#unsettledSince = now
    if (this.#queue.length > 0) return // the drain loop comes back here
    if (!this.#hooks.requesting() || now - this.#unsettledSince >= MAX_UNSETTLED_MS) {
      this.#ledger.settle()
      this.#unsettledSince = 0
      return
    }
    if (!this.#settleTimer)
      this.#settleTimer = this.#clock.setTimeout(() => {
        this.#settleTimer = null
        this.#hooks.safely(() => this.#maybeSettle())
        this.#scheduleDrain()
      }, 100)
  }

  /**
   * One step of the oldest queued message, then the event loop runs: a decode slice (until a
   * window of VOUCH_RUN records is decoded and vouched for) or an ingest slice of the window,
   * each sized to about INGEST_TURN_MS, so a badge decision waits behind at most one of them.
   */
  #ingestOne(): void {
    const item = this.#queue[0]
    if (!item) return
    const t0 = performance.now()
    if (item.vouched === null) {
      const n = this.#decodeSlice
      const chunk = item.records.slice(item.decodedUpTo, item.decodedUpTo + n)
      const { records, report } = this.#ledger.decodeWires(chunk, { owned: true })
      for (const r of records) item.decoded.push(r)
      item.decodedUpTo += chunk.length
      this.#count(item, report)
      // One signature per author run of the window vouches for it.
      if (item.decoded.length >= VOUCH_RUN || item.decodedUpTo >= item.records.length)
        item.vouched = this.#ledger.vouch(item.decoded, true)
      else this.#decodeSlice = adapt(n, chunk.length, performance.now() - t0)
      if (item.vouched === null || item.decoded.length > 0) return
    }
    this.#hooks.beforeIngest()
    const slice = this.#slice
    const part = item.decoded.slice(item.next, item.next + slice)
    item.next += part.length
    try {
      if (part.length > 0)
        this.#count(item, this.#ledger.ingestRecords(part, { relayed: true, vouched: item.vouched }))
    } finally {
      this.#hooks.afterIngest()
    }
    this.#slice = adapt(slice, part.length, performance.now() - t0)
    this.#hooks.heard(item.peer)
    if (item.next < item.decoded.length) return // the rest of this window comes next turn
    item.decoded = []
    item.next = 0
    item.vouched = null
    if (item.decodedUpTo < item.records.length) return // the next window comes next turn
    this.#queue.shift()
    this.#hooks.ingested(item)
  }

  /** Adds an ingest step's report to the message's and to the counters. */
  #count(item: Incoming, report: IngestReport): void {
    this.#counters.acceptedRecords += report.accepted
    this.#counters.duplicateRecords += report.duplicates
    this.#counters.heldRecords += report.held
    this.#counters.refusedRecords += report.refused
    const into = item.report
    into.accepted += report.accepted
    into.duplicates += report.duplicates
    into.held += report.held
    into.refused += report.refused
    for (const [code, n] of Object.entries(report.reasons)) into.reasons[code] = (into.reasons[code] ?? 0) + n
  }
}

/** The next slice size: doubled when a full slice took under half the turn budget, halved over 1.5×. */
function adapt(slice: number, done: number, ms: number): number {
  if (done < slice) return slice
  if (ms < INGEST_TURN_MS / 2) return Math.min(MAX_SLICE, slice * 2)
  if (ms > INGEST_TURN_MS * 1.5) return Math.max(MIN_SLICE, Math.floor(slice / 2))
  return slice
}
