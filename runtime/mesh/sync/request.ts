/**
 * req (docs/PROTOCOL.md, "Sync"): a node asks a peer for exactly the ranges it lacks, one
 * request in flight per peer; a peer answers each with one batch message, within a per-node
 * rate limit.
 */
import { compareBytes, fromHex, toHex } from '../../core/ledger/record.ts'
import {
  batchTopic,
  decodeRequest,
  encodeRequest,
  MAX_BATCH_RECORDS,
  MAX_REQUEST_AUTHORS,
  requestTopic,
} from '../sync-messages.ts'
import type { Attachment, Peer, SyncContext } from './context.ts'
import { readBatches } from './pack.ts'

/** After this many unanswered requests in a row, wait for the peer's next summary or batch. */
const MAX_TIMEOUT_RETRIES = 3

/** Asks `peer` for what its last summary shows and this node lacks; one request in flight. */
export function sendRequest(ctx: SyncContext, peer: Peer): void {
  if (peer.inFlight || peer.gone) return
  const a = ctx.links.get(peer.link)
  const site = ctx.siteHex()
  if (!a?.client.connected || !site) return
  const heads = ctx.ledger.heads()
  const from: Array<[Uint8Array, number]> = []
  for (const [author, seq] of peer.heads) {
    const ours = Math.max(heads.get(author)?.seq ?? 0, peer.ahead.get(author) ?? 0)
    if (seq > ours) from.push([fromHex(author), ours + 1])
    if (from.length >= MAX_REQUEST_AUTHORS) break
  }
  if (from.length === 0) return
  from.sort((x, y) => compareBytes(x[0], y[0]))
  peer.asked = from.map(([author]) => toHex(author))
  ctx.publish(
    a,
    requestTopic(site, ctx.key.id, peer.key),
    encodeRequest({ from, limit: ctx.limits.batchRecords }),
  )
  ctx.counters.requestsSent++
  peer.inFlight = ctx.clock.setTimeout(() => {
    peer.inFlight = null
    ctx.counters.requestTimeouts++
    if (++peer.timeouts <= MAX_TIMEOUT_RETRIES) ctx.safely(() => sendRequest(ctx, peer))
    if (!peer.inFlight) ctx.requestEnded()
  }, ctx.limits.requestTimeoutMs)
}

/** Answers a request with one batch: what fits under maxMessageBytes, in (author, seq) order. */
export function onRequest(ctx: SyncContext, a: Attachment, from: string, bytes: Uint8Array): void {
  if (!takeToken(ctx, from)) {
    ctx.counters.floodedRequests++
    return
  }
  const req = decodeRequest(bytes)
  const site = ctx.siteHex()!
  const ranges: Array<[string, number, number]> = req.from
    .map(([author, seq]): [string, number, number] => [toHex(author), seq, MAX_BATCH_RECORDS])
    .sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))
  const limit = Math.min(req.limit, MAX_BATCH_RECORDS)
  const payload = readBatches(ctx, ranges, limit, true)[0]
  if (!payload) {
    ctx.counters.emptyRequests++
    return
  }
  if (ctx.publish(a, batchTopic(site, ctx.key.id, from), payload)) ctx.counters.batchesSent++
}

/** The per-node token bucket: `requestRate.perSecond` sustained, `burst` at once. */
function takeToken(ctx: SyncContext, peer: string): boolean {
  const { perSecond, burst } = ctx.limits.requestRate
  const now = ctx.clock.now()
  const b = ctx.buckets.get(peer) ?? { tokens: burst, at: now }
  b.tokens = Math.min(burst, b.tokens + (Math.max(0, now - b.at) * perSecond) / 1000)
  b.at = now
  ctx.buckets.set(peer, b)
  if (b.tokens < 1) return false
  b.tokens--
  return true
}
