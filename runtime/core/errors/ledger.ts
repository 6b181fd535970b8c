/**
 * How the ledger answers a key holder who prepares or submits a record (the HTTP ledger routes
 * pass these through; runtime/core/ledger/refusals.ts maps a protocol reason to one of them):
 * every refusal is the client's to fix, so it is a 4xx with the protocol reason in
 * `details.reason`, and nothing of the refused record is kept (no quarantine row, no reservation,
 * no fork evidence).
 */
import { define } from './define.ts'

export const refusals = {
  /** The bytes are not a record this node can read: the client built them wrong. */
  INVALID: define(
    'LK_RECORD_INVALID',
    'usage',
    (reason: string, detail: string) => `the record is not valid (${reason}): ${detail}`,
    (reason: string) => ({ reason }),
    400,
  ),
  /** The author's seq moved on since the record was prepared: prepare again and sign the new one. */
  STALE: define(
    'LK_RECORD_STALE',
    'usage',
    (reason: string, detail: string) =>
      `the record no longer fits its author's chain (${reason}): ${detail}; prepare it again`,
    (reason: string) => ({ reason }),
    409,
  ),
  /** The author may not write this record (not enrolled, revoked, cut by a fork). */
  FORBIDDEN: define(
    'LK_RECORD_FORBIDDEN',
    'usage',
    (reason: string, detail: string) => `the author may not write this record (${reason}): ${detail}`,
    (reason: string) => ({ reason }),
    403,
  ),
  /** The rules refuse the record at the tip: the owning dapp's validator, or the clock. */
  REFUSED: define(
    'LK_RECORD_REFUSED',
    'usage',
    (reason: string, detail: string) => `the record was refused (${reason}): ${detail}`,
    (reason: string) => ({ reason }),
    422,
  ),
  /** A client writes only as the key that signed its request. */
  WRONG_AUTHOR: define(
    'LK_RECORD_WRONG_AUTHOR',
    'usage',
    (author: string, caller: string) =>
      `the record's author ${author.slice(0, 16)}… is not the key that signed the request (${caller.slice(0, 16)}…); a client writes only its own records`,
    (author: string, caller: string) => ({ reason: 'WRONG_AUTHOR', author, caller }),
    403,
  ),
  /** The node's own key is written only by the node (its appends chain on a reservation). */
  NODE_KEY: define(
    'LK_RECORD_NODE_KEY',
    'usage',
    () => "records of the node's own key are written only by the node itself",
    () => ({ reason: 'NODE_KEY' }),
    403,
  ),
}
