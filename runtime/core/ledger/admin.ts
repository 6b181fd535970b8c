/**
 * What operators and the node's setup do to a ledger, beside the badge and sync paths: create
 * the site, prepare and take a key holder's record (docs/PROTOCOL.md §4.1), load a dapp into
 * an open ledger, fold everything again; and the hybrid clock records are stamped with.
 */
import type { DappRegistry, LedgerDapp } from './dapp.ts'
import { before, DEFERRED } from './fold.ts'
import type { HybridClock } from './hlc.ts'
import { Reason, reject } from './reasons.ts'
import {
  decodeWire,
  encodeBody,
  equalBytes,
  GENESIS_SITE,
  keyHex,
  RECORD_VERSION,
  RecordError,
  type RecordFields,
  type SignedRecord,
  signRecord,
  toHex,
  verifySignature,
} from './record.ts'
import { refusal, refusals } from './refusals.ts'
import type { Parts, Signer, Submitted } from './types.ts'

export class LedgerAdmin {
  #p: Parts

  constructor(p: Parts) {
    this.#p = p
  }

  get clock(): HybridClock {
    return this.#p.clock
  }

  get registry(): DappRegistry {
    return this.#p.registry
  }

  /** Dapps whose record handlers could not be registered: name → reason. */
  get failedDapps(): Map<string, string> {
    return this.#p.failedDapps
  }

  /** Creates the site: the genesis record, signed by the first admin. */
  async createGenesis(name: string, admins: Uint8Array[], signer: Signer): Promise<SignedRecord> {
    const p = this.#p
    if (p.store.site) throw new Error('this ledger already has a site')
    const fields: RecordFields = {
      v: RECORD_VERSION,
      site: GENESIS_SITE,
      author: signer.publicKey,
      seq: 1,
      prev: null,
      parents: [],
      hlc: p.clock.tick(),
      type: 'site.genesis',
      body: encodeBody({ name, admins }),
    }
    const record = signRecord(fields, signer.privateKeyObject)
    const report = p.ingest.records([record], { trusted: true })
    if (report.accepted !== 1) throw new Error(`genesis refused: ${JSON.stringify(report.reasons)}`)
    return record
  }

  /**
   * Builds the unsigned next record of a key this node does not hold (an admin's, signing on
   * their own machine) and judges it as the fold would at the tip: the record sorts last, its
   * clock coming from this node's clock, which has observed every stored record. A record the
   * rules refuse is never handed out for signing (throws a 4xx, ./refusals.ts).
   *
   * Nothing is reserved: a prepared record that is never submitted blocks nobody, and two
   * prepares for one key get the same seq; the first submitted takes it, the other is answered
   * SEQ_TAKEN (never evidence of a fork). The node's own keys are not prepared for.
   */
  prepare(type: string, body: Uint8Array, author: Uint8Array): Omit<SignedRecord, 'sig'> {
    const p = this.#p
    if (p.fold.pendingReplay) p.fold.settle()
    const local = p.authors.byHex.get(toHex(author))?.reserved
    if (local)
      throw refusal(reject(Reason.SEQ_TAKEN, `this node is writing seq ${local.seq} of this key itself`))
    let record: Omit<SignedRecord, 'sig'>
    try {
      record = p.appends.build(type, body, { publicKey: author }, false)
    } catch (err) {
      if (err instanceof RecordError) throw refusal(reject(err.code, err.message))
      throw err
    }
    const verdict = p.fold.judge(p.fold.foldRecordFrom(record))
    if (verdict && verdict !== DEFERRED) throw refusal(verdict)
    return record
  }

  /**
   * Takes a record signed by a key holder (prepared by `prepare`, signed on their machine):
   * decode → the ingest checks → a dry run of the fold at the tip → store and fold, in one
   * transaction. `author` (hex) is the key the client authenticated as: a client submits only
   * its own records. A refusal throws (a 4xx, ./refusals.ts) and keeps nothing: no quarantine
   * row, no reservation, no fork evidence. The refused record's seq stays free, and its author
   * may sign that seq again.
   */
  submit(wire: Uint8Array, opts: { author?: string } = {}): Submitted {
    const p = this.#p
    let record: SignedRecord
    try {
      record = decodeWire(wire)
    } catch (err) {
      throw refusal(reject(err instanceof RecordError ? err.code : Reason.MALFORMED, (err as Error).message))
    }
    const hex = keyHex(record.author)
    if (opts.author !== undefined && opts.author !== hex) throw refusals.WRONG_AUTHOR(hex, opts.author)
    if (!verifySignature(record))
      throw refusal(reject(Reason.BAD_SIGNATURE, 'signature does not verify for the author key'))
    p.store.releaseHeld()
    if (p.fold.pendingReplay) p.fold.settle()
    const id = toHex(record.id)
    const author = p.authors.byHex.get(hex)
    if (author?.reserved)
      throw refusal(reject(Reason.SEQ_TAKEN, `this node is writing seq ${author.reserved.seq} of this key`))
    if (author && author.idx >= 0 && record.seq <= author.headSeq) {
      p.store.writeRows()
      const held = p.store.idAt(author.idx, record.seq)
      if (held && equalBytes(held, record.id)) return { id, duplicate: true, ...p.fold.outcome(id, record) }
      throw refusal(
        reject(
          Reason.SEQ_TAKEN,
          `seq ${record.seq} of this key is taken by another record (head ${author.headSeq})`,
        ),
      )
    }
    // Rule: a key holder's record sorts after every record this node has folded, so the dry run
    // at the tip below is the verdict it gets in its place (a record signed with an older clock
    // or fewer parents than prepare gave it would be judged at the tip but folded in the past).
    if (p.fold.pos && !before(p.fold.pos, record))
      throw refusal(
        reject(
          Reason.STALE,
          'the record sorts before records this node already holds (its clock is older): prepare it again',
        ),
      )
    // The same checks ingest applies (no fork branch: the seq is past the author's head).
    const problem = p.checks.check(record, true)
    if (problem === 'duplicate') return { id, duplicate: true, ...p.fold.outcome(id, record) }
    if (problem) throw refusal(problem)
    const verdict = p.fold.judge(p.fold.foldRecordFrom(record))
    if (verdict && verdict !== DEFERRED) throw refusal(verdict)
    const report = p.ingest.records([record], { trusted: true })
    if (report.accepted !== 1)
      throw new Error(`submitted record passed its checks but was not stored: ${JSON.stringify(report)}`)
    return { id, duplicate: false, ...p.fold.outcome(id, record) }
  }

  /**
   * Loads a dapp into an open ledger (dapps installed while the node runs): its stored records,
   * deferred until now, are folded in their place by a replay from the earliest of them.
   * Throws, changing nothing, when the registry refuses the dapp (./dapp.ts).
   */
  registerDapp(dapp: LedgerDapp): void {
    this.#p.registry.register(dapp)
    this.#p.failedDapps.delete(dapp.name)
    this.#p.fold.foldDeferred()
  }

  /** Folds every record from scratch (the state tables are rewritten). */
  rebuild(): void {
    this.#p.fold.rebuild()
  }

  /** Copies the WAL into the database file and empties it (a checkpoint, TRUNCATE), now. */
  checkpoint(): void {
    this.#p.store.releaseHeld()
    this.#p.store.db.pragma('wal_checkpoint(TRUNCATE)')
  }

  /** Retries held records (missing predecessor or parent, clock ahead). Bounded per call. */
  retryHeld(limit = 10_000) {
    return this.#p.ingest.retryHeld(limit)
  }
}
