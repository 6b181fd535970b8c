/**
 * The tool decision, pure and in memory like the door's:
 *
 *   badge → member → offline policy → staff override → site lockdown → certification
 *
 * Staff enable any tool (the override); everyone else needs a certification for the tool or
 * its class (dapps/certifications/model.ts) valid on the site's local date.
 */
import { admitHolder, type OfflineReason, siteLockdown } from '../access.ts'
import { isCertified } from '../certifications/model.ts'
import type { StateView } from '../contract.ts'
import type { HolderReason } from '../credentials/holder.ts'
import { localDate } from '../door-access/local-time.ts'

export type ToolReason = 'certified' | 'staff' | HolderReason | OfflineReason | 'lockdown' | 'not-certified'

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
  // The shared steps (dapps/access.ts): a holder in good standing, then the offline policy.
  const admitted = admitHolder(state, input.credential, today, input.offline)
  if (!admitted.ok) return admitted.refusal
  const { member, who } = admitted
  if (member.staff) return { granted: true, reason: 'staff', ...who }
  // Governance's site-wide lockdown: tools admit staff only (a running session is not cut).
  if (siteLockdown(state)) return { granted: false, reason: 'lockdown', ...who }
  if (isCertified(state, member.id, input.tool, input.toolClass, today))
    return { granted: true, reason: 'certified', ...who }
  return { granted: false, reason: 'not-certified', ...who }
}
