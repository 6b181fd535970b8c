/**
 * Membership state, as other dapps read it. State keys (written only by the membership dapp):
 *   membership/member/<memberId> → Member
 * Member ids are short stable strings chosen by the site (`[a-z0-9][a-z0-9._-]{0,63}`).
 */
import type { StateView } from '../contract.ts'

export type MemberStatus = 'active' | 'suspended' | 'expired'

export interface Member {
  id: string
  name: string
  contact: string | null
  /** Set by admins. A member whose `expires` date has passed counts as expired whatever this says. */
  status: MemberStatus
  /** Last day of membership, `YYYY-MM-DD` in the site's time zone, or null (no end). */
  expires: string | null
  groups: string[]
  /** Staff may override lockouts and clear e-stops. */
  staff: boolean
}

export const memberKey = (id: string) => `membership/member/${id}`

export function getMember(state: StateView, id: string): Member | undefined {
  return state.get<Member>(memberKey(id))
}

/** Active now: status active and not past `expires` (the date in `today`, `YYYY-MM-DD`). */
export function isActive(member: Member | undefined, today: string): boolean {
  return !!member && member.status === 'active' && (member.expires === null || member.expires >= today)
}
