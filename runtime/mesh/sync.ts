/**
 * Ledger sync over MQTT (docs/PROTOCOL.md, "Sync"). One engine per node, attached to every
 * MQTT connection the node has (peer brokers, its own broker, or one external broker).
 *
 * - summary: each node keeps a signed, retained summary of its heads; republished on connect
 *   (aedes keeps retained messages in memory only) and, debounced, after the ledger changes.
 * - req/batch: on a peer's summary the engine asks that peer for exactly the ranges it lacks,
 *   one request in flight per peer; the next request goes out when the batch has been ingested.
 * - live: records committed here that did not come from the mesh are pushed as they fold.
 *
 * Incoming batches and live messages go through one bounded queue, worked through one slice
 * per event-loop turn (setImmediate between), so badge decisions never wait behind more than
 * one slice.
 * Every bad input is dropped with a counted reason; nothing a peer sends can throw out of here.
 */
import type { MqttClient } from 'mqtt'
import type { KeyPair } from '../core/keys.ts'
import { NOT_FAST, readRecordLayout } from '../core/ledger/canonical.ts'
import type { IngestReport, Ledger } from '../core/ledger/ledger.ts'
import {
  compareBytes,
  decodeWire,
  fromHex,
  keyHex,
  SIG_BYTES,
  type SignedRecord,
  toHex,
} from '../core/ledger/record.ts'
import { Resource } from '../core/lifecycle.ts'
import type { Logger } from '../core/log.ts'
import { DEFAULT_MAX_PAYLOAD_BYTES } from './broker.ts'
import {
  batchOverhead,
  batchTopic,
  decodeBatch,
  decodeRequest,
  decodeSummary,
  encodeBatch,
  encodeRequest,
  encodeSummary,
  liveTopic,
  MAX_BATCH_RECORDS,
  MAX_REQUEST_AUTHORS,
  parseSyncTopic,
  requestTopic,
  type SummaryBody,
  SyncMessageError,
  summaryTopic,
  syncSubscriptions,
  verifySummary,
} from './sync-messages.ts'

