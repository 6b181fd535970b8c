/**
 * The check step: the named checks a decoded, vouched-for record passes before it is stored,
 * in order, each failing with a stable reason code (docs/PROTOCOL.md):
 *   site → duplicate/fork → signature → chain → clock → parents → ancestry
 * A check returns null to pass the record on, 'duplicate', or the rejection.
 */
import type { Author } from './authors.ts'
import { compareHlc } from './hlc.ts'
import { Reason, type Rejection, reject } from './reasons.ts'
import {
  decodeWire,
  equalBytes,
  GENESIS_SITE,
  keyHex,
  type SignedRecord,
  toHex,
  verifySignature,
  wireBytes,
} from './record.ts'
import { fromRow, type Row } from './rows.ts'
import type { Parts } from './types.ts'

type Verdict = Rejection | 'duplicate' | null

/** One record going through the checks; a single context is reused record after record. */
interface CheckContext {
  p: Parts
  r: SignedRecord
  signatureOk: boolean
  /** The record's author, if held. */
  author: Author | undefined
  /** Authors (and seqs) of the records it names as parents. */
  parentAuthors: Array<[Author, number]>
}

/** The checks, in the order they run. */
export const CHECKS: ReadonlyArray<{ readonly name: string; readonly run: (c: CheckContext) => Verdict }> = [
  { name: 'site', run: checkSite },
  { name: 'duplicate/fork', run: checkDuplicate },
  // Before anything that would hold the record for a retry.
  {
    name: 'signature',
    run: (c) =>
      c.signatureOk ? null : reject(Reason.BAD_SIGNATURE, 'signature does not verify for the author key'),
  },
  { name: 'chain', run: checkChain },
  { name: 'clock', run: checkClock },
  { name: 'parents', run: checkParents },
  { name: 'ancestry', run: checkAncestry },
]

function checkSite({ p, r }: CheckContext): Verdict {
  const site = p.store.site
  if (r.type === 'site.genesis' && !equalBytes(r.site, GENESIS_SITE))
    return reject(Reason.GENESIS, 'a site.genesis record must carry the all-zero site: it creates the site')
  if (r.type === 'site.genesis') {
    if (site && equalBytes(r.id, site)) return p.authors.byHex.has(keyHex(r.author)) ? 'duplicate' : null
    if (site) return reject(Reason.GENESIS, 'a second genesis for a site that already has one')
    if (r.seq !== 1) return reject(Reason.GENESIS, "a genesis must be its author's first record")
  } else if (!site) {
    return reject(Reason.NO_GENESIS, 'no genesis yet: records of a site are held until its genesis arrives')
  } else if (!equalBytes(r.site, site)) {
    return reject(
      Reason.WRONG_SITE,
      `record is for site ${toHex(r.site).slice(0, 16)}…, this ledger is ${toHex(site).slice(0, 16)}…`,
    )
  }
  return null
}

function checkDuplicate(c: CheckContext): Verdict {
  const { p, r } = c
  const author = p.authors.byHex.get(keyHex(r.author))
  c.author = author
  if (!author || r.seq > author.headSeq) return null
  p.store.writeRows()
  const held = p.store.idAt(author.idx, r.seq)
  if (held && equalBytes(held, r.id)) return 'duplicate'
  if (held && (c.signatureOk || verifySignature(r))) {
    recordFork(p, author, r, held)
    return reject(
      Reason.FORK,
      `a second record at seq ${r.seq} by ${author.hex.slice(0, 16)}…: kept as fork evidence`,
    )
  }
  if (held)
    return reject(Reason.BAD_SIGNATURE, 'signature does not verify (and the record conflicts with one held)')
  return null
}

function checkChain({ r, author }: CheckContext): Verdict {
  const headSeq = author && author.idx >= 0 ? author.headSeq : 0
  if (r.seq > headSeq + 1)
    return reject(Reason.SEQ_GAP, `seq ${r.seq} arrived but the author's head is ${headSeq}`)
  if (r.seq > 1 && (!r.prev || !author?.headId || !equalBytes(r.prev, author.headId)))
    return reject(Reason.BAD_PREV, `prev is not the id of the author's record ${r.seq - 1}`)
  return null
}

