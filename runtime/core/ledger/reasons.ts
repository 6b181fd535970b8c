/**
 * Stable reason codes for records the ledger does not apply. A code is never reused or renamed;
 * tests assert codes, not sentences. Dapps add their own codes (prefixed with the dapp name).
 */
export const Reason = {
  /** Bytes that do not decode as a record envelope. */
  MALFORMED: 'MALFORMED',
  /** Decodes, but is not the canonical encoding (re-encoding gives other bytes). */
  NOT_CANONICAL: 'NOT_CANONICAL',
  /** A record format version this node does not speak. */
  VERSION: 'VERSION',
  /** Record or body over the documented size limit. */
  OVERSIZE: 'OVERSIZE',
  /** A field has the wrong type or range. */
  BAD_FIELD: 'BAD_FIELD',
  /** The signature does not verify for the author key (strict RFC 8032). */
  BAD_SIGNATURE: 'BAD_SIGNATURE',
  /** The record names another site. */
  WRONG_SITE: 'WRONG_SITE',
  /**
   * No loaded dapp owns the record type. Never a refusal: such a record is stored with its fold
   * deferred until a dapp owns the type (docs/PROTOCOL.md §4); the code names the deferral.
   */
  UNKNOWN_TYPE: 'UNKNOWN_TYPE',
  /** The author is not an enrolled key in the record's ancestry. */
  NOT_AUTHORIZED: 'NOT_AUTHORIZED',
  /** The author was revoked with a cut point below this record's sequence number. */
  REVOKED: 'REVOKED',
  /** The author has forked its chain: records at and after the fork are not applied. */
  FORKED: 'FORKED',
  /** `prev` is not the id of the author's previous record. */
  BAD_PREV: 'BAD_PREV',
  /** The author's previous record is missing. */
  SEQ_GAP: 'SEQ_GAP',
  /** A second, different record at an (author, seq) already held: evidence of a fork. */
  FORK: 'FORK',
  /** The record's clock is implausibly far ahead of this node's wall clock (held, retried later). */
  CLOCK_FUTURE: 'CLOCK_FUTURE',
  /** The record's clock is not after the clocks of the records it follows. */
  CLOCK_ORDER: 'CLOCK_ORDER',
  /** A parent the record names is not held. */
  UNKNOWN_PARENT: 'UNKNOWN_PARENT',
  /** A second genesis, or a genesis record that does not create a site. */
  GENESIS: 'GENESIS',
  /** The ledger has no genesis yet: the record is held until the genesis arrives. */
  NO_GENESIS: 'NO_GENESIS',
  /**
   * At submit only: the author's seq is already taken by another record on this node (or a local
   * append of that key is in flight). The submitted record is not stored and is no evidence of
   * anything: its author prepares again.
   */
  SEQ_TAKEN: 'SEQ_TAKEN',
  /**
   * At submit only: the record sorts before records this node has already folded (its clock is
   * older than prepare gave it), so the verdict at the tip would not be its verdict in place.
   * Nothing is stored; its author prepares again.
   */
  STALE: 'STALE',
} as const

export type ReasonCode = (typeof Reason)[keyof typeof Reason]

/** Why a record was not accepted or not applied. `code` is stable, `detail` is a sentence. */
export interface Rejection {
  readonly code: string
  readonly detail: string
}

export function reject(code: string, detail: string): Rejection {
  return { code, detail }
}

/**
 * Reasons under which a record relayed by a peer is held and retried later rather than refused for
 * good. A record submitted by its author is never held: it is answered and forgotten.
 */
export const RETRYABLE: ReadonlySet<string> = new Set([
  Reason.CLOCK_FUTURE,
  Reason.SEQ_GAP,
  Reason.UNKNOWN_PARENT,
  Reason.NO_GENESIS,
])
