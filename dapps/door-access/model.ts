/**
 * Door-access state, as this dapp and others read it. State keys (written only by door-access):
 *   door-access/door/<door>                → Door      (a removed door stays as a tombstone, so
 *                                                       access facts recorded for it stay valid)
 *   door-access/schedule/<name>            → Schedule
 *   door-access/holiday/<YYYY-MM-DD>       → Holiday
 *   door-access/override/<door>/<kind>     → Override  (the last one of each kind; cancel deletes)
 *   door-access/alert/<door>/<type>        → Alert     (present while active)
 * Governance owns the offline policy this dapp reads: `governance/policy` → Policy (read through
 * dapps/access.ts, re-exported here).
 */

import type { StateView } from '../contract.ts'
import type { Weekday } from './local-time.ts'

// Governance's site policy (offline grace and policy, site-wide lockdown), shared with tools.
export {
  DEFAULT_GRACE_MS,
  DEFAULT_OFFLINE_POLICY,
  OFFLINE_POLICIES,
  type OfflinePolicy,
  offlinePolicy,
  offlineState,
  POLICY_KEY,
  type Policy,
  siteLockdown,
} from '../access.ts'

export interface Door {
  door: string
  /** Member groups that may use the door. */
  groups: string[]
  /** The schedule those groups are held to; null = at any time. */
  schedule: string | null
  /** Per-group exceptions to `schedule` (a keyholders group at any time: `{keyholders: null}`). */
  groupSchedules: Record<string, string | null>
  removed: boolean
}

/** A window `from` ≤ local time < `to` on each of `days` (`HH:MM`, `to` may be `24:00`). */
export interface Window {
  days: Weekday[]
  from: string
  to: string
}

export interface Schedule {
  name: string
  windows: Window[]
}

/**
 * An exception day: on `date`, doors held to a schedule (all doors, or those in `doors`) open
 * only during `hours` instead of their weekly windows; no hours = closed all day. Groups with no
 * schedule (any time) are not affected.
 */
export interface Holiday {
  date: string
  name: string
  doors: string[] | null
  hours: Array<{ from: string; to: string }>
}

export type OverrideKind = 'lockdown' | 'hold-open' | 'unlock-once'
export const OVERRIDE_KINDS: readonly OverrideKind[] = ['lockdown', 'hold-open', 'unlock-once']

export interface Override {
  door: string
  kind: OverrideKind
  /** Epoch ms the override ends (lockdown: null = until cancelled). */
  until: number | null
  reason: string
  /** Id (hex) and author key (hex) of the record that set it. */
  id: string
  by: string
  /** unlock-once: a board has performed it (its access event names this override). */
  done: boolean
}

export type AlertType = 'forced' | 'held-open'

export interface Alert {
  door: string
  type: AlertType
  /** Board time (epoch ms) the alert was raised. */
  at: number
  by: string
}

export const doorKey = (door: string) => `door-access/door/${door}`
export const scheduleKey = (name: string) => `door-access/schedule/${name}`
export const holidayKey = (date: string) => `door-access/holiday/${date}`
export const overrideKey = (door: string, kind: OverrideKind) => `door-access/override/${door}/${kind}`
export const alertKey = (door: string, type: AlertType) => `door-access/alert/${door}/${type}`

/** A configured door (not removed), or undefined. */
export function getDoor(state: StateView, door: string): Door | undefined {
  const d = state.get<Door>(doorKey(door))
  return d && !d.removed ? d : undefined
}

/** The override of `kind` on `door` in force at `now` (epoch ms), or undefined. */
export function activeOverride(
  state: StateView,
  door: string,
  kind: OverrideKind,
  now: number,
): Override | undefined {
  const o = state.get<Override>(overrideKey(door, kind))
  if (!o || (o.until !== null && now >= o.until)) return undefined
  if (kind === 'unlock-once' && o.done) return undefined
  return o
}
