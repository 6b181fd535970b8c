/**
 * Ingest: the named steps of a record's flow, in one synchronous transaction per call:
 *   decode (./quarantine.ts) → vouch (./vouch.ts) → check (./checks.ts) → store (./rows.ts)
 *   → fold (./fold.ts)
 * What fails a check is quarantined with its reason code. How the transaction is held and
 * finished is the mode's: the ordinary one (durable when the call returns) unless a caller
 * brings its own (a catch-up's, ./relay-session.ts).
 */
import { compareOrder, keyHex, type SignedRecord, wireBytes } from './record.ts'
import { type IngestOptions, type IngestReport, mergeReports, newReport, type Parts } from './types.ts'
import { sortIfNeeded, vouch } from './vouch.ts'

/** How a call's transaction is held and finished. */
export interface IngestMode {
  /** Before the transaction: commit or join whatever transaction is open. */
  begin(): void
  /** In the transaction, once the rows are written: what becomes of the ids it stored. */
  storeIds(): void
  /** Records that sort before the fold position: replayed now (false) or when the burst is over. */
  readonly deferReplay: boolean
  /** State and fold metadata are written in this transaction (false: when the held one commits). */
  readonly persistNow: boolean
  /** After the transaction, with the number of records it accepted. */
  end(accepted: number): void
}

export interface IngestRecordsOptions {
  tipVerification?: boolean
  /** Records this node just signed itself: no signature check. */
  trusted?: boolean
  /** Signatures already vouched for (./vouch.ts): records outside the set are refused. */
  vouched?: ReadonlySet<SignedRecord>
}

export class Ingest {
  #p: Parts
  readonly ordinary: IngestMode

  constructor(p: Parts) {
    this.#p = p
    this.ordinary = {
      begin: () => p.store.releaseHeld(),
      storeIds: () => p.store.writeIds(),
      deferReplay: false,
      persistNow: true,
      end: () => {},
    }
  }

  /** Ingests signed records in wire form (`sig || bytes`). Idempotent. */
  wires(
    wires: readonly Uint8Array[],
    opts: IngestOptions = {},
    mode: IngestMode = this.ordinary,
  ): IngestReport {
    const report = newReport()
    const records = this.#p.quarantine.decode(wires, opts.owned === true, report)
    return mergeReports(
      report,
      this.records(records, { tipVerification: opts.tipVerification ?? false }, mode),
    )
  }

  /** Ingests decoded records: the checks, then one transaction that stores and folds the accepted. */
  records(
    records: readonly SignedRecord[],
    opts: IngestRecordsOptions = {},
    mode: IngestMode = this.ordinary,
  ): IngestReport {
    const p = this.#p
    const { store, checks, fold, quarantine, counters, registry } = p
    const report = newReport()
    if (records.length === 0) return report
    mode.begin()
    // Signatures are checked per author chain; records are stored in total order, which is
    // causal (a record's clock exceeds its parents'), so a batch can carry a whole DAG.
    const trusted = opts.trusted === true
    const tipOk = trusted ? null : (opts.vouched ?? vouch(records, opts.tipVerification ?? false))
    const sorted = sortIfNeeded([...records], compareOrder)
    const accepted: Array<{ record: SignedRecord; rowid: number }> = []
    const deferred = fold.deferred
    const tx = store.db.transaction(() => {
      for (const record of sorted) {
        const problem = checks.check(record, trusted || tipOk?.has(record) === true)
        if (problem === 'duplicate') {
          report.duplicates++
          counters.duplicates++
          continue
        }
        if (problem) {
          quarantine.put(wireBytes(record), problem, report)
          continue
        }
        if (deferred.counts && !registry.owner(record.type))
          deferred.counts.set(record.type, (deferred.counts.get(record.type) ?? 0) + 1)
        accepted.push({ record, rowid: store.store(record) })
        report.accepted++
      }
      store.writeRows()
      mode.storeIds()
      if (accepted.length > 0) {
        store.count += accepted.length
        fold.foldNew(accepted, mode.deferReplay)
        if (mode.persistNow) fold.persist()
      }
    })
    try {
      tx()
    } catch (err) {
      store.loadNextRowid() // the transaction rolled back: so did the rowids it took
      deferred.counts = null
      throw err
    }
    for (const { record } of accepted) {
      const a = p.authors.byHex.get(keyHex(record.author))
      if (a?.reserved && a.reserved.seq <= a.headSeq) a.reserved = null
    }
    counters.ingested += report.accepted
    if (accepted.length > 0 && !quarantine.retrying) this.retryHeld(10_000, mode)
    mode.end(accepted.length)
    return report
  }

  /** Retries held records (missing predecessor or parent, clock ahead) the way `mode` ingests. */
  retryHeld(limit = 10_000, mode: IngestMode = this.ordinary): IngestReport {
    return this.#p.quarantine.retry(limit, (wires) => this.wires(wires, {}, mode))
  }
}
