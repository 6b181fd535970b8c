/**
 * A catch-up: records relayed by peers, pushed a message at a time and worked through one
 * bounded step per event-loop turn, so a badge decision on the same loop waits behind at most
 * one step. The caller pushes wires and calls `step` once per turn while it says there is more
 * (the session keeps no timers of its own: a caller schedules its turns, on whatever clock).
 *
 * A step is one of, in this order of precedence:
 *   commit    the held transaction reached its bounds (./relay-writer.ts, ./bounds.ts)
 *   index     an index run: record_ids rows of waiting ids, sorted by prefix; once
 *             INDEX_BEHIND ids wait, its steps take turns with ingest; otherwise it runs once
 *             the queue is empty and no more records are coming
 *   decode    a slice of the oldest message, until a window of VOUCH_RUN records is decoded
 *   vouch     one signature per author run of the window (./vouch.ts), then
 *   ingest    a slice of the window: check → store → fold (./ingest.ts)
 * Slices adapt so a step takes about its budget. After each step the session commits when the
 * queue is empty, and runs a replay that ingest put off once the burst is over (nothing queued,
 * nothing more coming) or after MAX_UNSETTLED_MS.
 */
import {
  INDEX_BEHIND,
  MAX_SLICE,
  MAX_UNSETTLED_MS,
  MIN_SLICE,
  SETTLE_CHECK_MS,
  TURN_MS,
  VOUCH_RUN,
} from './bounds.ts'
import type { SignedRecord } from './record.ts'
import type { RelayWriter } from './relay-writer.ts'
import { type IngestReport, mergeReports, newReport, type Parts } from './types.ts'
import { vouch } from './vouch.ts'

export interface PushOptions {
  /**
   * The wires are views of a buffer the ledger may keep referring to and nobody writes to (a
   * received message): decoded in place instead of copied first.
   */
  owned?: boolean
  /** Called once every record of the message has been through the ledger, with what it made of them. */
  done?: (report: IngestReport) => void
}

export interface RelayStep {
  /** What this step's decode and ingest made of records, or null when it ingested nothing. */
  readonly report: IngestReport | null
  /** Another step has work now: call `step` again next turn. */
  readonly more: boolean
  /** Nothing to do now, but step again after this many ms (a put-off replay waits), or null. */
  readonly wakeInMs: number | null
}

interface Message {
  wires: readonly Uint8Array[]
  owned: boolean
  done: ((report: IngestReport) => void) | undefined
  /** Wires decoded so far. */
  decodedUpTo: number
  /** The window: records decoded and not yet ingested (at most VOUCH_RUN and a decode slice). */
  decoded: SignedRecord[]
  /** The window's records vouched for; null while the window is still decoding. */
  vouched: ReadonlySet<SignedRecord> | null
  /** Next record of the window to ingest. */
  next: number
  report: IngestReport
}

export class RelaySession {
  #p: Parts
  #writer: RelayWriter
  #queue: Message[] = []
  /** An index run is in progress: steps write record_ids rows until it is done. */
  #indexing = false
  /** While a run is in progress with messages queued, steps alternate: index, ingest, … */
  #indexTurn = false
  #slice = 64
  /** Records decoded per step, adapted the same way. */
  #decodeSlice = 128
  /** When a put-off replay was first seen (null: settled). */
  #unsettledSince: number | null = null

  constructor(p: Parts, writer: RelayWriter) {
    this.#p = p
    this.#writer = writer
  }

