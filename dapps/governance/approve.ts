/**
 * `governance.approve` {proposal}: another admin key approves. Rules: body →
 * governance.BAD_BODY; an admin key → governance.NOT_ADMIN; the proposal is held →
 * governance.UNKNOWN_PROPOSAL; this key has not approved it yet (the proposer has) →
 * governance.ALREADY_APPROVED. An approval arriving after the change applied (a concurrent
 * approval from another partition) is recorded and changes nothing.
 */
import { type FoldRecord, reject, type StateView, type StateWriter } from '../contract.ts'
import { parsedRecord } from '../parsed.ts'
import { applyIfReady } from './apply.ts'
import { type ApproveBody, parseApprove } from './body.ts'
import { type Proposal, proposalKey } from './model.ts'
import { requireAdmin } from './propose.ts'

function validate(r: FoldRecord<ApproveBody>, b: ApproveBody, state: StateView) {
  const admin = requireAdmin(r)
  if (admin) return admin
  const p = state.get<Proposal>(proposalKey(b.proposal))
  if (!p) return reject('governance.UNKNOWN_PROPOSAL', `no proposal named ${b.proposal}`)
  if (p.approvals.includes(r.authorHex))
    return reject(
      'governance.ALREADY_APPROVED',
      `key ${r.authorHex.slice(0, 16)}… already approved ${b.proposal}`,
    )
  return null
}

function reduce(r: FoldRecord<ApproveBody>, b: ApproveBody, state: StateWriter) {
  const p = state.get<Proposal>(proposalKey(b.proposal))!
  applyIfReady(state, { ...p, approvals: [...p.approvals, r.authorHex] }, r.hlc.ms)
}

export const approve = parsedRecord(parseApprove, { validate, reduce })
