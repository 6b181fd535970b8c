/**
 * The door decision: a pure function of the in-memory state and its inputs (no clock, no I/O),
 * so the badge path decides in microseconds, online or not, and the benchmark can call it.
 *
 *   door → badge → member → offline policy → lockdown (door or site) → groups → schedule / holiday
 *
 * Each step denies with a stable reason; the first that denies wins. Policy denies by default:
 * an unknown door, badge, member or schedule is a denial, never a pass.
 */

import { admitHolder, type OfflineReason, siteLockdown } from '../access.ts'
import type { StateView } from '../contract.ts'
import type { HolderReason } from '../credentials/holder.ts'
import { type LocalTime, localTime, parseHhmm } from './local-time.ts'
import {
  activeOverride,
  type Door,
  getDoor,
  type Holiday,
  holidayKey,
  type Schedule,
  scheduleKey,
} from './model.ts'

/** Why a badge was refused, or `allowed`. Stable strings: they are written into access events. */
export type DoorReason =
  | 'allowed'
  | HolderReason
  | 'unknown-door'
  | OfflineReason
  | 'lockdown'
  | 'not-in-group'
  | 'unknown-schedule'
  | 'outside-schedule'
  | 'holiday'

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

export function decide(state: StateView, input: DecideInput): Decision {
  const door = getDoor(state, input.door)
  if (!door) return { granted: false, reason: 'unknown-door' }
  const local = localTime(input.now, input.tz)
  // The shared steps (dapps/access.ts): a holder in good standing, then the offline policy.
  const admitted = admitHolder(state, input.credential, local.date, input.offline)
  if (!admitted.ok) return admitted.refusal
  const { member, who } = admitted
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
