/**
 * Who may grant and revoke. Members have no keys: a trainer signs off at a tool's reader, and
 * the board's device key signs the record naming the trainer and carrying the badge reads
 * (signoff.ts; the grant's rules are in grant.ts); an admin key may sign on its own authority.
 */
import { type FoldRecord, type Rejection, reject, type StateView } from '../contract.ts'
import { getMember, isActive } from '../membership/model.ts'
import { type Certification, certKey } from './model.ts'

/**
 * `trainer` may sign off `tool` on `day`: an active member holding that very certification
 * (same tool id or class), unexpired, with trainer rights.
 */
export function checkTrainer(state: StateView, trainer: string, tool: string, day: string): Rejection | null {
  const m = getMember(state, trainer)
  if (!m) return reject('certifications.UNKNOWN_MEMBER', `trainer ${trainer} is not a member`)
  if (!isActive(m, day))
    return reject('certifications.NOT_TRAINER', `trainer ${trainer} is not an active member on ${day}`)
  const c = state.get<Certification>(certKey(trainer, tool))
  if (!c?.trainer)
    return reject('certifications.NOT_TRAINER', `${trainer} holds no trainer certification for ${tool}`)
  if (c.expires !== null && c.expires < day)
    return reject(
      'certifications.NOT_TRAINER',
      `${trainer}'s certification for ${tool} expired on ${c.expires}`,
    )
  return null
}

/** The signer's side of a revocation: an admin key may act alone; any other key (a board) must name a trainer. */
export function checkSigner(r: FoldRecord, trainer: string | null): Rejection | null {
  if (r.role === 'admin' || trainer !== null) return null
  return reject(
    'certifications.NOT_TRAINER',
    `${r.type} signed by a ${r.role} key must name the trainer who signs it off`,
  )
}
