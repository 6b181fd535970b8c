/**
 * Membership state, as other dapps read it. State keys (written only by the membership dapp):
 *   membership/member/<memberId> → Member
 *   membership/status/<memberId> → StatusNote   (the last `membership.status` change)
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

/**
 * The last `membership.status` change of a member (why they are suspended, by whom), kept beside
 * the member:
 *   membership/status/<memberId> → StatusNote
 */
export interface StatusNote {
  status: MemberStatus
  reason: string
  /** Author key (hex) of the record. */
  by: string
  /** HLC ms of the record. */
  at: number
}

export const statusNoteKey = (id: string) => `membership/status/${id}`

/**
 * The UTC calendar day (`YYYY-MM-DD`) of a millisecond timestamp. Validators compare `expires`
 * with the day of the record's own clock (never "now"), so every node judges a record alike.
 */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10)
}
