/**
 * Who holds a badge: the read credential → the badge it names (model.ts `findBadge`) → that
 * badge's member, in good standing on the site's local date (dapps/membership/model.ts). Every
 * reader on the site (door, tool) resolves its holder here, so a lost badge or a suspended member
 * is refused with the same reason everywhere.
 */
import type { StateView } from '../contract.ts'
import { getMember, isActive, type Member } from '../membership/model.ts'
import { type Badge, findBadge } from './model.ts'

/** Why a read credential has no holder in good standing. Stable strings: written into events. */
export type HolderReason =
  | 'unknown-badge'
  | 'ambiguous-badge'
  | 'badge-lost'
  | 'badge-stolen'
  | 'badge-revoked'
  | 'unknown-member'
  | 'member-suspended'
  | 'member-expired'

export type Holder =
  | { ok: true; member: Member; badge: Badge }
  | { ok: false; reason: HolderReason; member?: string }

/** Badge → active badge → active member (`today` = `YYYY-MM-DD` in the site's time zone). */
export function resolveHolder(
  state: StateView,
  credential: { id: string; bits: number },
  today: string,
): Holder {
  const found = findBadge(state, credential)
  if (!found.found)
    return { ok: false, reason: found.reason === 'ambiguous' ? 'ambiguous-badge' : 'unknown-badge' }
  const badge = found.badge
  if (badge.status !== 'active') return { ok: false, reason: `badge-${badge.status}`, member: badge.member }
  const member = getMember(state, badge.member)
  if (!member) return { ok: false, reason: 'unknown-member', member: badge.member }
  if (!isActive(member, today))
    return {
      ok: false,
      reason: member.status === 'suspended' ? 'member-suspended' : 'member-expired',
      member: member.id,
    }
  return { ok: true, member, badge }
}
