/**
 * Replay: records judged by the rules a node judges them by, in a fresh ledger of their own.
 * They go through the ordinary ingest path (decode → vouch → check → store → fold, every
 * signature verified), in whatever order they come: a record waiting for its predecessor or a
 * parent is held and retried, as a node holds and retries it. Afterwards `firstRefused` names
 * the first record, in the total order, that the rules did not store or (when asked) did not
 * apply, with its protocol reason code. Verification of exports and of a node's own ledger
 * (`latchkey ledger verify`) is this replay: one set of rules, the node's.
 *
 * The fresh ledger lives in a temporary directory removed on close, so a replay of a large
 * ledger holds no more in memory than a node does.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Logger } from '../log.ts'
import type { LedgerDapp } from './dapp.ts'
import { Ledger } from './ledger.ts'
import { compareOrder, decodeWire, RecordError, type SignedRecord, toHex, wireBytes } from './record.ts'

/** Wires handed to ingest at a time: one transaction each, sorted in it by the total order. */
const BATCH = 4096

export interface ReplayOptions {
  /** The dapps the rules fold with (the `site` dapp, authority, is always loaded first). */
  dapps: readonly LedgerDapp[]
  /** Pin the site: a genesis with another id is refused (`GENESIS`). */
  site: Uint8Array | null
  log: Logger
}

/** A record the rules refused: where it is, and the reason a node gives. */
export interface ReplayRefusal {
  author: string
  seq: number
  id: string
  /**
   * The protocol reason code (docs/PROTOCOL.md §4, §5), e.g. NOT_AUTHORIZED, FORKED,
   * site.NOT_ADMIN; absent when the rules apply a record that a ledger holds as not applied.
   */
  reason?: string
  /** Refused at ingest (never stored), or stored and not applied by the fold. */
  stage: 'ingest' | 'fold'
  problem: string
}

/** How the replay left one record. */
export interface ReplayOutcome {
  record: SignedRecord
  /** null: stored; otherwise the quarantine's code and sentence. */
  refused: { code: string; detail: string } | null
  status: 'applied' | 'rejected' | 'deferred' | null
  rejection: { code: string; detail: string } | null
}

export class Replay {
  readonly ledger: Ledger
  #dir: string
  #batch: Uint8Array[] = []
  #closed = false

  private constructor(ledger: Ledger, dir: string) {
    this.ledger = ledger
    this.#dir = dir
  }

  static async create(opts: ReplayOptions): Promise<Replay> {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-replay-'))
    const ledger = new Ledger({
      file: join(dir, 'replay.db'),
      log: opts.log,
      dapps: opts.dapps,
      site: opts.site,
    })
    try {
      await ledger.ready()
    } catch (err) {
      await ledger.close().catch(() => {})
      rmSync(dir, { recursive: true, force: true })
      throw err
    }
    return new Replay(ledger, dir)
  }

