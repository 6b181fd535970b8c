/**
 * batch (docs/PROTOCOL.md, "Sync"): the answer to this node's request. It goes to the ledger's
 * catch-up session (./catch-up.ts); meanwhile the next request goes out (one answer prefetched, no more),
 * and once the ledger has been through it the peer is asked for whatever is still missing.
 */
import { NOT_FAST, readRecordLayout } from '../../core/ledger/canonical.ts'
import type { IngestReport } from '../../core/ledger/ledger.ts'
import { decodeWire, keyHex, SIG_BYTES, toHex } from '../../core/ledger/record.ts'
import { decodeBatch } from '../sync-messages.ts'
import type { Incoming } from './catch-up.ts'
import { type Attachment, cancelRequest, type SyncContext } from './context.ts'
import { sendRequest } from './request.ts'

export function onBatch(ctx: SyncContext, a: Attachment, from: string, bytes: Uint8Array): void {
  const { records } = decodeBatch(bytes)
  ctx.counters.batchBytesReceived += bytes.length
  const p = ctx.peers.get(from)
  if (!ctx.enqueue(from, a.name, 'batch', records)) {
    // Nothing is lost: the records are asked for again once the queue has drained.
    if (p) {
      cancelRequest(ctx, p)
      p.ahead.clear()
    }
    return
  }
  if (!p) return
  p.queued++
  // The answer is here: the next request can go out while this one is ingested.
  cancelRequest(ctx, p)
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
  if (p.queued < 2) sendRequest(ctx, p)
}

/** A batch or live message has been through the ledger: ask its sender for what is still missing. */
export function onIngested(ctx: SyncContext, item: Incoming, report: IngestReport): void {
  if (report.refused > 0)
    ctx.log.warn({ peer: item.peer, reasons: report.reasons }, 'sync: peer sent records the ledger refused')
  const p = ctx.peers.get(item.peer)
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
  sendRequest(ctx, p)
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
