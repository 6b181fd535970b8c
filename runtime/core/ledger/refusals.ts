/**
 * Which refusal answers a key holder for a record the ledger refused: the codes are defined in
 * the catalogue (runtime/core/errors/ledger.ts), the mapping from protocol reason to refusal here.
 */
import { type LatchkeyError, refusals } from '../errors/index.ts'
import { Reason, type Rejection } from './reasons.ts'

export { refusals }

/** Codes of records whose bytes are wrong (the client's encoder), not whose content is. */
const INVALID: ReadonlySet<string> = new Set([
  Reason.MALFORMED,
  Reason.NOT_CANONICAL,
  Reason.VERSION,
  Reason.OVERSIZE,
  Reason.BAD_FIELD,
  Reason.BAD_SIGNATURE,
  Reason.WRONG_SITE,
  Reason.GENESIS,
])
/** Codes that say the author's chain moved on since the record was prepared. */
const STALE: ReadonlySet<string> = new Set([Reason.SEQ_TAKEN, Reason.STALE, Reason.SEQ_GAP, Reason.BAD_PREV])
/** Codes of authority: who the author is, not what the record says. */
const FORBIDDEN: ReadonlySet<string> = new Set([Reason.NOT_AUTHORIZED, Reason.REVOKED, Reason.FORKED])

/** The answer to a client for a record refused with `why`. */
export function refusal(why: Rejection): LatchkeyError {
  if (INVALID.has(why.code)) return refusals.INVALID(why.code, why.detail)
  if (STALE.has(why.code)) return refusals.STALE(why.code, why.detail)
  if (FORBIDDEN.has(why.code)) return refusals.FORBIDDEN(why.code, why.detail)
  return refusals.REFUSED(why.code, why.detail)
}
