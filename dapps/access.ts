/**
 * What a door and a tool share before each applies its own rule: who is at the reader (the
 * credentials dapp's holder, in good standing with membership) and the site's policy that
 * governance keeps (offline grace and policy, site-wide lockdown):
 *
 *   badge → holder in good standing → offline policy
 *
 * `admitHolder` runs those steps and either admits the member or returns the refusal, ready to be
 * a door's or a tool's decision. What comes after (lockdown, groups, schedules, certifications,
 * the staff override) is each dapp's own rule (door-access/decide.ts, machine-lockout/decide.ts).
 * Policy denies by default: no holder, or an offline board under a closed policy, is a refusal.
 */
import type { StateView } from './contract.ts'
import { type HolderReason, resolveHolder } from './credentials/holder.ts'
import { DEFAULT_POLICY } from './governance/model.ts'
import type { Member } from './membership/model.ts'

export type OfflinePolicy = 'deny-all' | 'admins-only' | 'members-cached'
export const OFFLINE_POLICIES: readonly OfflinePolicy[] = ['deny-all', 'admins-only', 'members-cached']

/** The site policy governance keeps (dapps/governance/model.ts; only the fields read here). */
export interface Policy {
  gracePeriodMs?: number
  offlinePolicy?: OfflinePolicy
  /** Site-wide lockdown: doors and tools admit staff only. */
  lockdown?: boolean
}

/** One default for the whole site: governance's (a policy change never silently changes it). */
export const DEFAULT_GRACE_MS = DEFAULT_POLICY.gracePeriodMs
export const DEFAULT_OFFLINE_POLICY: OfflinePolicy = 'members-cached'
export const POLICY_KEY = 'governance/policy'

/** The offline grace period and policy: governance's policy where set, else the defaults. */
export function offlinePolicy(
  state: StateView,
  fallbackGraceMs = DEFAULT_GRACE_MS,
): { graceMs: number; policy: OfflinePolicy } {
  const p = state.get<Policy>(POLICY_KEY)
  const graceMs =
    typeof p?.gracePeriodMs === 'number' && p.gracePeriodMs >= 0 ? p.gracePeriodMs : fallbackGraceMs
  const policy =
    p?.offlinePolicy && OFFLINE_POLICIES.includes(p.offlinePolicy) ? p.offlinePolicy : DEFAULT_OFFLINE_POLICY
  return { graceMs, policy }
}

/** Governance's site-wide lockdown is on. */
export function siteLockdown(state: StateView): boolean {
  return state.get<Policy>(POLICY_KEY)?.lockdown === true
}

/**
 * Whether a board last synced at `syncedAt` (epoch ms; null = standalone, always in sync) is past
 * the grace period at `now`, and since when.
 */
export function offlineState(
  syncedAt: number | null,
  now: number,
  graceMs: number,
): { offline: boolean; since: number | null } {
  if (syncedAt === null) return { offline: false, since: null }
  const since = syncedAt + graceMs
  return now > since ? { offline: true, since } : { offline: false, since: null }
}

export type OfflineReason = 'offline-deny-all' | 'offline-admins-only'

/**
 * DESIGN "offline bound": past the grace period the offline policy decides first. `deny-all`
 * refuses everyone, `admins-only` everyone but staff; `members-cached` admits on cached state.
 */
export function offlineRefusal(policy: OfflinePolicy, staff: boolean): OfflineReason | null {
  if (policy === 'deny-all') return 'offline-deny-all'
  if (policy === 'admins-only' && !staff) return 'offline-admins-only'
  return null
}

/** The member at the reader, as a decision names them. */
export interface Who {
  member: string
  staff: boolean
}

/** A refusal before any door or tool rule: a decision as it stands (granted false). */
export interface AccessRefusal {
  granted: false
  reason: HolderReason | OfflineReason
  /** The member the badge belongs to, when it was resolved. */
  member?: string
  staff?: boolean
}

export type Admission = { ok: true; member: Member; who: Who } | { ok: false; refusal: AccessRefusal }

/**
 * Badge → holder in good standing (`today` = `YYYY-MM-DD` in the site's time zone) → offline
 * policy (`offline`: the board is past its grace period).
 */
export function admitHolder(
  state: StateView,
  credential: { id: string; bits: number },
  today: string,
  offline: boolean,
): Admission {
  const holder = resolveHolder(state, credential, today)
  if (!holder.ok) {
    const refusal: AccessRefusal = { granted: false, reason: holder.reason }
    if (holder.member) refusal.member = holder.member
    return { ok: false, refusal }
  }
  const { member } = holder
  const who: Who = { member: member.id, staff: member.staff }
  const offlineReason = offline ? offlineRefusal(offlinePolicy(state).policy, member.staff) : null
  if (offlineReason) return { ok: false, refusal: { granted: false, reason: offlineReason, ...who } }
  return { ok: true, member, who }
}
