/**
 * The decode step, and the quarantine: bytes from peers that did not become a record, kept with
 * their reason code. Those that may pass later (RETRYABLE: a missing predecessor or parent, a
 * clock ahead, no genesis yet) are retried after records are accepted and at open.
 */
import { RETRYABLE, Reason, type Rejection, reject } from './reasons.ts'
import { decodeWire, RecordError, recordId, type SignedRecord } from './record.ts'
import { type IngestReport, mergeReports, newReport, type Parts } from './types.ts'

export class Quarantine {
  #p: Parts
  /** Whether the quarantine may hold records waiting for a retry (false: skip the lookup). */
  #mayHaveHeld = true
  #retrying = false

  constructor(p: Parts) {
    this.#p = p
  }

  get retrying(): boolean {
    return this.#retrying
  }

  /** Decodes wires; what does not decode is quarantined with its reason (counted in `report`). */
  decode(wires: readonly Uint8Array[], owned: boolean, report: IngestReport): SignedRecord[] {
    const records: SignedRecord[] = []
    for (const wire of wires) {
      try {
        records.push(decodeWire(wire, { owned }))
      } catch (err) {
        const code = err instanceof RecordError ? err.code : Reason.MALFORMED
        this.put(wire, reject(code, (err as Error).message), report)
      }
    }
    return records
  }

  put(wire: Uint8Array, why: Rejection, report: IngestReport): void {
    const p = this.#p
    const retry = RETRYABLE.has(why.code)
    // Keyed by the exact bytes, signature included: a forged copy of a held record (same id,
    // other signature) must not displace it.
    const ref = recordId(wire)
    p.store.stmts.quarantinePut.run(ref, p.clock.wall(), why.code, why.detail, retry ? 1 : 0, wire)
    if (retry) this.#mayHaveHeld = true
    if (retry) report.held++
    else report.refused++
    report.reasons[why.code] = (report.reasons[why.code] ?? 0) + 1
    p.counters.refused[why.code] = (p.counters.refused[why.code] ?? 0) + 1
    p.log.debug({ code: why.code, detail: why.detail }, retry ? 'record held' : 'record refused')
  }

  /**
   * Retries held records through `ingest` (the way the records that freed them came in).
   * Bounded per call: at most `limit` records a round, eight rounds.
   */
  retry(limit: number, ingest: (wires: Uint8Array[]) => IngestReport): IngestReport {
    const total = newReport()
    if (this.#retrying) return total
    this.#retrying = true
    try {
      const { db, stmts } = this.#p.store
      for (let round = 0; round < 8; round++) {
        if (!this.#mayHaveHeld) break
        const held = stmts.quarantineHeld.all(limit) as Array<{ qid: number; wire: Uint8Array }>
        if (held.length === 0) {
          this.#mayHaveHeld = false
          break
        }
        db.transaction(() => {
          for (const h of held) stmts.quarantineDel.run(h.qid)
        })()
        const report = ingest(held.map((h) => h.wire))
        mergeReports(total, report)
        if (report.accepted === 0) break
      }
    } finally {
      this.#retrying = false
    }
    return total
  }

  list(): Array<{ code: string; detail: string; retry: boolean; receivedMs: number }> {
    return (
      this.#p.store.stmts.quarantineList.all() as Array<{
        code: string
        detail: string
        retry: number
        received_ms: number
      }>
    ).map((q) => ({ code: q.code, detail: q.detail, retry: q.retry === 1, receivedMs: q.received_ms }))
  }
}
