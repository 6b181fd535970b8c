/** Errors of the credentials dapp, its queries and `latchkey badge` (codes LK_BADGE_*). */
import { define } from '../../runtime/core/errors.ts'

export const badgeErrors = {
  UNKNOWN: define(
    'LK_BADGE_UNKNOWN',
    'usage',
    (id: string) => `badge ${id} is not bound to any member`,
    (id: string) => ({ badge: id }),
  ),
  INVALID: define('LK_BADGE_INVALID', 'usage', (problem: string) => problem),
  /** A local check of the record against this node's state failed: nothing was written. */
  CHECK: define(
    'LK_BADGE_CHECK',
    'usage',
    (type: string, code: string, detail: string) => `${type} not written: ${detail} (${code})`,
    (type: string, code: string) => ({ type, reason: code }),
  ),
  /** The record was written and the fold rejected it: it stays in the ledger, marked rejected. */
  REJECTED: define(
    'LK_BADGE_REJECTED',
    'usage',
    (type: string, id: string, code: string, detail: string) =>
      `${type} record ${id.slice(0, 16)}… was rejected: ${detail} (${code})`,
    (type: string, id: string, code: string) => ({ type, record: id, reason: code }),
  ),
}
