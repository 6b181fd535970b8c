/**
 * The vouch step: which decoded records' signatures are vouched for. Every record checked one
 * by one, or (bulk catch-up) the tip of each contiguous run per author, whose id commits to
 * every earlier record of the run by hash; authority records are still checked one by one.
 */
import { AUTHORITY_TYPES } from './authority.ts'
import { compareBytes, equalBytes, type SignedRecord, verifySignature } from './record.ts'

/**
 * Which of `records` are vouched for: with `tipOnly`, every record of a run whose links
 * (prev = id of the record before, ids computed from the bytes) reach a tip whose signature
 * verifies. The links themselves are checked by the chain step (./checks.ts).
 */
export function vouch(records: readonly SignedRecord[], tipOnly = true): ReadonlySet<SignedRecord> {
  const byAuthor = sortIfNeeded([...records], (a, b) => compareBytes(a.author, b.author) || a.seq - b.seq)
  return verifyTips(byAuthor, tipOnly)
}

function verifyTips(sorted: readonly SignedRecord[], tipOnly: boolean): Set<SignedRecord> {
  const ok = new Set<SignedRecord>()
  let run: SignedRecord[] = []
  const closeRun = () => {
    if (run.length === 0) return
    const tip = run[run.length - 1]!
    if (verifySignature(tip)) {
      // The chain below the tip is vouched for once each link's prev matches (checked in the chain step).
      for (const r of run) if (!AUTHORITY_TYPES.has(r.type) || r === tip || verifySignature(r)) ok.add(r)
    } else {
      for (const r of run) if (verifySignature(r)) ok.add(r)
    }
    run = []
  }
  for (const r of sorted) {
    if (!tipOnly) {
      if (verifySignature(r)) ok.add(r)
      continue
    }
    const last = run[run.length - 1]
    if (
      last &&
      (!equalBytes(last.author, r.author) ||
        last.seq + 1 !== r.seq ||
        !r.prev ||
        !equalBytes(r.prev, last.id))
    )
      closeRun()
    run.push(r)
  }
  closeRun()
  return ok
}

/** Sorts in place unless already in order (answers from peers come sorted); returns `xs`. */
export function sortIfNeeded<T>(xs: T[], compare: (a: T, b: T) => number): T[] {
  for (let i = 1; i < xs.length; i++) if (compare(xs[i - 1]!, xs[i]!) > 0) return xs.sort(compare)
  return xs
}