export interface SyncEngineOptions {
  ledger: Ledger
  /** This node's key: it signs summaries and names this node's topics. */
  key: KeyPair
  log: Logger
  now?: () => number
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

export interface SyncCounters {
  /** Undecodable, wrongly shaped or misaddressed messages. */
  badPayload: number
  /** Messages over maxMessageBytes. */
  oversize: number
  /** Summaries with a bad signature, a node other than the topic's, or from an unenrolled key. */
  badSummary: number
  /** Messages from keys not enrolled on this site (external brokers do not check). */
  notEnrolled: number
  acceptedRecords: number
  duplicateRecords: number
  /** Records held for missing predecessors (a request for the gap follows). */
  heldRecords: number
  /** Records the ledger refused (bad signature, malformed, …). */
  refusedRecords: number
  /** Requests dropped by the per-peer rate limit. */
  floodedRequests: number
  /** Requests for ranges this node does not hold (nothing is sent back). */
  emptyRequests: number
  requestTimeouts: number
  /** Incoming batch/live messages dropped because the ingest queue was full. */
  droppedMessages: number
  /** Summaries too large for one message (not published). */
  summaryTooLarge: number
  summariesSent: number
  requestsSent: number
  batchesSent: number
  /** Payload bytes of batch messages received (answers to this node's requests). */
  batchBytesReceived: number
  liveSent: number
  /** Unexpected exceptions caught in handlers. */
  errors: number
}

export interface PeerStatus {
  /** The link (MQTT connection) the peer was last heard on. */
  name: string
  key: string
  connected: boolean
  lastSeen: number
  /** Records the peer's last summary shows that this node lacks. */
  lag: number
}

interface Attachment {
  name: string
  client: MqttClient
  onConnect: () => void
  onClose: () => void
  onMessage: (topic: string, payload: Buffer) => void
}

interface Peer {
  key: string
  link: string
  lastSeen: number
  gone: boolean
  heads: Map<string, number>
  inFlight: ReturnType<typeof setTimeout> | null
  timeouts: number
  /**
   * Highest seq per author received from this peer in batches still waiting in the ingest
   * queue: the next request starts after them (prefetch), so transfer and ingest overlap.
   */
  ahead: Map<string, number>
  /** Batches from this peer waiting in the ingest queue. */
  queued: number
  /** Authors (hex, sorted) of the request in flight: what its answer covers. */
  asked: string[]
}

interface Incoming {
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

/**
 * Records ingested per event-loop turn: adapted so one turn takes about INGEST_TURN_MS, so a
 * badge decision waits behind at most one such turn. Half a millisecond rather than one gave
 * the sync bench a decision p99 of 4.8–6.3 ms against 6.1–6.7, at no clear cost in replicate
 * rate (both 22–31k records/s on this noisy machine).
 */
const INGEST_TURN_MS = 0.5
const MIN_SLICE = 16
const MAX_SLICE = 512

/**
 * Records vouched for by one signature check (per author run): a message is decoded, vouched
 * for and ingested in windows of about this many, not whole (about 540 records of 444 bytes).
 * Decoded records were most of what survived young-generation collections (heap sampling of
 * survivors during the sync bench), and what survives is what a collection copies; a window
 * bounds that set. One more signature check per window costs about 0.5 µs a record.
 */
const VOUCH_RUN = 256

/**
 * Relayed ids waiting for their record_ids rows (`Ledger.idsBehind`) at which an index run
 * (`Ledger.indexIds`, in INGEST_TURN_MS steps) starts, its steps taking turns with ingest
 * slices. Otherwise rows are written once the catch-up is over (no request in flight). Long
 * runs visit each B-tree leaf once for many rows; below the ledger's own bound (65,536).
 */
const INDEX_BEHIND = 49_152

const ZERO = (): SyncCounters => ({
  badPayload: 0,
  oversize: 0,
  badSummary: 0,
  notEnrolled: 0,
  acceptedRecords: 0,
  duplicateRecords: 0,
  heldRecords: 0,
  refusedRecords: 0,
  floodedRequests: 0,
  emptyRequests: 0,
  requestTimeouts: 0,
  droppedMessages: 0,
  summaryTooLarge: 0,
  summariesSent: 0,
  requestsSent: 0,
  batchesSent: 0,
  batchBytesReceived: 0,
  liveSent: 0,
  errors: 0,
})

/** Longest a catch-up may leave the ledger's state behind its records (see #maybeSettle). */
const MAX_UNSETTLED_MS = 3000

/** After this many unanswered requests in a row, wait for the peer's next summary or batch. */
const MAX_TIMEOUT_RETRIES = 3

export class SyncEngine extends Resource {
  readonly name = 'sync'
  readonly counters: SyncCounters = ZERO()
  #ledger: Ledger
  #key: KeyPair
  #log: Logger
  #now: () => number
  #maxBytes: number
  #batchRecords: number
  #summaryDebounce: number
  #liveDelay: number
  #requestTimeout: number
  #queueLimit: number
  #requestRate: { perSecond: number; burst: number }
  #maxLive: number
  #links = new Map<string, Attachment>()
  #peers = new Map<string, Peer>()
  #buckets = new Map<string, { tokens: number; at: number }>()
  #queue: Incoming[] = []
  #draining = false
  /** Highest seq per author already pushed live or received from the mesh. */
  #liveBase = new Map<string, number>()
  #summaryTimer: ReturnType<typeof setTimeout> | null = null
  #liveTimer: ReturnType<typeof setTimeout> | null = null
  #drainImmediate: ReturnType<typeof setImmediate> | null = null
  /** An index run is in progress: drain turns write record_ids rows until it is done. */
  #indexing = false
  /** While a run is in progress with messages queued, turns alternate: index, ingest, … */
  #indexTurn = false
  #slice = 64
  /** Records decoded per turn, adapted the same way. */
  #decodeSlice = 128
  #settleTimer: ReturnType<typeof setTimeout> | null = null
  /** When the ledger was first seen with a replay put off (0: settled). */
  #unsettledSince = 0
  #onLedgerChange = () => this.#ledgerChanged()

