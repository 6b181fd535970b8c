/**
 * summary (docs/PROTOCOL.md, "Sync"): each node keeps a signed, retained summary of its heads,
 * republished on connect (aedes keeps retained messages in memory only) and, debounced, after
 * its ledger changes. A peer's summary says what it holds; this node asks for what it lacks.
 */
import { fromHex, toHex } from '../../core/ledger/record.ts'
import {
  decodeSummary,
  encodeSummary,
  type SummaryBody,
  SyncMessageError,
  summaryTopic,
  verifySummary,
} from '../sync-messages.ts'
import { type Attachment, cancelRequest, type Peer, type SyncContext } from './context.ts'
import { sendRequest } from './request.ts'

export function publishSummary(ctx: SyncContext, links: Attachment[]): void {
  const site = ctx.siteHex()
  if (!site || links.length === 0) return
  const tip = ctx.ledger.query.tip()
  const heads: SummaryBody['heads'] = []
  for (const [author, h] of tip.heads) heads.push([fromHex(author), h.seq, fromHex(h.id)])
  const body: SummaryBody = {
    node: ctx.key.publicKey,
    heads,
    count: tip.count,
    stateHash: tip.stateHash,
    at: ctx.now(),
  }
  const payload = encodeSummary(body, ctx.key)
  if (payload.length > ctx.limits.maxBytes) {
    ctx.counters.summaryTooLarge++
    ctx.log.warn({ bytes: payload.length, heads: heads.length }, 'sync: summary too large to publish')
    return
  }
  for (const a of links)
    if (ctx.publish(a, summaryTopic(site, ctx.key.id), payload, true)) ctx.counters.summariesSent++
}

/** A summary is accepted only if its node is the topic's and its signature holds. */
export function onSummary(ctx: SyncContext, a: Attachment, node: string, bytes: Uint8Array): void {
  let s: ReturnType<typeof decodeSummary>
  try {
    s = decodeSummary(bytes)
  } catch (err) {
    if (!(err instanceof SyncMessageError)) throw err
    ctx.counters.badSummary++
    return
  }
  if (toHex(s.node) !== node || !verifySummary(s)) {
    ctx.counters.badSummary++
    return
  }
  const p = peerOf(ctx, node, a.name)
  // A request in flight on another link is not answered on this one.
  if (p.link !== a.name) cancelRequest(ctx, p)
  p.link = a.name
  p.gone = false
  p.lastSeen = ctx.now()
  p.timeouts = 0
  p.heads = new Map(s.heads.map(([author, seq]) => [toHex(author), seq]))
  sendRequest(ctx, p)
}

/** The node cleared its retained summary (its will, or a graceful close): it is gone. */
export function onSummaryCleared(ctx: SyncContext, node: string): void {
  const p = ctx.peers.get(node)
  if (p) p.gone = true
}

function peerOf(ctx: SyncContext, key: string, link: string): Peer {
  let p = ctx.peers.get(key)
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
    ctx.peers.set(key, p)
  }
  return p
}
