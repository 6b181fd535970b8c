/**
 * The bounds of a catch-up (./relay-session.ts), in one place because they must agree with
 * each other. Each comment states the rule the value protects; the figures that chose them are
 * in docs/ledger.md, with the bench that measures them.
 */

/**
 * A catch-up's transaction commits once it holds this many records: a commit writes every page
 * it touched to the WAL, so fewer, larger commits write each page fewer times. At twice this
 * the ledger commits on its own, whoever drives the session.
 */
export const RELAY_COMMIT_RECORDS = 2048

/**
 * …or once it has been open this long (ms): relayed records become visible to other
 * connections, and a process crash loses no more than this much of a catch-up.
 */
export const RELAY_COMMIT_MS = 200

/**
 * Relayed ids waiting in memory for their record_ids rows beyond which the ledger writes them
 * itself, in one run, at the end of an ingest step: bounds memory when nobody runs index steps.
 * Must stay above INDEX_BEHIND, or the session's index runs never start before this one.
 */
export const OVERLAY_MAX = 65_536

/**
 * Waiting ids at which a session starts an index run in steps that take turns with ingest.
 * Long runs visit each B-tree leaf once for many rows; below OVERLAY_MAX (see there).
 */
export const INDEX_BEHIND = 49_152

/**
 * The work of one step (ms) when the caller gives no budget: a badge decision on the same
 * event loop waits behind at most one step.
 */
export const TURN_MS = 0.5

/** Records decoded or ingested per step adapt between these, so a step takes about its budget. */
export const MIN_SLICE = 16
export const MAX_SLICE = 512

/**
 * Records vouched for by one signature check per author run: a message is decoded, vouched for
 * and ingested in windows of about this many, not whole, which bounds the decoded records held
 * in memory (what a young-generation collection copies) at one more signature check a window.
 */
export const VOUCH_RUN = 256

/** Longest (ms) a catch-up may leave the ledger's state behind its records before it settles. */
export const MAX_UNSETTLED_MS = 3000

/** How soon (ms) a session with a put-off replay wants another step while more records come. */
export const SETTLE_CHECK_MS = 100
