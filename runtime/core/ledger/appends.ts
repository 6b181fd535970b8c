/**
 * Local appends: records this node signs with a key it holds. Each is built at the author's
 * tip (the seq is reserved at once so the next append chains on it), signed on the thread
 * pool, and stored with the others of its turn in one group commit: every promise resolves
 * only after its transaction committed (synchronous=FULL).
 */
import type { TimerHandle } from '../clock.ts'
import { compareHlc, ZERO_HLC } from './hlc.ts'
import { Reason, reject } from './reasons.ts'
import {
  compareBytes,
  decodeBody,
  encodeBody,
  keyHex,
  MAX_BODY_BYTES,
  MAX_PARENTS,
  prepareRecord,
  RECORD_VERSION,
  RecordError,
  type RecordFields,
  type SignedRecord,
  signIdAsync,
  TYPE_PATTERN,
  toHex,
} from './record.ts'
import type { AppendResult, Parts, Signer } from './types.ts'

interface PendingAppend {
  signed: Promise<SignedRecord>
  resolve: (r: AppendResult) => void
  reject: (e: unknown) => void
}

export class Appends {
  #p: Parts
  #pending: PendingAppend[] = []
  #flushTimer: TimerHandle | null = null
  /** Group commits run one after another, in append order. */
  #chain: Promise<void> = Promise.resolve()
  /** Heads of other authors already named as parents by each local author. */
  #namedParents = new Map<string, Map<string, number>>()

  constructor(p: Parts) {
    this.#p = p
  }

  /** Signs and appends a record by `signer`; resolves once its transaction committed. */
  append(type: string, body: unknown, signer: Signer): Promise<AppendResult> {
    let signed: Promise<SignedRecord>
    try {
      const unsigned = this.build(type, encodeBody(body), signer)
      signed = signIdAsync(unsigned.id, signer.privateKeyObject).then((sig) => ({ ...unsigned, sig }))
    } catch (err) {
      return Promise.reject(err)
    }
    return new Promise((resolve, reject) => {
      this.#pending.push({ signed, resolve, reject })
      if (!this.#flushTimer) {
        const timers = this.#p.timers
        const flush = () => this.#flush()
        this.#flushTimer = timers.setImmediate ? timers.setImmediate(flush) : timers.setTimeout(flush, 0)
      }
    })
  }

  /**
   * The unsigned next record of `signer`. `local`: this node signs it now (an append), so the
   * seq is reserved for the group commit and the parents it names are remembered; otherwise
   * (prepare) nothing about the ledger changes.
   */
  build(
    type: string,
    body: Uint8Array,
    signer: { publicKey: Uint8Array },
    local = true,
  ): Omit<SignedRecord, 'sig'> {
    const p = this.#p
    const site = p.store.site
    if (!site)
      throw new RecordError(
        reject(Reason.NO_GENESIS, 'the ledger has no site yet: create or receive its genesis first'),
      )
    // A local record gets the checks a peer will apply, or peers would refuse what this node holds.
    checkLocal(type, body)
    const authors = p.authors
    const hex = toHex(signer.publicKey)
    const me = authors.byHex.get(hex)
    const named = this.#namedParents.get(hex) ?? new Map<string, number>()
    // Parents: heads of other authors this author has not named yet, newest first.
    const candidates = authors.byIdx
      .filter((a) => a.hex !== hex && a.headId && named.get(a.hex) !== a.headSeq)
      .sort((x, y) => compareHlc(y.headHlc, x.headHlc))
      .slice(0, MAX_PARENTS)
    const mine = me?.reserved ?? (me ? { seq: me.headSeq, id: me.headId, hlc: me.headHlc } : null)
    let after = mine?.hlc ?? ZERO_HLC
    for (const a of candidates) if (compareHlc(a.headHlc, after) > 0) after = a.headHlc
    const fields: RecordFields = {
      v: RECORD_VERSION,
      site,
      author: signer.publicKey,
      seq: (mine?.seq ?? 0) + 1,
      prev: mine?.id ?? null,
      parents: candidates.map((a) => a.headId!).sort(compareBytes),
      hlc: p.clock.tickAfter(after),
      type,
      body,
    }
    const record = prepareRecord(fields)
    if (!local) return record
    this.#namedParents.set(hex, named)
    for (const a of candidates) named.set(a.hex, a.headSeq)
    // Reserve the sequence number now so the next append chains onto this one.
    const author = me ?? authors.add(-1, signer.publicKey, 0, null, ZERO_HLC)
    author.reserved = { seq: record.seq, id: record.id, hlc: record.hlc }
    return record
  }

  /** Commits what is pending and waits for every group commit in flight. */
  async close(): Promise<void> {
    if (this.#pending.length > 0) this.#flush()
    await this.#chain
  }

  #flush(): void {
    this.#p.timers.clearTimeout(this.#flushTimer)
    this.#flushTimer = null
    const batch = this.#pending
    this.#pending = []
    if (batch.length === 0) return
    this.#chain = this.#chain.then(() => this.#commit(batch))
  }

  async #commit(batch: PendingAppend[]): Promise<void> {
    const p = this.#p
    let records: SignedRecord[]
    try {
      records = await Promise.all(batch.map((b) => b.signed))
    } catch (err) {
      for (const b of batch) b.reject(err)
      p.authors.reload(p.store.db, p.store.stmts)
      return
    }
    try {
      const report = p.ingest.records(records, { trusted: true })
      p.counters.appended += report.accepted
      for (const a of p.authors.byHex.values())
        if (a.reserved && a.reserved.seq <= a.headSeq) a.reserved = null
      batch.forEach((b, i) => {
        const record = records[i]!
        const stored = p.authors.byHex.get(keyHex(record.author))!.headSeq >= record.seq
        if (!stored)
          b.reject(new Error(`append of ${record.type} was refused: ${JSON.stringify(report.reasons)}`))
        else b.resolve({ record, rejection: p.fold.rejectionOf(toHex(record.id), record) })
      })
    } catch (err) {
      for (const b of batch) b.reject(err)
      p.authors.reload(p.store.db, p.store.stmts)
    }
  }
}

/** The record-level checks decodeWire applies on a peer, for records signed here. */
function checkLocal(type: string, body: Uint8Array): void {
  if (!TYPE_PATTERN.test(type))
    throw new RecordError(reject(Reason.BAD_FIELD, `record type "${type}" does not look like "dapp.name"`))
  if (body.length > MAX_BODY_BYTES)
    throw new RecordError(
      reject(Reason.OVERSIZE, `body is ${body.length} bytes; the limit is ${MAX_BODY_BYTES}`),
    )
  try {
    decodeBody(body)
  } catch (err) {
    throw new RecordError(reject(Reason.MALFORMED, `body cannot be carried: ${(err as Error).message}`))
  }
}
