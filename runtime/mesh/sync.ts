/**
 * Ledger sync over MQTT (docs/PROTOCOL.md, "Sync"): the dispatcher. One engine per node,
 * attached to every MQTT connection the node has (peer brokers, its own broker, or one
 * external broker). It checks each message's envelope (topic, sender, size, enrolment) and
 * hands it to the handler for its kind, one file each:
 *
 * - summary (./sync/summary.ts): a signed, retained summary of this node's heads; a peer's
 *   summary says what to ask it for.
 * - req (./sync/request.ts): exactly the ranges this node lacks, one request in flight per
 *   peer; a peer's request is answered with one batch.
 * - batch (./sync/batch.ts): the answer, queued for ingest; the next request goes out when it
 *   has been queued, and again once it has been ingested.
 * - live (./sync/live.ts): records committed here that did not come from the mesh, pushed as
 *   they fold; a peer's are queued like a batch.
 *
 * Queued messages go to the ledger's catch-up session, one bounded step per event-loop turn
 * (./sync/catch-up.ts), so badge decisions never wait behind more than one step. Every bad
 * input is dropped with a counted reason; an operational error is counted and logged; a
 * programmer error is rethrown (./safety.ts).
 */
import type { MqttClient } from 'mqtt'
import { type Clock, systemClock, type TimerHandle } from '../core/clock.ts'
import type { KeyPair } from '../core/keys.ts'
import type { Ledger } from '../core/ledger/ledger.ts'
import { toHex } from '../core/ledger/record.ts'
import { Resource } from '../core/lifecycle.ts'
import type { Logger } from '../core/log.ts'
import { DEFAULT_MAX_PAYLOAD_BYTES } from './broker.ts'
import { safetyCatch } from './safety.ts'
import { onBatch, onIngested } from './sync/batch.ts'
import { CatchUp } from './sync/catch-up.ts'
import {
  type Attachment,
  cancelRequest,
  type PeerStatus,
  type SyncContext,
  type SyncCounters,
  zeroCounters,
} from './sync/context.ts'
import { LivePush, onLive } from './sync/live.ts'
import { onRequest } from './sync/request.ts'
import { onSummary, onSummaryCleared, publishSummary } from './sync/summary.ts'
import { type TurnClock, withTurns } from './sync/turns.ts'
import {
  MAX_BATCH_RECORDS,
  parseSyncTopic,
  SyncMessageError,
  type SyncTopic,
  summaryTopic,
  syncSubscriptions,
} from './sync-messages.ts'

export type { PeerStatus, SyncCounters }

export interface SyncEngineOptions {
  ledger: Ledger
  /** This node's key: it signs summaries and names this node's topics. */
  key: KeyPair
  log: Logger
  /** Wall time (ms since the epoch) for summaries and peers' lastSeen; Date.now by default. */
  now?: () => number
  /** Timers, durations and event-loop turns; the real clock by default. */
  clock?: Clock | TurnClock
  /** Largest message sent or accepted (bytes); keep it under the brokers' payload limit. */
  maxMessageBytes?: number
  /** Records asked for per request (≤ 1000). */
  batchRecords?: number
  summaryDebounceMs?: number
  /** Coalescing delay for live pushes (ms). */
  liveDelayMs?: number
  /** A request unanswered for this long may be sent again. */
  requestTimeoutMs?: number
  /** Incoming batch/live messages waiting to be ingested; beyond it they are dropped. */
  queueLimit?: number
  /** Requests answered per peer: sustained per second, and burst. */
  requestRate?: { perSecond: number; burst: number }
  /** Local records pushed live in one go; a larger burst is left to summaries. */
  maxLiveRecords?: number
}

type Handler = (ctx: SyncContext, a: Attachment, from: string, bytes: Uint8Array) => void

/** One handler per message kind. */
const HANDLERS: Record<SyncTopic['kind'], Handler> = {
  summary: onSummary,
  req: onRequest,
  batch: onBatch,
  live: onLive,
}

export class SyncEngine extends Resource {
  readonly name = 'sync'
  readonly counters: SyncCounters = zeroCounters()
  #ctx: SyncContext
  #links = new Map<string, Attachment>()
  #catchUp: CatchUp
  #live: LivePush
  #summaryTimer: TimerHandle | null = null
  #onLedgerChange = () => this.#ledgerChanged()

