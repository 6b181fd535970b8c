/**
 * `governance.approve` {proposal}: another admin key approves. Rules: body →
 * governance.BAD_BODY; an admin key → governance.NOT_ADMIN; the proposal is held →
 * governance.UNKNOWN_PROPOSAL; this key has not approved it yet (the proposer has) →
 * governance.ALREADY_APPROVED. An approval arriving after the change applied (a concurrent
 * approval from another partition) is recorded and changes nothing.
 */
import {
  type FoldRecord,
  type RecordTypeHandlers,
  reject,
  type StateView,
  type StateWriter,
} from '../contract.ts'
import { applyIfReady } from './apply.ts'
import { type ApproveBody, isRejection, parseApprove } from './body.ts'
import { type Proposal, proposalKey } from './model.ts'
import { requireAdmin } from './propose.ts'

function validate(r: FoldRecord<ApproveBody>, state: StateView) {
  const b = parseApprove(r.body, r.type)
  if (isRejection(b)) return b
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

function reduce(r: FoldRecord<ApproveBody>, state: StateWriter) {
  const p = state.get<Proposal>(proposalKey(r.body.proposal))!
  applyIfReady(state, { ...p, approvals: [...p.approvals, r.authorHex] }, r.hlc.ms)
}

export const approve: RecordTypeHandlers<ApproveBody> = { validate, reduce }
