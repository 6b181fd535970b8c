/** Ledger ranges packed into batch messages (the answer to a request, a live push). */
import { batchOverhead, encodeBatch, MAX_BATCH_RECORDS } from '../sync-messages.ts'
import type { SyncContext } from './context.ts'

/** Records read from the ledger per page: an answer should not read records it cannot send. */
const PAGE = 64

/**
 * Reads `[author, fromSeq, count]` ranges in order and packs them into messages under
 * maxMessageBytes, at most `maxRecords` records in all; `firstOnly` stops at the first message.
 */
export function readBatches(
  ctx: SyncContext,
  ranges: ReadonlyArray<[string, number, number]>,
  maxRecords: number,
  firstOnly = false,
): Uint8Array[] {
  const maxBytes = ctx.limits.maxBytes
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
    let seq = fromSeq
    let left = Math.min(n, maxRecords - total)
    while (left > 0 && !full) {
      const page = ctx.ledger.query.rangeWire(author, seq, Math.min(PAGE, left))
      if (page.length === 0) break
      for (const w of page) {
        if (bytes + w.length + batchOverhead(cur.length + 1) > maxBytes || cur.length >= MAX_BATCH_RECORDS) {
          flush()
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