  constructor(opts: SyncEngineOptions) {
    super()
    const ledger = opts.ledger
    const ctx: SyncContext = {
      ledger,
      key: opts.key,
      log: opts.log,
      clock: withTurns(opts.clock ?? systemClock),
      now: opts.now ?? Date.now,
      counters: this.counters,
      limits: {
        maxBytes: opts.maxMessageBytes ?? DEFAULT_MAX_PAYLOAD_BYTES - 16 * 1024,
        batchRecords: Math.min(MAX_BATCH_RECORDS, opts.batchRecords ?? MAX_BATCH_RECORDS),
        summaryDebounceMs: opts.summaryDebounceMs ?? 200,
        liveDelayMs: opts.liveDelayMs ?? 5,
        requestTimeoutMs: opts.requestTimeoutMs ?? 5000,
        queueLimit: opts.queueLimit ?? 32,
        requestRate: opts.requestRate ?? { perSecond: 100, burst: 200 },
        maxLive: opts.maxLiveRecords ?? 1000,
      },
      links: this.#links,
      peers: new Map(),
      buckets: new Map(),
      siteHex: () => (ledger.site ? toHex(ledger.site) : null),
      publish: (a, topic, payload, retain) => this.#publish(a, topic, payload, retain),
      safely: (fn) => this.#safely(fn),
      enqueue: (from, link, kind, records) => this.#enqueue(from, link, kind, records),
      requestEnded: () => this.#catchUp.schedule(),
    }
    this.#ctx = ctx
    this.#live = new LivePush(ctx)
    this.#catchUp = new CatchUp(ledger.relay(), ctx.clock, this.counters, {
      beforeIngest: () => this.#live.flush(),
      afterIngest: () => this.#live.rebase(),
      heard: (peer) => {
        const p = ctx.peers.get(peer)
        if (p) p.lastSeen = ctx.now()
      },
      ingested: (item, report) => onIngested(ctx, item, report),
      requesting: () => {
        for (const p of ctx.peers.values()) if (p.inFlight !== null) return true
        return false
      },
      safely: (fn) => this.#safely(fn),
    })
  }

  protected async _open(): Promise<void> {
    const events = this.#ctx.ledger.events
    this.#live.rebase()
    events.on('applied', this.#onLedgerChange)
    events.on('rejected', this.#onLedgerChange)
    events.on('deferred', this.#onLedgerChange)
  }

  protected async _close(): Promise<void> {
    const { ledger, clock, peers } = this.#ctx
    ledger.events.off('applied', this.#onLedgerChange)
    ledger.events.off('rejected', this.#onLedgerChange)
    ledger.events.off('deferred', this.#onLedgerChange)
    for (const name of [...this.#links.keys()]) this.detach(name)
    clock.clearTimeout(this.#summaryTimer)
    this.#live.close()
    this.#catchUp.close()
    for (const p of peers.values()) cancelRequest(this.#ctx, p)
  }

  // ── connections ──────────────────────────────────────────────────────────────────────────

  /** Syncs over `client` (connected or not yet); replaces an earlier attachment of `name`. */
  attach(client: MqttClient, name: string): void {
    if (!this.opened || this.closed) throw new Error('sync engine is not open')
    this.detach(name)
    const a: Attachment = {
      name,
      client,
      onConnect: () => this.#safely(() => this.#connected(a)),
      onClose: () => this.#safely(() => this.#disconnected(a)),
      onMessage: (topic, payload) => this.#safely(() => this.#message(a, topic, payload)),
    }
    this.#links.set(name, a)
    client.on('connect', a.onConnect)
    client.on('close', a.onClose)
    client.on('message', a.onMessage)
    if (client.connected) a.onConnect()
  }

  /** Stops syncing over `name`'s client (the client itself stays as it is). */
  detach(name: string): void {
    const a = this.#links.get(name)
    if (!a) return
    this.#links.delete(name)
    a.client.off('connect', a.onConnect)
    a.client.off('close', a.onClose)
    a.client.off('message', a.onMessage)
    this.#disconnected(a)
  }

  /** The topic this node's retained summary lives on (PeerLink sets an empty will there). */
  summaryTopic(): string | null {
    const site = this.#ctx.siteHex()
    return site ? summaryTopic(site, this.#ctx.key.id) : null
  }

  peers(): PeerStatus[] {
    const heads = this.#ctx.ledger.heads()
    return [...this.#ctx.peers.values()].map((p) => {
      let lag = 0
      for (const [author, seq] of p.heads) lag += Math.max(0, seq - (heads.get(author)?.seq ?? 0))
      return {
        name: p.link,
        key: p.key,
        connected: !p.gone && this.#links.get(p.link)?.client.connected === true,
        lastSeen: p.lastSeen,
        lag,
      }
    })
  }

  /** A peer's bad input must not stop sync; a bug must not hide behind it (STYLE.md §6). */
  #safely(fn: () => void): void {
    if (this.closed) return
    try {
      fn()
    } catch (err) {
      safetyCatch(err)
      this.counters.errors++
      this.#ctx.log.error({ err }, 'sync handler failed')
    }
  }

  #connected(a: Attachment): void {
    const { key, log } = this.#ctx
    const site = this.#ctx.siteHex()
    if (!site) {
      log.warn({ link: a.name }, 'sync: this ledger has no site yet; not syncing')
      return
    }
    a.client.subscribe(syncSubscriptions(site, key.id), { qos: 1 }, (err) => {
      if (err) log.warn({ link: a.name, err: err.message }, 'sync: subscription refused')
    })
    publishSummary(this.#ctx, [a])
    log.info({ link: a.name }, 'sync link up')
  }

  /** Requests in flight on a link that went are not answered: they may go out again. */
  #disconnected(a: Attachment): void {
    for (const p of this.#ctx.peers.values()) if (p.link === a.name) cancelRequest(this.#ctx, p)
  }

  #publish(a: Attachment, topic: string, payload: Uint8Array, retain = false): boolean {
    if (!a.client.connected) return false
    a.client.publish(topic, Buffer.from(payload.buffer, payload.byteOffset, payload.length), {
      qos: 1,
      retain,
    })
    return true
  }

  /** Live pushes coalesce over liveDelayMs; summaries are debounced over summaryDebounceMs. */
  #ledgerChanged(): void {
    this.#live.schedule()
    if (this.#summaryTimer) return
    this.#summaryTimer = this.#ctx.clock.setTimeout(() => {
      this.#summaryTimer = null
      this.#safely(() => publishSummary(this.#ctx, [...this.#links.values()]))
    }, this.#ctx.limits.summaryDebounceMs)
  }

  /** The envelope checks every message passes, in order, before its kind's handler sees it. */
  #message(a: Attachment, topic: string, payload: Buffer): void {
    const { key, counters, ledger, log, limits } = this.#ctx
    const site = this.#ctx.siteHex()
    if (!site) return
    const t = parseSyncTopic(site, topic)
    if (!t) {
      counters.badPayload++
      return
    }
    if (t.node === key.id) return // our own summary and live pushes
    if (payload.length > limits.maxBytes) {
      counters.oversize++
      return
    }
    // A request or batch addressed to another node is not ours to answer or ingest.
    if ((t.kind === 'req' || t.kind === 'batch') && t.to !== key.id) {
      counters.badPayload++
      return
    }
    // An empty retained summary: the node's will or graceful close cleared it.
    if (t.kind === 'summary' && payload.length === 0) {
      onSummaryCleared(this.#ctx, t.node)
      return
    }
    // Only keys enrolled on this site now are heard (external brokers do not check).
    if (ledger.roleOf(t.node) === null) {
      if (t.kind === 'summary') counters.badSummary++
      else counters.notEnrolled++
      return
    }
    const bytes = new Uint8Array(payload.buffer, payload.byteOffset, payload.length)
    try {
      HANDLERS[t.kind](this.#ctx, a, t.node, bytes)
    } catch (err) {
      if (!(err instanceof SyncMessageError)) throw err
      counters.badPayload++
      log.debug({ topic, why: err.message }, 'sync: bad payload')
    }
  }

  /** The ingest queue is bounded: beyond queueLimit a message is dropped (counted). */
  #enqueue(from: string, link: string, kind: 'batch' | 'live', records: Uint8Array[]): boolean {
    if (this.#catchUp.length >= this.#ctx.limits.queueLimit) {
      this.counters.droppedMessages++
      return false
    }
    this.#catchUp.push(from, link, kind, records)
    return true
  }
}
