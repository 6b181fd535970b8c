/**
 * Applying approved changes. A proposal applies in the fold step of the record that brings its
 * distinct admin approvals to the quorum in force at that point. Lowering the quorum applies,
 * in proposal id order, every pending proposal that already has enough approvals.
 */
import type { StateView, StateWriter } from '../contract.ts'
import {
  adminDecisionKey,
  getPolicy,
  POLICY_KEY,
  PROPOSAL_PREFIX,
  type Proposal,
  proposalKey,
} from './model.ts'

/** Admin keys (hex) enrolled and not cut at this point of the fold. */
export function activeAdmins(state: StateView): string[] {
  return state
    .list<{ role: string }>('site/key/')
    .filter(([k, v]) => v.role === 'admin' && !state.has(`site/cut/${k.slice('site/key/'.length)}`))
    .map(([k]) => k.slice('site/key/'.length))
}

/** Applies `p` if it is pending and has the quorum; returns whether it did. */
export function applyIfReady(state: StateWriter, p: Proposal, at: number): boolean {
  if (p.status !== 'pending' || p.approvals.length < getPolicy(state).quorum) {
    state.put(proposalKey(p.id), p)
    return false
  }
  state.put(proposalKey(p.id), { ...p, status: 'applied', appliedAt: at } satisfies Proposal)
  const c = p.change
  const policy = getPolicy(state)
  switch (c.kind) {
    case 'grace-period':
      state.put(POLICY_KEY, { ...policy, gracePeriodMs: c.ms })
      break
    case 'lockdown-policy':
      state.put(POLICY_KEY, { ...policy, offlinePolicy: c.offlinePolicy, lockdown: c.lockdown })
      break
    case 'quorum':
      state.put(POLICY_KEY, { ...policy, quorum: c.n })
      sweep(state, at)
      break
    case 'add-admin':
      state.put(adminDecisionKey(c.key), { key: c.key, action: 'add', name: c.name, proposal: p.id, at })
      break
    case 'remove-admin':
      state.put(adminDecisionKey(c.key), { key: c.key, action: 'remove', name: null, proposal: p.id, at })
      break
  }
  return true
}

/** After the quorum changed: apply pending proposals that now have it, in id order. */
function sweep(state: StateWriter, at: number): void {
  for (const [, p] of state.list<Proposal>(PROPOSAL_PREFIX)) {
    // Re-read: an earlier proposal applied in this sweep may have changed the quorum again.
    const current = state.get<Proposal>(proposalKey(p.id))!
    if (current.status === 'pending') applyIfReady(state, current, at)
  }
}
