/**
 * The membership dapp: who the members are (name, contact, status, expiry, groups, staff flag).
 * Every change is admin-signed. State layout: ./model.ts. Rules and bodies: ./README.md.
 *
 * Merge rule (DESIGN "Ledger and merge": last-writer-wins only for plain settings):
 *   - records apply in the fold's total order (HLC, then id); a later record overwrites the
 *     fields it carries;
 *   - except that a suspension is lifted only by an explicit `membership.status`: neither a
 *     `membership.put` nor a `membership.renew` lifts it, wherever they sort. So a suspension and
 *     a concurrent renewal or edit give a suspended member on every node, in either order.
 */

import { memberErrors } from '../../runtime/core/errors/index.ts'
import type { Dapp, FoldRecord, Rejection, StateView, StateWriter } from '../contract.ts'
import { reject } from '../contract.ts'
import { getMember, type Member, memberKey, type StatusNote, statusNoteKey } from './model.ts'
import {
  idProblem,
  memberProblem,
  type RenewBody,
  renewProblem,
  type StatusBody,
  statusProblem,
} from './rules.ts'

export const MEMBERSHIP_TYPES = ['membership.put', 'membership.status', 'membership.renew'] as const

/** Reason codes of rejected membership records (stable; never reused). */
export const MembershipReason = {
  NOT_ADMIN: 'membership.NOT_ADMIN',
  BAD_BODY: 'membership.BAD_BODY',
  UNKNOWN_MEMBER: 'membership.UNKNOWN_MEMBER',
} as const

function requireAdmin(r: FoldRecord): Rejection | null {
  return r.role === 'admin'
    ? null
    : reject(
        MembershipReason.NOT_ADMIN,
        `${r.type} needs an admin key; ${r.authorHex.slice(0, 16)}… is ${r.role}`,
      )
}

function badBody(r: FoldRecord, problem: string | null): Rejection | null {
  return problem ? reject(MembershipReason.BAD_BODY, `${r.type}: ${problem}`) : null
}

function requireMember(r: FoldRecord, state: StateView, id: string): Rejection | null {
  return getMember(state, id)
    ? null
    : reject(MembershipReason.UNKNOWN_MEMBER, `${r.type}: there is no member ${id}`)
}

/** The validators, by type: pure functions of (record, state). */
export const membershipValidators = {
  'membership.put': (r: FoldRecord<Member>) => requireAdmin(r) ?? badBody(r, memberProblem(r.body)),
  'membership.status': (r: FoldRecord<StatusBody>, state: StateView) =>
    requireAdmin(r) ?? badBody(r, statusProblem(r.body)) ?? requireMember(r, state, r.body.id),
  'membership.renew': (r: FoldRecord<RenewBody>, state: StateView) =>
    requireAdmin(r) ?? badBody(r, renewProblem(r.body)) ?? requireMember(r, state, r.body.id),
}

function putMember(r: FoldRecord<Member>, state: StateWriter): void {
  const b = r.body
  const old = getMember(state, b.id)
  // A put does not lift a suspension (only membership.status does): see the merge rule above.
  const status = old?.status === 'suspended' ? 'suspended' : b.status
  state.put(memberKey(b.id), {
    id: b.id,
    name: b.name,
    contact: b.contact,
    status,
    expires: b.expires,
    groups: [...b.groups],
    staff: b.staff,
  } satisfies Member)
}

function setStatus(r: FoldRecord<StatusBody>, state: StateWriter): void {
  const m = getMember(state, r.body.id)!
  state.put(memberKey(m.id), { ...m, status: r.body.status } satisfies Member)
  state.put(statusNoteKey(m.id), {
    status: r.body.status,
    reason: r.body.reason,
    by: r.authorHex,
    at: r.hlc.ms,
  } satisfies StatusNote)
}

function renew(r: FoldRecord<RenewBody>, state: StateWriter): void {
  const m = getMember(state, r.body.id)!
  // Renewal ends an expiry, never a suspension.
  const status = m.status === 'expired' ? 'active' : m.status
  state.put(memberKey(m.id), { ...m, status, expires: r.body.expires } satisfies Member)
}

/** Members in id order, optionally only those in `group`. */
export function listMembers(state: StateView, group?: string): Member[] {
  const all = state.list<Member>('membership/member/').map(([, m]) => m)
  return group ? all.filter((m) => m.groups.includes(group)) : all
}

export const membership: Dapp = {
  name: 'membership',
  version: '1.0.0',
  types: MEMBERSHIP_TYPES,
  records(ctx) {
    ctx.recordType<Member>('membership.put', {
      validate: membershipValidators['membership.put'],
      reduce: putMember,
    })
    ctx.recordType<StatusBody>('membership.status', {
      validate: membershipValidators['membership.status'],
      reduce: setStatus,
    })
    ctx.recordType<RenewBody>('membership.renew', {
      validate: membershipValidators['membership.renew'],
      reduce: renew,
    })
  },
  start(ctx) {
    ctx.query('member', (params, state) => {
      const id = params.id ?? ''
      const problem = idProblem(id)
      if (problem) throw memberErrors.INVALID(problem)
      const member = getMember(state, id)
      if (!member) throw memberErrors.UNKNOWN(id)
      return { ...member, lastStatusChange: state.get<StatusNote>(statusNoteKey(id)) ?? null }
    })
    ctx.query('members', (params, state) => ({ members: listMembers(state, params.group || undefined) }))
  },
}
