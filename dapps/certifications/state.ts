/**
 * The certifications dapp's own state, beside the public `certifications/cert/…` entries
 * (model.ts):
 *
 *   certifications/grant/<member>/<tool>/<grant id>   → GrantEntry   (grants not cancelled)
 *   certifications/revoke/<member>/<tool>/<revoke id> → RevokeEntry  (tombstones, kept for good)
 *
 * `settle` derives the public entry from these sets alone, so the result depends on which
 * grants and revocations were applied, never on the order they were folded in.
 */
import type { StateView, StateWriter } from '../contract.ts'
import { type Certification, certKey } from './model.ts'

export interface GrantEntry {
  /** Record id (hex) of the grant. */
  id: string
  /** The grant record's clock [ms, counter]: with `id`, its place in the total order. */
  hlc: [number, number]
  member: string
  tool: string
  grantedBy: string
  /** Key (hex) that signed the grant. */
  signer: string
  expires: string | null
  trainer: boolean
  /** Revocations the grant overrides (hex ids). */
  after: string[]
}

export interface RevokeEntry {
  id: string
  hlc: [number, number]
  member: string
  tool: string
  /** Key (hex) that signed the revocation. */
  by: string
  trainer: string | null
  reason: string
  /** Signed with an admin key: only an admin-signed grant may lift it. */
  admin: boolean
}

export const grantPrefix = (member: string, tool: string) => `certifications/grant/${member}/${tool}/`
export const revokePrefix = (member: string, tool: string) => `certifications/revoke/${member}/${tool}/`
export const grantKey = (member: string, tool: string, id: string) => grantPrefix(member, tool) + id
export const revokeKey = (member: string, tool: string, id: string) => revokePrefix(member, tool) + id

/** Ids (hex) of every revocation of `member`'s certification for `tool`: what a new grant names in `after`. */
export function knownRevocations(state: StateView, member: string, tool: string): string[] {
  return state.list<RevokeEntry>(revokePrefix(member, tool)).map(([, r]) => r.id)
}

/** Total order of grants: clock, then id (hex of equal length sorts as the bytes do). */
function compareGrants(a: GrantEntry, b: GrantEntry): number {
  return a.hlc[0] - b.hlc[0] || a.hlc[1] - b.hlc[1] || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
}

/**
 * Recomputes `member`'s certification for `tool`:
 *   1. a grant is cancelled by every revocation it does not name in `after` (revocation beats a
 *      grant that did not see it); cancelled grants are dropped, since revocations are never
 *      removed they could never come back;
 *   2. of the grants left, the last in the total order defines the certification;
 *   3. none left: the member does not hold it.
 */
export function settle(state: StateWriter, member: string, tool: string): void {
  const revoked = knownRevocations(state, member, tool)
  let current: GrantEntry | undefined
  for (const [key, g] of state.list<GrantEntry>(grantPrefix(member, tool))) {
    if (revoked.some((id) => !g.after.includes(id))) {
      state.del(key)
      continue
    }
    if (!current || compareGrants(g, current) > 0) current = g
  }
  if (!current) {
    state.del(certKey(member, tool))
    return
  }
  state.put(certKey(member, tool), {
    member,
    tool,
    grantedBy: current.grantedBy,
    grantedAt: current.hlc[0],
    expires: current.expires,
    trainer: current.trainer,
    grant: current.id,
    signer: current.signer,
  } satisfies Certification)
}
