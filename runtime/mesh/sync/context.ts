/**
 * What the sync message handlers share: the engine's state and the few operations the
 * dispatcher (../sync.ts) lends them. Each handler file takes a SyncContext and nothing else.
 */
import type { MqttClient } from 'mqtt'
import type { TimerHandle } from '../../core/clock.ts'
import type { KeyPair } from '../../core/keys.ts'
import type { Ledger } from '../../core/ledger/ledger.ts'
import type { Logger } from '../../core/log.ts'
import type { TurnClock } from './turns.ts'

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
  /** Operational errors caught in handlers (programmer errors are rethrown). */
  errors: number
}

export const zeroCounters = (): SyncCounters => ({
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

export interface PeerStatus {
  /** The link (MQTT connection) the peer was last heard on. */
  name: string
  key: string
  connected: boolean
  lastSeen: number
  /** Records the peer's last summary shows that this node lacks. */
  lag: number
}

export interface Attachment {
  name: string
  client: MqttClient
  onConnect: () => void
  onClose: () => void
  onMessage: (topic: string, payload: Buffer) => void
}

export interface Peer {
  key: string
  link: string
  lastSeen: number
  gone: boolean
  heads: Map<string, number>
  inFlight: TimerHandle | null
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

export interface SyncLimits {
  /** Largest message sent or accepted (bytes). */
  maxBytes: number
  /** Records asked for per request. */
  batchRecords: number
  summaryDebounceMs: number
  liveDelayMs: number
  requestTimeoutMs: number
  queueLimit: number
  requestRate: { perSecond: number; burst: number }
  maxLive: number
}

export interface SyncContext {
  readonly ledger: Ledger
  readonly key: KeyPair
  readonly log: Logger
  /** Timers, turns and durations. */
  readonly clock: TurnClock
  /** Wall time (ms since the epoch): a summary's `at`, a peer's `lastSeen`. */
  readonly now: () => number
  readonly counters: SyncCounters
  readonly limits: SyncLimits
  readonly links: ReadonlyMap<string, Attachment>
  readonly peers: Map<string, Peer>
  /** Request-rate token buckets, per requesting node. */
  readonly buckets: Map<string, { tokens: number; at: number }>
  siteHex(): string | null
  publish(a: Attachment, topic: string, payload: Uint8Array, retain?: boolean): boolean
  /** Runs `fn`; an operational error is counted and logged, a programmer error rethrown. */
  safely(fn: () => void): void
  /** Queues a batch or live message for ingest; false if the queue is full (dropped, counted). */
  enqueue(from: string, link: string, kind: 'batch' | 'live', records: Uint8Array[]): boolean
  /** A request ended unanswered (timed out, cancelled): the catch-up's burst may be over. */
  requestEnded(): void
}

/** Forgets the request in flight to `p` (its answer came, its link went, or it is asked anew). */
export function cancelRequest(ctx: SyncContext, p: Peer): void {
  if (!p.inFlight) return
  ctx.clock.clearTimeout(p.inFlight)
  p.inFlight = null
  ctx.requestEnded()
}
