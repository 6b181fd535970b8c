/**
 * The catch-up's turns: batch and live messages are pushed to the ledger's catch-up session
 * (`Ledger.relay()`, runtime/core/ledger/relay-session.ts), which works them through one
 * bounded step per event-loop turn, so a badge decision never waits behind more than one step.
 * This file only schedules the steps and tells the protocol around it what they did; what a
 * step is (commit, index, decode, vouch, ingest, settle) and its bounds are the session's.
 */
import type { TimerHandle } from '../../core/clock.ts'
import { TURN_MS } from '../../core/ledger/bounds.ts'
import type { IngestReport } from '../../core/ledger/ledger.ts'
import type { RelaySession, RelayStep } from '../../core/ledger/relay-session.ts'
import type { SyncCounters } from './context.ts'
import type { TurnClock } from './turns.ts'

export interface Incoming {
  peer: string
  link: string
  kind: 'batch' | 'live'
  /** The message's signed records (views of its payload). */
  records: Uint8Array[]
}

export interface CatchUpHooks {
  /** Before a step that may ingest: local records committed before it are pushed live first. */
  beforeIngest(): void
  /** After that step, even one that threw: what the mesh brought is the new live base. */
  afterIngest(): void
  /** A step worked `peer`'s message. */
  heard(peer: string): void
  /** A message has been through the ledger; `report` says what it made of it. */
  ingested(item: Incoming, report: IngestReport): void
  /** A request is in flight to some peer: the catch-up burst is not over. */
  requesting(): boolean
  /** Runs a step; an operational error is counted and logged, a programmer error rethrown. */
  safely(fn: () => void): void
}

export class CatchUp {
  #relay: RelaySession
  #clock: TurnClock
  #counters: SyncCounters
  #hooks: CatchUpHooks
  /** The messages pushed and not yet through, in the session's order: whose the next step is. */
  #inbox: Incoming[] = []
  #turn: TimerHandle | null = null
  #wake: TimerHandle | null = null
  #closed = false

  constructor(relay: RelaySession, clock: TurnClock, counters: SyncCounters, hooks: CatchUpHooks) {
    this.#relay = relay
    this.#clock = clock
    this.#counters = counters
    this.#hooks = hooks
  }

  /** Messages waiting (the one being worked included). */
  get length(): number {
    return this.#relay.queued
  }

  push(peer: string, link: string, kind: 'batch' | 'live', records: Uint8Array[]): void {
    const item: Incoming = { peer, link, kind, records }
    this.#inbox.push(item)
    this.#relay.push(records, {
      owned: true,
      done: (report) => {
        if (this.#inbox[0] === item) this.#inbox.shift()
        if (!this.#closed) this.#hooks.ingested(item, report)
      },
    })
    this.schedule()
  }

  /** Takes a step next turn (a push, or a request ended: index runs and a replay may be due). */
  schedule(): void {
    if (this.#closed || this.#turn) return
    this.#turn = this.#clock.setImmediate(() => {
      this.#turn = null
      this.#step()
    })
  }

  /** Messages not yet worked are dropped: their records are asked for again by the next sync. */
  close(): void {
    this.#closed = true
    this.#clock.clearImmediate(this.#turn)
    this.#clock.clearTimeout(this.#wake)
    this.#turn = this.#wake = null
    this.#relay.clear()
    this.#inbox = []
  }

  #step(): void {
    const relay = this.#relay
    const hooks = this.#hooks
    const item = this.#inbox[0]
    let step: RelayStep | null = null
    hooks.safely(() => {
      const ingesting = relay.queued > 0
      if (ingesting) hooks.beforeIngest()
      try {
        step = relay.step(TURN_MS, hooks.requesting())
      } finally {
        if (ingesting) hooks.afterIngest()
      }
    })
    if (this.#closed) return
    if (step === null) {
      // The step threw; a message it was working has moved on, so the next one may go.
      if (relay.queued > 0) this.schedule()
      return
    }
    const { report, more, wakeInMs } = step as RelayStep
    if (report) {
      const c = this.#counters
      c.acceptedRecords += report.accepted
      c.duplicateRecords += report.duplicates
      c.heldRecords += report.held
      c.refusedRecords += report.refused
      if (item) hooks.heard(item.peer)
    }
    if (more) this.schedule()
    else if (wakeInMs !== null && !this.#wake)
      this.#wake = this.#clock.setTimeout(() => {
        this.#wake = null
        this.schedule()
      }, wakeInMs)
  }
}
