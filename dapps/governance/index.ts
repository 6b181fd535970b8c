/**
 * The governance dapp: sensitive changes (admins added or removed, the offline grace period,
 * the site-wide lockdown policy, the quorum itself) need m-of-n admin signatures, collected as
 * separate signed records. README.md states the rules; model.ts is the state others read.
 *
 * Records: `governance.propose` (propose.ts), `governance.approve` (approve.ts).
 * Queries:  `policy` → the policy in force; `proposals` {status?} → proposals, by id.
 */

import { govErrors } from '../../runtime/core/errors/index.ts'
import type { Dapp } from '../contract.ts'
import { approve } from './approve.ts'
import { getPolicy, POLICY_KEY, PROPOSAL_PREFIX, type Proposal } from './model.ts'
import { propose } from './propose.ts'

export { adminDecision, getPolicy } from './model.ts'

export const governance: Dapp = {
  name: 'governance',
  version: '1.0.0',
  types: ['governance.propose', 'governance.approve'],
  records(ctx) {
    ctx.recordType('governance.propose', propose)
    ctx.recordType('governance.approve', approve)
  },
  start(ctx) {
    ctx.query('policy', (_params, state) => ({ ...getPolicy(state), set: state.has(POLICY_KEY) }))
    ctx.query('proposals', (params, state) => {
      const status = params.status
      if (status !== undefined && status !== 'pending' && status !== 'applied')
        throw govErrors.QUERY('proposals', 'status must be pending or applied')
      const all = state.list<Proposal>(PROPOSAL_PREFIX).map(([, p]) => p)
      return { proposals: status ? all.filter((p) => p.status === status) : all }
    })
  },
}
