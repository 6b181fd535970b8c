/**
 * Credential (badge) state, as other dapps read it. State keys (written only by the credentials
 * dapp):
 *   credentials/badge/<credential id>  → Badge        (canonical ids: devices/readers/credential.ts)
 *   credentials/low24/<low-24-bit key> → string[]     (badge ids sharing those low 24 bits, for
 *                                                      Wiegand 26 reads; see lowBitsKey())
 *   credentials/member/<memberId>      → string[]     (badge ids bound to the member, any status)
 *   credentials/expect/<memberId>      → Expectation  (an admin armed enrolment at a reader)
 * Badge values also carry `enrolledBy` and `reason` (BadgeEntry).
 */
import { type Credential, lowBitsKey } from '../../devices/readers/credential.ts'
import type { StateView } from '../contract.ts'

export interface Badge {
  id: string
  member: string
  status: 'active' | 'lost' | 'stolen' | 'revoked'
}

export const badgeKey = (id: string) => `credentials/badge/${id}`
export const low24Key = (key: string) => `credentials/low24/${key}`

export type BadgeLookup = { found: true; badge: Badge } | { found: false; reason: 'unknown' | 'ambiguous' }

/**
 * The badge a read credential names. A full-width read matches its id exactly; a 24-bit read
 * (Wiegand 26) matches through the low-24 index and is refused when more than one badge fits.
 */
export function findBadge(state: StateView, credential: Pick<Credential, 'id' | 'bits'>): BadgeLookup {
  const exact = state.get<Badge>(badgeKey(credential.id))
  if (exact) return { found: true, badge: exact }
  const low = lowBitsKey(credential.id)
  if (credential.bits === 24 && low) {
    const ids = state.get<string[]>(low24Key(low)) ?? []
    if (ids.length > 1) return { found: false, reason: 'ambiguous' }
    const badge = ids[0] ? state.get<Badge>(badgeKey(ids[0])) : undefined
    if (badge) return { found: true, badge }
  }
  return { found: false, reason: 'unknown' }
}

/** What the credentials dapp stores under badgeKey(): a Badge plus how it got there. */
export interface BadgeEntry extends Badge {
  /** The staff member who vouched for a badge enrolled at a reader; null for admin binds. */
  enrolledBy: string | null
  /** Why the badge was revoked (lost, stolen, returned…); null while active. */
  reason: string | null
}

/** An admin armed enrolment: the next new badge a staff member presents at `reader` is the member's. */
export interface Expectation {
  member: string
  /** A reader name, or null for any reader. */
  reader: string | null
  /** Admin key (hex) that armed it, and the HLC ms of that record. */
  by: string
  at: number
}

export const memberBadgesKey = (member: string) => `credentials/member/${member}`
export const expectKey = (member: string) => `credentials/expect/${member}`

/** Badges bound to a member (any status), in id order. */
export function badgesOf(state: StateView, member: string): BadgeEntry[] {
  return (state.get<string[]>(memberBadgesKey(member)) ?? [])
    .map((id) => state.get<BadgeEntry>(badgeKey(id)))
    .filter((b): b is BadgeEntry => !!b && b.member === member)
}