  /** Hands one record (wire form) to the rules; records are ingested in batches. */
  push(wire: Uint8Array): void {
    this.#batch.push(wire)
    if (this.#batch.length >= BATCH) this.#flush()
  }

  /**
   * Ingests what is left, then retries held records until no retry stores anything more. Held
   * records are retried oldest first, a bounded number at a time, and a retried record that is
   * still held goes to the back: so the retries stop only once every held record was tried
   * since the last one stored.
   */
  finish(): void {
    this.#flush()
    let sinceStored = 0
    for (;;) {
      const held = this.ledger.query.heldCount()
      if (held === 0) return
      const r = this.ledger.admin.retryHeld()
      const tried = r.accepted + r.duplicates + r.held + r.refused
      if (tried === 0) return
      sinceStored = r.accepted > 0 ? 0 : sinceStored + tried
      if (sinceStored >= held) return
    }
  }

  /** How the replay left `wire`'s record (which must decode). */
  outcome(wire: Uint8Array): ReplayOutcome {
    const record = decodeWire(wire)
    const id = toHex(record.id)
    const status = this.ledger.query.statusOf(id)
    if (status === null) {
      const q = this.ledger.query.quarantineOf(wire)
      return {
        record,
        refused: q ?? { code: 'UNKNOWN', detail: 'not stored, and not in the quarantine' },
        status,
        rejection: null,
      }
    }
    const rejection = status === 'rejected' ? this.ledger.query.rejectionOf(id) : null
    return { record, refused: null, status, rejection }
  }

  /**
   * The first record of `wires`, in the total order (clock, then id), that the rules refused:
   * never stored, or (with `mustApply`) stored and not applied by the fold. `refuses` may add
   * a verdict of the caller's own (a comparison with what another ledger made of the record).
   * A held record is named only when no record was refused for good: what waits for a missing
   * predecessor or parent is the consequence, a final refusal the cause.
   */
  firstRefused(
    wires: Iterable<Uint8Array>,
    opts: {
      mustApply: boolean
      refuses?: (o: ReplayOutcome) => { reason?: string; problem: string } | null
    },
  ): ReplayRefusal | null {
    let final: { record: SignedRecord; refusal: ReplayRefusal } | null = null
    let held: { record: SignedRecord; refusal: ReplayRefusal } | null = null
    for (const wire of wires) {
      let o: ReplayOutcome
      try {
        o = this.outcome(wire)
      } catch (err) {
        if (err instanceof RecordError) continue // named by the caller's decode pass
        throw err
      }
      const r = o.record
      const where = { author: toHex(r.author), seq: r.seq, id: toHex(r.id) }
      let refusal: ReplayRefusal | null = null
      if (o.refused) {
        refusal = { ...where, reason: o.refused.code, stage: 'ingest', problem: o.refused.detail }
      } else if (opts.mustApply && o.rejection) {
        refusal = { ...where, reason: o.rejection.code, stage: 'fold', problem: o.rejection.detail }
      } else {
        const own = opts.refuses?.(o)
        if (own) refusal = { ...where, ...own, stage: 'fold' }
      }
      if (!refusal) continue
      const isHeld = o.refused !== null && this.#retryable(wire)
      const slot = isHeld ? held : final
      if (slot && compareOrder(slot.record, r) <= 0) continue
      if (isHeld) held = { record: r, refusal }
      else final = { record: r, refusal }
    }
    return final?.refusal ?? held?.refusal ?? null
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    try {
      await this.ledger.close()
    } finally {
      rmSync(this.#dir, { recursive: true, force: true })
    }
  }

  #retryable(wire: Uint8Array): boolean {
    return this.ledger.query.quarantineOf(wire)?.retry === true
  }

  #flush(): void {
    if (this.#batch.length === 0) return
    const batch = this.#batch
    this.#batch = []
    this.ledger.ingest(batch)
  }
}

/** What `replayLedger` found: the first record the rules judge otherwise than the ledger did. */
export interface LedgerReplay {
  checked: number
  /** The state hash the records fold to, and the one the ledger holds. */
  stateHash: string
  heldHash: string
  /** The first record judged otherwise (or, naming none, the state hashes that differ). */
  problem: (Omit<ReplayRefusal, 'author' | 'seq' | 'id'> & Partial<ReplayRefusal>) | null
}

/**
 * Replays every record of `source` (a node's own ledger) by the rules: each must be stored
 * again, the fold must leave it as `source` holds it (applied, rejected with the same code, or
 * deferred), and the state the records fold to must hash as `source`'s state does.
 */
export async function replayLedger(source: Ledger, opts: Omit<ReplayOptions, 'site'>): Promise<LedgerReplay> {
  const replay = await Replay.create({ ...opts, site: source.site })
  const wires = () => mapIter(source.query.records(), wireBytes)
  try {
    let checked = 0
    for (const wire of wires()) {
      replay.push(wire)
      checked++
    }
    replay.finish()
    const result: LedgerReplay = {
      checked,
      stateHash: replay.ledger.stateHash,
      heldHash: source.stateHash,
      problem: null,
    }
    result.problem = replay.firstRefused(wires(), {
      mustApply: false,
      refuses: (o) => {
        const id = toHex(o.record.id)
        const held = source.query.statusOf(id)
        const heldCode = held === 'rejected' ? (source.query.rejectionOf(id)?.code ?? null) : null
        const code = o.rejection?.code ?? null
        if (held === o.status && heldCode === code) return null
        const says = (status: string | null, c: string | null) => (c ? `${status} (${c})` : String(status))
        return {
          ...(code ? { reason: code } : {}),
          problem: `the ledger holds it ${says(held, heldCode)}; the rules fold it ${says(o.status, code)}`,
        }
      },
    })
    if (!result.problem && result.stateHash !== result.heldHash)
      result.problem = {
        stage: 'fold',
        problem: `the records fold to state ${result.stateHash}; the ledger holds state ${result.heldHash}`,
      }
    return result
  } finally {
    await replay.close()
  }
}

function* mapIter<T, U>(xs: Iterable<T>, f: (x: T) => U): Generator<U> {
  for (const x of xs) yield f(x)
}
