/**
 * The tool decision, pure and in memory like the door's:
 *
 *   badge → member → offline policy → staff override → site lockdown → certification
 *
 * Staff enable any tool (the override); everyone else needs a certification for the tool or
 * its class (dapps/certifications/model.ts) valid on the site's local date.
 */
import { isCertified } from '../certifications/model.ts'
import type { StateView } from '../contract.ts'
import { type HolderReason, resolveHolder } from '../door-access/decide.ts'
import { localDate } from '../door-access/local-time.ts'
import { offlinePolicy, siteLockdown } from '../door-access/model.ts'

export type ToolReason =
  | 'certified'
  | 'staff'
  | HolderReason
  | 'offline-deny-all'
  | 'offline-admins-only'
  | 'lockdown'
  | 'not-certified'

export interface ToolDecideInput {
  tool: string
  toolClass: string | null
  credential: { id: string; bits: number }
  /** Board wall time, epoch ms. */
  now: number
  tz: string
  offline: boolean
}

export interface ToolDecision {
  granted: boolean
  reason: ToolReason
  member?: string
  staff?: boolean
}

export function decideTool(state: StateView, input: ToolDecideInput): ToolDecision {
  const today = localDate(input.now, input.tz)
  const holder = resolveHolder(state, input.credential, today)
  if (!holder.ok)
    return { granted: false, reason: holder.reason, ...(holder.member ? { member: holder.member } : {}) }
  const { member } = holder
  const who = { member: member.id, staff: member.staff }
  if (input.offline) {
    const { policy } = offlinePolicy(state)
    if (policy === 'deny-all') return { granted: false, reason: 'offline-deny-all', ...who }
    if (policy === 'admins-only' && !member.staff)
      return { granted: false, reason: 'offline-admins-only', ...who }
  }
  if (member.staff) return { granted: true, reason: 'staff', ...who }
  // Governance's site-wide lockdown: tools admit staff only (a running session is not cut).
  if (siteLockdown(state)) return { granted: false, reason: 'lockdown', ...who }
  if (isCertified(state, member.id, input.tool, input.toolClass, today))
    return { granted: true, reason: 'certified', ...who }
  return { granted: false, reason: 'not-certified', ...who }
}
