/**
 * `governance.propose` {id, change}: an admin proposes a sensitive change, and approves it by
 * proposing. Rules: body → governance.BAD_BODY; an admin key → governance.NOT_ADMIN; a new id →
 * governance.PROPOSAL_EXISTS; add-admin of a key already an admin → governance.ALREADY_ADMIN;
 * remove-admin of a key that is not → governance.UNKNOWN_ADMIN; a quorum above the number of
 * admins → governance.QUORUM_UNREACHABLE. With a quorum of 1 the change applies at once.
 */
import { type FoldRecord, reject, type StateView, type StateWriter } from '../contract.ts'
import { parsedRecord } from '../parsed.ts'
import { activeAdmins, applyIfReady } from './apply.ts'
import { type ParsedProposal, parsePropose } from './body.ts'
import { type Proposal, proposalKey } from './model.ts'

export function requireAdmin(r: FoldRecord) {
  return r.role === 'admin'
    ? null
    : reject(
        'governance.NOT_ADMIN',
        `${r.type} needs an admin key; ${r.authorHex.slice(0, 16)}… is ${r.role}`,
      )
}

function validate(r: FoldRecord<ParsedProposal>, b: ParsedProposal, state: StateView) {
  const admin = requireAdmin(r)
  if (admin) return admin
  if (state.has(proposalKey(b.id)))
    return reject('governance.PROPOSAL_EXISTS', `a proposal named ${b.id} exists already`)
  const c = b.change
  const admins = activeAdmins(state)
  if (c.kind === 'add-admin' && admins.includes(c.key))
    return reject('governance.ALREADY_ADMIN', `key ${c.key.slice(0, 16)}… is an admin already`)
  if (c.kind === 'remove-admin' && !admins.includes(c.key))
    return reject('governance.UNKNOWN_ADMIN', `key ${c.key.slice(0, 16)}… is not an admin of this site`)
  if (c.kind === 'quorum' && c.n > admins.length)
    return reject(
      'governance.QUORUM_UNREACHABLE',
      `a quorum of ${c.n} needs at least ${c.n} admins; the site has ${admins.length}`,
    )
  return null
}

function reduce(r: FoldRecord<ParsedProposal>, b: ParsedProposal, state: StateWriter) {
  const p: Proposal = {
    id: b.id,
    change: b.change,
    proposer: r.authorHex,
    proposedAt: r.hlc.ms,
    approvals: [r.authorHex],
    status: 'pending',
    appliedAt: null,
  }
  applyIfReady(state, p, r.hlc.ms)
}

export const propose = parsedRecord(parsePropose, { validate, reduce })
