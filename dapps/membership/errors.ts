/** Errors of the membership dapp, its queries and `latchkey member` (codes LK_MEMBER_*). */
import { define } from '../../runtime/core/errors.ts'

export const memberErrors = {
  UNKNOWN: define(
    'LK_MEMBER_UNKNOWN',
    'usage',
    (id: string) => `there is no member ${id}`,
    (id: string) => ({ id }),
  ),
  EXISTS: define(
    'LK_MEMBER_EXISTS',
    'usage',
    (id: string) => `member ${id} already exists; use --replace to replace the whole member`,
    (id: string) => ({ id }),
  ),
  INVALID: define('LK_MEMBER_INVALID', 'usage', (problem: string) => problem),
  /** A local check of the record against this node's state failed: nothing was written. */
  CHECK: define(
    'LK_MEMBER_CHECK',
    'usage',
    (type: string, code: string, detail: string) => `${type} not written: ${detail} (${code})`,
    (type: string, code: string) => ({ type, reason: code }),
  ),
  /** The record was written and the fold rejected it: it stays in the ledger, marked rejected. */
  REJECTED: define(
    'LK_MEMBER_REJECTED',
    'usage',
    (type: string, id: string, code: string, detail: string) =>
      `${type} record ${id.slice(0, 16)}… was rejected: ${detail} (${code})`,
    (type: string, id: string, code: string) => ({ type, record: id, reason: code }),
  ),
  CSV_READ: define(
    'LK_MEMBER_CSV_READ',
    'usage',
    (file: string, reason: string) => `cannot read ${file}: ${reason}`,
    (file: string) => ({ file }),
  ),
  CSV_BAD_ROWS: define(
    'LK_MEMBER_CSV_BAD_ROWS',
    'usage',
    (file: string, count: number) =>
      `${file} has ${count} bad ${count === 1 ? 'row' : 'rows'} (listed on stdout); nothing was imported`,
    (file: string, count: number) => ({ file, count }),
  ),
}