function checkClock({ p, r, author }: CheckContext): Verdict {
  if (p.clock.isTooFarAhead(r.hlc))
    return reject(
      Reason.CLOCK_FUTURE,
      `clock ${new Date(r.hlc.ms).toISOString()} is more than ${p.clock.maxAheadMs} ms ahead of this node`,
    )
  if (author && r.seq > 1 && compareHlc(r.hlc, author.headHlc) <= 0)
    return reject(Reason.CLOCK_ORDER, "clock is not after the previous record's")
  return null
}

function checkParents(c: CheckContext): Verdict {
  const { p, r } = c
  c.parentAuthors = []
  for (const id of r.parents) {
    const row = p.store.rowById(id) ?? forkEvidence(p, id, r)
    if (!row) return reject(Reason.UNKNOWN_PARENT, `parent ${toHex(id).slice(0, 16)}… is not held`)
    if (compareHlc({ ms: row.ms, c: row.c }, r.hlc) >= 0)
      return reject(Reason.CLOCK_ORDER, "clock is not after a parent's")
    c.parentAuthors.push([p.authors.byIdx[row.author]!, row.seq])
  }
  return null
}

/** An author's first record must follow its enrolment (or be a genesis admin's). */
function checkAncestry({ p, r, parentAuthors }: CheckContext): Verdict {
  if (r.seq !== 1 || r.type === 'site.genesis') return null
  const enrolments = p.authors.enrolments.get(keyHex(r.author)) ?? []
  const follows = enrolments.some(([aIdx, aSeq]) =>
    parentAuthors.some(([pa, pSeq]) => pa.idx === aIdx && pSeq >= aSeq),
  )
  return follows
    ? null
    : reject(Reason.NOT_AUTHORIZED, "the author's first record does not follow an enrolment of its key")
}

export class Checker {
  #ctx: CheckContext

  constructor(p: Parts) {
    this.#ctx = {
      p,
      r: null as unknown as SignedRecord,
      signatureOk: false,
      author: undefined,
      parentAuthors: [],
    }
  }

  /** Runs the checks on `r`: null (accept), 'duplicate', or the first rejection. */
  check(r: SignedRecord, signatureOk: boolean): Verdict {
    const c = this.#ctx
    c.r = r
    c.signatureOk = signatureOk
    c.author = undefined
    c.parentAuthors = NO_PARENTS
    for (let i = 0; i < CHECKS.length; i++) {
      const verdict = CHECKS[i]!.run(c)
      if (verdict !== null) return verdict
    }
    return null
  }
}

const NO_PARENTS: Array<[Author, number]> = []

/**
 * A parent that is the other branch of a fork: held as evidence (forks table) or carried in
 * the fork proof that names it. After a fork each side holds one branch; records that name
 * the other branch must still be accepted, or the network would split for good.
 */
function forkEvidence(
  p: Parts,
  id: Uint8Array,
  naming: SignedRecord,
): Pick<Row, 'ms' | 'c' | 'author' | 'seq'> | null {
  const wires = (p.store.stmts.forkEvidence.all(id) as Array<{ other_wire: Uint8Array }>).map(
    (f) => f.other_wire,
  )
  if (naming.type === 'site.fork') {
    const proof = naming.value as { a?: unknown; b?: unknown } | undefined
    for (const w of [proof?.a, proof?.b]) if (w instanceof Uint8Array) wires.push(w)
  }
  for (const wire of wires) {
    let r: SignedRecord
    try {
      r = decodeWire(wire)
    } catch {
      continue
    }
    const author = p.authors.byHex.get(keyHex(r.author))
    if (!equalBytes(r.id, id) || !author || author.idx < 0 || !verifySignature(r)) continue
    return { ms: r.hlc.ms, c: r.hlc.c, author: author.idx, seq: r.seq }
  }
  return null
}

function recordFork(p: Parts, author: Author, other: SignedRecord, heldId: Uint8Array): void {
  const { store } = p
  store.stmts.forkPut.run(author.key, other.seq, heldId, other.id, wireBytes(other), p.clock.wall())
  const held = store.stmts.rowAt.get(author.idx, other.seq) as Row
  const prev = other.seq > 1 ? store.idAt(author.idx, other.seq - 1) : null
  const heldWire = wireBytes(fromRow(store, held, prev))
  p.log.error(
    { author: author.hex, seq: other.seq },
    'fork: an author signed two records with the same seq; key quarantined',
  )
  p.events.emit('fork', { author: author.hex, seq: other.seq, a: heldWire, b: wireBytes(other) })
}
