/**
 * The dapps' codes: the dapp host, each dapp's options and queries, and the commands that write
 * a dapp's records (`latchkey member`, `badge`, `cert`, `door`).
 */
import { define } from './define.ts'

/** The dapp host's errors: a dapp that fails to start, an unknown query, an output the hardware lacks. */
export const dappErrors = {
  DAPP_START: define(
    'LK_DAPP_START',
    'operational',
    (dapp: string, reason: string) => `dapp ${dapp} failed to start: ${reason}`,
    (dapp: string) => ({ dapp }),
  ),
  DAPP_QUERY: define(
    'LK_DAPP_QUERY',
    'usage',
    (dapp: string, query: string) => `dapp ${dapp} has no query ${query}`,
    (dapp: string, query: string) => ({ dapp, query }),
  ),
  DAPP_NOT_OWNER: define(
    'LK_DAPP_NOT_OWNER',
    'usage',
    (dapp: string, type: string) =>
      `dapp ${dapp} does not own record type ${type}: a dapp appends only the types it declares`,
    (dapp: string, type: string) => ({ dapp, type }),
  ),
  DAPP_OUTPUT: define(
    'LK_DAPP_OUTPUT',
    'operational',
    (name: string, kind: string) => `no ${kind} output named ${name} in this node's hardware config`,
    (name: string) => ({ output: name }),
  ),
}

/** The membership dapp, its queries and `latchkey member` (LK_MEMBER_*). */
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

/** The credentials dapp, its queries and `latchkey badge` (LK_BADGE_*). */
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

/** The certifications dapp and `latchkey cert` (LK_CERT_*). */
export const certErrors = {
  CONFIG: define(
    'LK_CERT_CONFIG',
    'usage',
    (key: string, reason: string) => `certifications options: \`${key}\` ${reason}`,
    (key: string) => ({ dapp: 'certifications', key }),
  ),
  QUERY: define(
    'LK_CERT_QUERY',
    'usage',
    (query: string, reason: string) => `certifications query ${query}: ${reason}`,
    (query: string) => ({ query }),
  ),
  UNKNOWN_MEMBER: define(
    'LK_CERT_UNKNOWN_MEMBER',
    'usage',
    (member: string) => `member ${member} is not known to this node's ledger`,
    (member: string) => ({ member }),
  ),
  SIGNER_NOT_ENROLLED: define(
    'LK_CERT_SIGNER_NOT_ENROLLED',
    'usage',
    (key: string) =>
      `key ${key.slice(0, 16)}… is not an enrolled key of this site (or was revoked); it cannot sign a credential`,
    (key: string) => ({ key }),
  ),
  REJECTED: define(
    'LK_CERT_REJECTED',
    'operational',
    (type: string, code: string, detail: string) => `the ledger did not apply ${type}: ${code}: ${detail}`,
    (type: string, code: string) => ({ type, code }),
  ),
  CREDENTIAL_INVALID: define(
    'LK_CERT_CREDENTIAL_INVALID',
    'operational',
    (file: string, code: string, detail: string) => `credential ${file} is not valid: ${code}: ${detail}`,
    (file: string, code: string) => ({ file, code }),
  ),
}

/** The governance dapp (LK_GOV_*). */
export const govErrors = {
  QUERY: define(
    'LK_GOV_QUERY',
    'usage',
    (query: string, reason: string) => `governance query ${query}: ${reason}`,
    (query: string) => ({ query }),
  ),
}

/** The door-access dapp's options (LK_DOOR_ACCESS_*). */
export const doorAccessErrors = {
  CONFIG: define(
    'LK_DOOR_ACCESS_CONFIG',
    'usage',
    (key: string, reason: string) => `door-access options: \`${key}\` ${reason}`,
    (key: string) => ({ dapp: 'door-access', key }),
  ),
}

/** `latchkey door`: the door-access rules on the ledger (LK_DOOR_*). */
export const doorErrors = {
  INVALID: define('LK_DOOR_INVALID', 'usage', (problem: string) => problem),
  /** A local check of the record against this node's state failed: nothing was written. */
  CHECK: define(
    'LK_DOOR_CHECK',
    'usage',
    (type: string, code: string, detail: string) => `${type} not written: ${detail} (${code})`,
    (type: string, code: string) => ({ type, reason: code }),
  ),
  /** The record was written and the fold rejected it: it stays in the ledger, marked rejected. */
  REJECTED: define(
    'LK_DOOR_REJECTED',
    'usage',
    (type: string, id: string, code: string, detail: string) =>
      `${type} record ${id.slice(0, 16)}… was rejected: ${detail} (${code})`,
    (type: string, id: string, code: string) => ({ type, record: id, reason: code }),
  ),
}

/** The machine-lockout dapp's options (LK_MACHINE_LOCKOUT_*). */
export const machineLockoutErrors = {
  CONFIG: define(
    'LK_MACHINE_LOCKOUT_CONFIG',
    'usage',
    (key: string, reason: string) => `machine-lockout options: \`${key}\` ${reason}`,
    (key: string) => ({ dapp: 'machine-lockout', key }),
  ),
}