  constructor(opts: SyncEngineOptions) {
    super()
    this.#ledger = opts.ledger
    this.#key = opts.key
    this.#log = opts.log
    this.#now = opts.now ?? Date.now
    this.#maxBytes = opts.maxMessageBytes ?? DEFAULT_MAX_PAYLOAD_BYTES - 16 * 1024
    this.#batchRecords = Math.min(MAX_BATCH_RECORDS, opts.batchRecords ?? MAX_BATCH_RECORDS)
    this.#summaryDebounce = opts.summaryDebounceMs ?? 200
    this.#liveDelay = opts.liveDelayMs ?? 5
    this.#requestTimeout = opts.requestTimeoutMs ?? 5000
    this.#queueLimit = opts.queueLimit ?? 32
    this.#requestRate = opts.requestRate ?? { perSecond: 100, burst: 200 }
    this.#maxLive = opts.maxLiveRecords ?? 1000
  }

  protected async _open(): Promise<void> {
    for (const [author, h] of this.#ledger.heads()) this.#liveBase.set(author, h.seq)
    this.#ledger.events.on('applied', this.#onLedgerChange)
    this.#ledger.events.on('rejected', this.#onLedgerChange)
    this.#ledger.events.on('deferred', this.#onLedgerChange)
  }

  protected async _close(): Promise<void> {
    this.#ledger.events.off('applied', this.#onLedgerChange)
    this.#ledger.events.off('rejected', this.#onLedgerChange)
    this.#ledger.events.off('deferred', this.#onLedgerChange)
    for (const name of [...this.#links.keys()]) this.detach(name)
    for (const t of [this.#summaryTimer, this.#liveTimer, this.#settleTimer]) if (t) clearTimeout(t)
    if (this.#drainImmediate) clearImmediate(this.#drainImmediate)
    for (const p of this.#peers.values()) if (p.inFlight) clearTimeout(p.inFlight)
    this.#queue = []
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
    const site = this.#ledger.site
    return site ? summaryTopic(toHex(site), this.#key.id) : null
  }

  peers(): PeerStatus[] {
    const heads = this.#ledger.heads()
    return [...this.#peers.values()].map((p) => {
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

  #siteHex(): string | null {
    const site = this.#ledger.site
    return site ? toHex(site) : null
  }

  #safely(fn: () => void): void {
    if (this.closed) return
    try {
      fn()
    } catch (err) {
      this.counters.errors++
      this.#log.error({ err }, 'sync handler failed')
    }
  }

  #connected(a: Attachment): void {
    const site = this.#siteHex()
    if (!site) {
      this.#log.warn({ link: a.name }, 'sync: this ledger has no site yet; not syncing')
      return
    }
    a.client.subscribe(syncSubscriptions(site, this.#key.id), { qos: 1 }, (err) => {
      if (err) this.#log.warn({ link: a.name, err: err.message }, 'sync: subscription refused')
    })
    this.#publishSummary([a])
    this.#log.info({ link: a.name }, 'sync link up')
  }

  #disconnected(a: Attachment): void {
    for (const p of this.#peers.values()) {
      if (p.link !== a.name || !p.inFlight) continue
      clearTimeout(p.inFlight)
      p.inFlight = null
    }
  }

  #publish(a: Attachment, topic: string, payload: Uint8Array, retain = false): boolean {
    if (!a.client.connected) return false
    a.client.publish(topic, Buffer.from(payload.buffer, payload.byteOffset, payload.length), {
      qos: 1,
      retain,
    })
    return true
  }

  // ── outgoing ─────────────────────────────────────────────────────────────────────────────

  #ledgerChanged(): void {
    if (!this.#liveTimer)
      this.#liveTimer = setTimeout(() => {
        this.#liveTimer = null
        this.#safely(() => this.#flushLive())
      }, this.#liveDelay)
    if (!this.#summaryTimer)
      this.#summaryTimer = setTimeout(() => {
        this.#summaryTimer = null
        this.#safely(() => this.#publishSummary([...this.#links.values()]))
      }, this.#summaryDebounce)
  }

  #publishSummary(links: Attachment[]): void {
    const site = this.#siteHex()
    if (!site || links.length === 0) return
    const heads: SummaryBody['heads'] = []
    for (const [author, h] of this.#ledger.heads()) heads.push([fromHex(author), h.seq, fromHex(h.id)])
    const body: SummaryBody = {
      node: this.#key.publicKey,
      heads,
      count: this.#ledger.count,
      stateHash: this.#ledger.stateHash,
      at: this.#now(),
    }
    const payload = encodeSummary(body, this.#key)
    if (payload.length > this.#maxBytes) {
      this.counters.summaryTooLarge++
      this.#log.warn({ bytes: payload.length, heads: heads.length }, 'sync: summary too large to publish')
      return
    }
    for (const a of links)
      if (this.#publish(a, summaryTopic(site, this.#key.id), payload, true)) this.counters.summariesSent++
  }

  /** Pushes records committed since the last push that did not come from the mesh. */
  #flushLive(): void {
    if (this.#liveTimer) {
      clearTimeout(this.#liveTimer)
      this.#liveTimer = null
    }
    const site = this.#siteHex()
    const heads = this.#ledger.heads()
    const delta: Array<[string, number, number]> = []
    let total = 0
    for (const [author, h] of heads) {
      const base = this.#liveBase.get(author) ?? 0
      if (h.seq > base) {
        delta.push([author, base + 1, h.seq - base])
        total += h.seq - base
      }
      this.#liveBase.set(author, h.seq)
    }
    const links = [...this.#links.values()].filter((a) => a.client.connected)
    if (!site || total === 0 || links.length === 0) return
    if (total > this.#maxLive) return // a burst this large travels by summary and request
    delta.sort((x, y) => (x[0] < y[0] ? -1 : 1))
    for (const payload of this.#chunk(delta, this.#maxLive)) {
      for (const a of links)
        if (this.#publish(a, liveTopic(site, this.#key.id), payload)) this.counters.liveSent++
    }
  }

  /** Reads the ranges in (author, seq) order and packs them into messages under maxMessageBytes. */
  #chunk(
    ranges: ReadonlyArray<[string, number, number]>,
    maxRecords: number,
    firstOnly = false,
  ): Uint8Array[] {
    const out: Uint8Array[] = []
    let cur: Uint8Array[] = []
    let bytes = 0
    let total = 0
    const flush = () => {
      if (cur.length > 0) out.push(encodeBatch(cur))
      cur = []
      bytes = 0
    }
    let full = false
    for (const [author, fromSeq, n] of ranges) {
      if (total >= maxRecords || full) break
      // Read in pages: a one-message answer should not read (and encode) records it cannot send.
      let seq = fromSeq
      let left = Math.min(n, maxRecords - total)
      while (left > 0 && !full) {
        const page = this.#ledger.rangeWire(author, seq, Math.min(64, left))
        if (page.length === 0) break
        for (const w of page) {
          if (
            bytes + w.length + batchOverhead(cur.length + 1) > this.#maxBytes ||
            cur.length >= MAX_BATCH_RECORDS
          ) {
            flush()
            // A request is answered by one message: stop reading once it is full.
            if (firstOnly) {
              full = true
              break
            }
          }
          cur.push(w)
          bytes += w.length
          total++
        }
        seq += page.length
        left -= page.length
      }
    }
    flush()
    return out
  }

  /** Asks `peer` for what its last summary shows and this node lacks; one request in flight. */
  #maybeRequest(peer: Peer): void {
    if (peer.inFlight || peer.gone) return
    const a = this.#links.get(peer.link)
    const site = this.#siteHex()
    if (!a?.client.connected || !site) return
    const heads = this.#ledger.heads()
    const from: Array<[Uint8Array, number]> = []
    for (const [author, seq] of peer.heads) {
      const ours = Math.max(heads.get(author)?.seq ?? 0, peer.ahead.get(author) ?? 0)
      if (seq > ours) from.push([fromHex(author), ours + 1])
      if (from.length >= MAX_REQUEST_AUTHORS) break
    }
    if (from.length === 0) return
    from.sort((x, y) => compareBytes(x[0], y[0]))
    peer.asked = from.map(([author]) => toHex(author))
    this.#publish(
      a,
      requestTopic(site, this.#key.id, peer.key),
      encodeRequest({ from, limit: this.#batchRecords }),
    )
    this.counters.requestsSent++
    peer.inFlight = setTimeout(() => {
      peer.inFlight = null
      this.counters.requestTimeouts++
      if (++peer.timeouts <= MAX_TIMEOUT_RETRIES) this.#safely(() => this.#maybeRequest(peer))
    }, this.#requestTimeout)
  }

  // ── incoming ─────────────────────────────────────────────────────────────────────────────

  #message(a: Attachment, topic: string, payload: Buffer): void {
    const site = this.#siteHex()
    if (!site) return
    const t = parseSyncTopic(site, topic)
    if (!t) {
      this.counters.badPayload++
      return
    }
    if (t.node === this.#key.id) return // our own summary and live pushes
    if (payload.length > this.#maxBytes) {
      this.counters.oversize++
      return
    }
    if ((t.kind === 'req' || t.kind === 'batch') && t.to !== this.#key.id) {
      this.counters.badPayload++
      return
    }
    if (t.kind === 'summary' && payload.length === 0) {
      // The node's will or graceful close cleared its retained summary: it is gone.
      const p = this.#peers.get(t.node)
      if (p) p.gone = true
      return
    }
    if (this.#ledger.roleOf(t.node) === null) {
      if (t.kind === 'summary') this.counters.badSummary++
      else this.counters.notEnrolled++
      return
    }
    const bytes = new Uint8Array(payload.buffer, payload.byteOffset, payload.length)
    try {
      if (t.kind === 'summary') this.#onSummary(a, t.node, bytes)
      else if (t.kind === 'req') this.#onRequest(a, t.node, bytes)
      else {
        const { records } = decodeBatch(bytes)
        if (t.kind === 'batch') this.counters.batchBytesReceived += payload.length
        this.#enqueue(a, t.node, t.kind, records)
      }
    } catch (err) {
      if (!(err instanceof SyncMessageError)) throw err
      this.counters.badPayload++
      this.#log.debug({ topic, why: err.message }, 'sync: bad payload')
    }
  }

  #peer(key: string, link: string): Peer {
    let p = this.#peers.get(key)
    if (!p) {
      p = {
        key,
        link,
        lastSeen: 0,
        gone: false,
        heads: new Map(),
        inFlight: null,
        timeouts: 0,
        ahead: new Map(),
        queued: 0,
        asked: [],
      }
      this.#peers.set(key, p)
    }
    return p
  }

  #onSummary(a: Attachment, node: string, bytes: Uint8Array): void {
    let s: ReturnType<typeof decodeSummary>
    try {
      s = decodeSummary(bytes)
    } catch (err) {
      if (!(err instanceof SyncMessageError)) throw err
      this.counters.badSummary++
      return
    }
    if (toHex(s.node) !== node || !verifySummary(s)) {
      this.counters.badSummary++
      return
    }
    const p = this.#peer(node, a.name)
    if (p.link !== a.name && p.inFlight) {
      clearTimeout(p.inFlight)
      p.inFlight = null
    }
    p.link = a.name
    p.gone = false
    p.lastSeen = this.#now()
    p.timeouts = 0
    p.heads = new Map(s.heads.map(([author, seq]) => [toHex(author), seq]))
    this.#maybeRequest(p)
  }

  #takeToken(peer: string): boolean {
    const { perSecond, burst } = this.#requestRate
    const now = this.#now()
    const b = this.#buckets.get(peer) ?? { tokens: burst, at: now }
    b.tokens = Math.min(burst, b.tokens + (Math.max(0, now - b.at) * perSecond) / 1000)
    b.at = now
    this.#buckets.set(peer, b)
    if (b.tokens < 1) return false
    b.tokens--
    return true
  }

  #onRequest(a: Attachment, from: string, bytes: Uint8Array): void {
    if (!this.#takeToken(from)) {
      this.counters.floodedRequests++
      return
    }
    const req = decodeRequest(bytes)
    const site = this.#siteHex()!
    const ranges: Array<[string, number, number]> = req.from
      .map(([author, seq]): [string, number, number] => [toHex(author), seq, MAX_BATCH_RECORDS])
      .sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))
    const limit = Math.min(req.limit, MAX_BATCH_RECORDS)
    // One request is answered by one message: what fits under maxMessageBytes, in order.
    const payload = this.#chunk(ranges, limit, true)[0]
    if (!payload) {
      this.counters.emptyRequests++
      return
    }
    if (this.#publish(a, batchTopic(site, this.#key.id, from), payload)) this.counters.batchesSent++
  }

  #enqueue(a: Attachment, peer: string, kind: 'batch' | 'live', records: Uint8Array[]): void {
    const p = this.#peers.get(peer)
    if (this.#queue.length >= this.#queueLimit) {
      this.counters.droppedMessages++
      // Nothing is lost: the records are asked for again once the queue has drained.
      if (p && kind === 'batch') {
        if (p.inFlight) clearTimeout(p.inFlight)
        p.inFlight = null
        p.ahead.clear()
      }
      return
    }
    this.#queue.push({
      peer,
      link: a.name,
      kind,
      records,
      decoded: [],
      decodedUpTo: 0,
      vouched: null,
      next: 0,
      report: { accepted: 0, duplicates: 0, held: 0, refused: 0, reasons: {} },
    })
    this.#scheduleDrain()
    if (!p || kind !== 'batch') return
    p.queued++
    // The answer is here: the next request can go out while this one is ingested.
    if (p.inFlight) clearTimeout(p.inFlight)
    p.inFlight = null
    p.timeouts = 0
    // What the answer covers: the request's authors in order, each in full up to the one the
    // message ended in (read from its last record). An author that grew since the summary is
    // asked again from the summary's head: duplicates, never a gap.
    const last = records.length > 0 ? peekAuthorSeq(records[records.length - 1]!) : null
    if (last) {
      for (const author of p.asked) {
        if (author >= last.author) break
        const head = p.heads.get(author) ?? 0
        if (head > (p.ahead.get(author) ?? 0)) p.ahead.set(author, head)
      }
      if (last.seq > (p.ahead.get(last.author) ?? 0)) p.ahead.set(last.author, last.seq)
    }
    // Prefetch: one more answer on its way while this one is ingested; no deeper, so what
    // waits in memory stays small.
    if (p.queued < 2) this.#maybeRequest(p)
  }

  #scheduleDrain(): void {
    if (this.#draining || this.closed) return
    if (this.#queue.length === 0 && !this.#indexing && !this.#indexDue()) return
    this.#draining = true
    this.#drainImmediate = setImmediate(() => {
      this.#drainImmediate = null
      this.#draining = false
      const ledger = this.#ledger
      // A due commit of relayed records takes a turn of its own, not on top of a slice.
      if (this.#indexing) this.#indexTurn = !this.#indexTurn
      if (ledger.relayedDue) this.#safely(() => ledger.commitRelayed())
      else if (this.#queue.length === 0 || (this.#indexing && this.#indexTurn))
        this.#safely(() => {
          this.#indexing = false // stays so if the step throws
          this.#indexing = ledger.indexIds(INGEST_TURN_MS)
        })
      else {
        this.#safely(() => this.#ingestOne())
        if (ledger.idsBehind >= INDEX_BEHIND) this.#indexing = true
      }
      this.#safely(() => this.#maybeSettle())
      this.#scheduleDrain()
    })
  }

  /** Ids wait for their rows and the catch-up is over (no request in flight): index them. */
  #indexDue(): boolean {
    if (this.#ledger.idsBehind === 0) return false
    for (const p of this.#peers.values()) if (p.inFlight !== null) return false
    return true
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
    const now = this.#now()
    if (this.#unsettledSince === 0) this.#unsettledSince = now
    if (this.#queue.length > 0) return // the drain loop comes back here
    const busy = [...this.#peers.values()].some((p) => p.inFlight !== null)
    if (!busy || now - this.#unsettledSince >= MAX_UNSETTLED_MS) {
      this.#ledger.settle()
      this.#unsettledSince = 0
      return
    }
    if (!this.#settleTimer)
      this.#settleTimer = setTimeout(() => {
        this.#settleTimer = null
        this.#safely(() => this.#maybeSettle())
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
    // Local records committed before this ingest are pushed first; what the mesh brings is
    // then the new base, so it is not echoed back as live.
    this.#flushLive()
    const slice = this.#slice
    const part = item.decoded.slice(item.next, item.next + slice)
    item.next += part.length
    try {
      if (part.length > 0)
        this.#count(item, this.#ledger.ingestRecords(part, { relayed: true, vouched: item.vouched }))
    } finally {
      for (const [author, h] of this.#ledger.heads()) this.#liveBase.set(author, h.seq)
    }
    this.#slice = adapt(slice, part.length, performance.now() - t0)
    const p = this.#peers.get(item.peer)
    if (p) p.lastSeen = this.#now()
    if (item.next < item.decoded.length) return // the rest of this window comes next turn
    item.decoded = []
    item.next = 0
    item.vouched = null
    if (item.decodedUpTo < item.records.length) return // the next window comes next turn
    this.#queue.shift()
    const report = item.report
    if (report.refused > 0)
      this.#log.warn(
        { peer: item.peer, reasons: report.reasons },
        'sync: peer sent records the ledger refused',
      )
    if (!p) return
    if (item.kind === 'batch') {
      p.queued = Math.max(0, p.queued - 1)
      // Everything received has been through the ledger: ask from its heads again (a batch
      // that was refused or held is then asked for anew).
      if (p.queued === 0) p.ahead.clear()
    }
    if (report.held > 0) {
      // A gap: ask the sender from our head for each author it sent.
      for (const wire of item.records) {
        const r = peekAuthorSeq(wire) ?? authorSeqOf(wire)
        if (r) p.heads.set(r.author, Math.max(p.heads.get(r.author) ?? 0, r.seq))
      }
    }
    this.#maybeRequest(p)
  }

  /** Adds an ingest step's report to the message's and to the counters. */
  #count(item: Incoming, report: IngestReport): void {
    this.counters.acceptedRecords += report.accepted
    this.counters.duplicateRecords += report.duplicates
    this.counters.heldRecords += report.held
    this.counters.refusedRecords += report.refused
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

/** Author (hex) and seq of a record the layout reader does not take (a full decode); null if malformed. */
function authorSeqOf(wire: Uint8Array): { author: string; seq: number } | null {
  try {
    const r = decodeWire(wire)
    return { author: toHex(r.author), seq: r.seq }
  } catch {
    return null // quarantined when it was first decoded
  }
}

/** Author (hex) and seq of a signed record, read without a full decode; null if unreadable. */
function peekAuthorSeq(wire: Uint8Array): { author: string; seq: number } | null {
  if (wire.length <= SIG_BYTES) return null
  const fields = readRecordLayout(wire.subarray(SIG_BYTES))
  return fields === NOT_FAST ? null : { author: keyHex(fields.author), seq: fields.seq }
}