  /** Queues a message's signed records (wire form) for the next steps. */
  push(wires: readonly Uint8Array[], opts: PushOptions = {}): void {
    this.#queue.push({
      wires,
      owned: opts.owned === true,
      done: opts.done,
      decodedUpTo: 0,
      decoded: [],
      vouched: null,
      next: 0,
      report: newReport(),
    })
  }

  /**
   * Drops the messages not yet through (their `done` is never called): what was ingested of
   * them stays; the rest is the driver's to fetch again. For a driver that stops.
   */
  clear(): void {
    this.#queue = []
  }

  /** Messages pushed and not yet through the ledger. */
  get queued(): number {
    return this.#queue.length
  }

  /** Relayed records whose record_ids rows are not written yet. */
  get idsBehind(): number {
    return this.#writer.idsBehind
  }

  /** Whether a replay put off by this catch-up is waiting (state is behind its records). */
  get unsettled(): boolean {
    return this.#p.fold.pendingReplay !== null
  }

  /**
   * One step of at most about `budgetMs`. `moreComing`: the caller expects more records soon
   * (a request is in flight), so index runs and a put-off replay wait for the burst's end.
   */
  step(budgetMs = TURN_MS, moreComing = false): RelayStep {
    const w = this.#writer
    let report: IngestReport | null = null
    if (this.#queue.length > 0 || this.#indexing || (w.idsBehind > 0 && !moreComing)) {
      if (this.#indexing) this.#indexTurn = !this.#indexTurn
      // A due commit takes a step of its own, not on top of a slice.
      if (w.due) w.commit()
      else if (this.#queue.length === 0 || (this.#indexing && this.#indexTurn)) {
        this.#indexing = false // stays so if the step throws
        this.#indexing = w.indexIds(budgetMs)
      } else {
        report = this.#ingestStep(budgetMs)
        if (w.idsBehind >= INDEX_BEHIND) this.#indexing = true
      }
    }
    const wakeInMs = this.#maybeSettle(moreComing)
    const more = this.#queue.length > 0 || this.#indexing || (w.idsBehind > 0 && !moreComing)
    return { report, more, wakeInMs: more ? null : wakeInMs }
  }

  /** Commits what this catch-up holds now (its state, fold metadata and records). */
  commit(): void {
    this.#writer.commit()
  }

  /**
   * Commits when the queue is empty; runs a put-off replay once the burst is over or after
   * MAX_UNSETTLED_MS. Returns when to look again, or null.
   */
  #maybeSettle(moreComing: boolean): number | null {
    const fold = this.#p.fold
    // An index run commits with the held transaction, not after each of its steps.
    if (this.#queue.length === 0 && !this.#indexing) this.#writer.commit()
    if (!fold.pendingReplay) {
      this.#unsettledSince = null
      return null
    }
    const now = this.#p.timers.now()
    this.#unsettledSince ??= now
    if (this.#queue.length > 0) return null // the next step comes back here
    if (!moreComing || now - this.#unsettledSince >= MAX_UNSETTLED_MS) {
      fold.settle()
      this.#unsettledSince = null
      return null
    }
    return SETTLE_CHECK_MS
  }

  /** A decode slice of the oldest message (until its window is vouched for) or an ingest slice. */
  #ingestStep(budgetMs: number): IngestReport | null {
    const item = this.#queue[0]
    if (!item) return null
    const timers = this.#p.timers
    const t0 = timers.now()
    const report = newReport()
    if (item.vouched === null) {
      const n = this.#decodeSlice
      const chunk = item.wires.slice(item.decodedUpTo, item.decodedUpTo + n)
      for (const r of this.#p.quarantine.decode(chunk, item.owned, report)) item.decoded.push(r)
      item.decodedUpTo += chunk.length
      // One signature per author run of the window vouches for it.
      if (item.decoded.length >= VOUCH_RUN || item.decodedUpTo >= item.wires.length)
        item.vouched = vouch(item.decoded, true)
      else this.#decodeSlice = adapt(n, chunk.length, timers.now() - t0, budgetMs)
      if (item.vouched === null || item.decoded.length > 0) return this.#count(item, report)
    }
    const slice = this.#slice
    const part = item.decoded.slice(item.next, item.next + slice)
    item.next += part.length
    if (part.length > 0) mergeReports(report, this.#writer.ingest(part, { vouched: item.vouched! }))
    this.#slice = adapt(slice, part.length, timers.now() - t0, budgetMs)
    this.#count(item, report)
    if (item.next < item.decoded.length) return report // the rest of this window comes next step
    item.decoded = []
    item.next = 0
    item.vouched = null
    if (item.decodedUpTo < item.wires.length) return report // the next window comes next step
    this.#queue.shift()
    item.done?.(item.report)
    return report
  }

  #count(item: Message, report: IngestReport): IngestReport {
    mergeReports(item.report, report)
    return report
  }
}

/** The next slice size: doubled when a full slice took under half the budget, halved over 1.5×. */
function adapt(slice: number, done: number, ms: number, budgetMs: number): number {
  if (done < slice) return slice
  if (ms < budgetMs / 2) return Math.min(MAX_SLICE, slice * 2)
  if (ms > budgetMs * 1.5) return Math.max(MIN_SLICE, Math.floor(slice / 2))
  return slice
}
