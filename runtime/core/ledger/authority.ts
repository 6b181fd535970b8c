/**
 * Records that change who may do what: folded first, on their own, by the authority pass
 * (./fold.ts). Their rowids are listed in `authority_rows` (store.ts migration 4 names them too).
 * Governance approvals belong here because they decide whether an admin may be added or removed.
 */
import { SITE_TYPES } from './site-dapp.ts'

export const AUTHORITY_TYPES: ReadonlySet<string> = new Set([
  ...SITE_TYPES,
  'governance.propose',
  'governance.approve',
])
