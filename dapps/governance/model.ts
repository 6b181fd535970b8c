/**
 * Governance state, as other dapps read it. State keys (written only by the governance dapp):
 *   governance/policy                  → Policy          (absent until a change is applied:
 *                                                         read it with getPolicy())
 *   governance/proposal/<id>           → Proposal
 *   governance/admins-approved/<key>   → AdminDecision   (the last approved add/remove of an
 *                                                         admin key, key in lower-case hex)
 */
import type { StateView } from '../contract.ts'

export type OfflinePolicy = 'deny-all' | 'admins-only' | 'members-cached'

export interface Policy {
  /** Distinct admin keys that must approve a sensitive change (the proposer counts as one). */
  quorum: number
  /** A board that has not synced for longer than this falls back to `offlinePolicy`. */
  gracePeriodMs: number
  offlinePolicy: OfflinePolicy
  /** Site-wide lockdown: doors and tools admit admins/staff only, whatever else says. */
  lockdown: boolean
}

export const DEFAULT_POLICY: Readonly<Policy> = Object.freeze({
  quorum: 1,
  gracePeriodMs: 24 * 60 * 60 * 1000,
  offlinePolicy: 'members-cached',
  lockdown: false,
})

/** A change as held in state (keys as lower-case hex). */
export type Change =
  | { kind: 'add-admin'; key: string; name: string }
  | { kind: 'remove-admin'; key: string }
  | { kind: 'grace-period'; ms: number }
  | { kind: 'lockdown-policy'; offlinePolicy: OfflinePolicy; lockdown: boolean }
  | { kind: 'quorum'; n: number }

export interface Proposal {
  id: string
  change: Change
  /** Key (hex) of the proposing admin. */
  proposer: string
  /** HLC ms of the proposal record. */
  proposedAt: number
  /** Distinct admin keys (hex) that approved, in fold order; the proposer first. */
  approvals: string[]
  status: 'pending' | 'applied'
  /** HLC ms of the record that brought the quorum, or null. */
  appliedAt: number | null
}

export interface AdminDecision {
  key: string
  action: 'add' | 'remove'
  /** The name an added admin is to be enrolled under; null for a removal. */
  name: string | null
  proposal: string
  at: number
}

export const POLICY_KEY = 'governance/policy'
export const PROPOSAL_PREFIX = 'governance/proposal/'
export const ADMINS_APPROVED_PREFIX = 'governance/admins-approved/'
export const proposalKey = (id: string) => PROPOSAL_PREFIX + id
export const adminDecisionKey = (keyHex: string) => ADMINS_APPROVED_PREFIX + keyHex

/** The policy in force: the applied settings, or the defaults where none was ever set. */
export function getPolicy(state: StateView): Policy {
  return { ...DEFAULT_POLICY, ...state.get<Policy>(POLICY_KEY) }
}

/** The last approved decision about admin key `keyHex`, if any. */
export function adminDecision(state: StateView, keyHex: string): AdminDecision | undefined {
  return state.get<AdminDecision>(adminDecisionKey(keyHex))
}
