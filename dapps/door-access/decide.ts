/**
 * The door decision: a pure function of the in-memory state and its inputs (no clock, no I/O),
 * so the badge path decides in microseconds, online or not, and the benchmark can call it.
 *
 *   door → badge → member → offline policy → lockdown (door or site) → groups → schedule / holiday
 *
 * Each step denies with a stable reason; the first that denies wins. Policy denies by default:
 * an unknown door, badge, member or schedule is a denial, never a pass.
 */

import type { StateView } from '../contract.ts'
import { type Badge, findBadge } from '../credentials/model.ts'
import { getMember, isActive, type Member } from '../membership/model.ts'
import { type LocalTime, localTime, parseHhmm } from './local-time.ts'
import {
  activeOverride,
  type Door,
  getDoor,
  type Holiday,
  holidayKey,
  offlinePolicy,
  type Schedule,
  scheduleKey,
  siteLockdown,
} from './model.ts'

/** Why a badge was refused, or `allowed`. Stable strings: they are written into access events. */
export type DoorReason =
  | 'allowed'
  | HolderReason
  | 'unknown-door'
  | 'offline-deny-all'
  | 'offline-admins-only'
  | 'lockdown'
  | 'not-in-group'
  | 'unknown-schedule'
  | 'outside-schedule'
  | 'holiday'

export type HolderReason =
  | 'unknown-badge'
  | 'ambiguous-badge'
  | 'badge-lost'
  | 'badge-stolen'
  | 'badge-revoked'
  | 'unknown-member'
  | 'member-suspended'
  | 'member-expired'

export interface DecideInput {
  door: string
  /** The canonical credential read (devices/readers/credential.ts). */
  credential: { id: string; bits: number }
  /** Board wall time, epoch ms. */
  now: number
  /** The site's IANA time zone. */
  tz: string
  /** The board is past its offline grace period: governance's offline policy applies. */
  offline: boolean
}

export interface Decision {
  granted: boolean
  reason: DoorReason
  /** The member the badge belongs to, when it was resolved. */
  member?: string
  staff?: boolean
}

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

export function decide(state: StateView, input: DecideInput): Decision {
  const door = getDoor(state, input.door)
  if (!door) return { granted: false, reason: 'unknown-door' }
  const local = localTime(input.now, input.tz)
  const holder = resolveHolder(state, input.credential, local.date)
  if (!holder.ok)
    return { granted: false, reason: holder.reason, ...(holder.member ? { member: holder.member } : {}) }
  const { member } = holder
  const who = { member: member.id, staff: member.staff }
  // DESIGN "offline bound": past the grace period the site's offline policy decides first.
  if (input.offline) {
    const { policy } = offlinePolicy(state)
    if (policy === 'deny-all') return { granted: false, reason: 'offline-deny-all', ...who }
    if (policy === 'admins-only' && !member.staff)
      return { granted: false, reason: 'offline-admins-only', ...who }
  }
  // A lockdown (this door's override, or governance's site-wide one) lets only staff through;
  // it restricts, it never grants.
  if (!member.staff && (siteLockdown(state) || activeOverride(state, door.door, 'lockdown', input.now)))
    return { granted: false, reason: 'lockdown', ...who }
  const reason = scheduleReason(state, door, member.groups, local)
  return { granted: reason === 'allowed', reason, ...who }
}

/** `allowed` when one of the member's groups for this door is open now, else the best refusal. */
function scheduleReason(
  state: StateView,
  door: Door,
  groups: readonly string[],
  local: LocalTime,
): DoorReason {
  let best: Refusal = 'not-in-group'
  for (const group of groups) {
    if (!door.groups.includes(group)) continue
    const name = Object.hasOwn(door.groupSchedules, group) ? door.groupSchedules[group]! : door.schedule
    if (name === null) return 'allowed'
    const schedule = state.get<Schedule>(scheduleKey(name))
    let why: Refusal
    if (!schedule) why = 'unknown-schedule'
    else {
      const holiday = state.get<Holiday>(holidayKey(local.date))
      const applies = !!holiday && (holiday.doors === null || holiday.doors.includes(door.door))
      const windows = applies
        ? holiday!.hours
        : schedule.windows.filter((w) => w.days.includes(local.weekday))
      if (windows.some((w) => inWindow(w, local.minute))) return 'allowed'
      why = applies ? 'holiday' : 'outside-schedule'
    }
    if (RANK[why] > RANK[best]) best = why
  }
  return best
}

type Refusal = 'not-in-group' | 'unknown-schedule' | 'outside-schedule' | 'holiday'
/** Which refusal to report when several groups refuse: the most specific. */
const RANK: Readonly<Record<Refusal, number>> = {
  'not-in-group': 0,
  'unknown-schedule': 1,
  'outside-schedule': 2,
  holiday: 3,
}

function inWindow(w: { from: string; to: string }, minute: number): boolean {
  const from = parseHhmm(w.from)
  const to = parseHhmm(w.to)
  return from !== null && to !== null && from <= minute && minute < to
}
