/**
 * `certifications.grant` {member, tool, trainer, signoff, canTrain, expires, after}
 *
 * Rules, in the order they are checked:
 *   body shape                                    → certifications.BAD_BODY
 *   a board's (device key's) grant:
 *     gives no trainer rights                     → certifications.NOT_ADMIN
 *     carries an in-person sign-off               → certifications.NO_SIGNOFF
 *   the member exists                             → certifications.UNKNOWN_MEMBER
 *   the trainer is not the member                 → certifications.NOT_TRAINER
 *   a named trainer is a trainer for the tool     → certifications.NOT_TRAINER / UNKNOWN_MEMBER
 *   a sign-off, whoever signs, holds (signoff.ts) → certifications.SIGNOFF_BADGE / SIGNOFF_WINDOW /
 *                                                   SIGNOFF_CLOCK
 *   a board's grant does not lift (name in `after`) a revocation made with an admin key
 *                                                 → certifications.NOT_ADMIN
 * `after` may name ids that are not (or no longer, after a key's cut) applied revocations: they
 * lift nothing. Ids are hashes, so a grant cannot name a revocation made after it.
 * "On day" means the UTC day of the record's clock: validators have no other clock.
 */
import { type FoldRecord, reject, type StateView, type StateWriter } from '../contract.ts'
import { getMember } from '../membership/model.ts'
import { parsedRecord } from '../parsed.ts'
import { checkTrainer } from './authority.ts'
import { dayOf, type GrantBody, parseGrant } from './body.ts'
import { checkSignoff } from './signoff.ts'
import { type GrantEntry, grantKey, type RevokeEntry, revokeKey, settle } from './state.ts'

function validate(r: FoldRecord<GrantBody>, b: GrantBody, state: StateView) {
  if (r.role !== 'admin') {
    if (b.canTrain) return reject('certifications.NOT_ADMIN', 'only an admin key grants trainer rights')
    // A board's key alone is no trainer: it grants only what a trainer signed off at its reader.
    if (b.signoff === null)
      return reject(
        'certifications.NO_SIGNOFF',
        `${r.type} signed by a ${r.role} key must carry the trainer's in-person sign-off at a reader (signoff)`,
      )
  }
  if (!getMember(state, b.member))
    return reject('certifications.UNKNOWN_MEMBER', `member ${b.member} is not known to the membership dapp`)
  if (b.trainer !== null) {
    if (b.trainer === b.member)
      return reject('certifications.NOT_TRAINER', `${b.member} cannot sign off their own certification`)
    const t = checkTrainer(state, b.trainer, b.tool, dayOf(r.hlc.ms))
    if (t) return t
    if (b.signoff) {
      const s = checkSignoff(state, b.signoff, b.trainer, b.member, r.hlc.ms)
      if (s) return s
    }
  }
  if (r.role !== 'admin') {
    for (const id of b.after) {
      if (state.get<RevokeEntry>(revokeKey(b.member, b.tool, id))?.admin)
        return reject(
          'certifications.NOT_ADMIN',
          `lifting revocation ${id.slice(0, 16)}…, made with an admin key, needs an admin key`,
        )
    }
  }
  return null
}

function reduce(r: FoldRecord<GrantBody>, b: GrantBody, state: StateWriter) {
  state.put(grantKey(b.member, b.tool, r.idHex), {
    id: r.idHex,
    hlc: [r.hlc.ms, r.hlc.c],
    member: b.member,
    tool: b.tool,
    grantedBy: b.trainer ?? `key:${r.authorHex}`,
    signer: r.authorHex,
    expires: b.expires,
    trainer: b.canTrain,
    after: [...b.after].sort(),
  } satisfies GrantEntry)
  settle(state, b.member, b.tool)
}

export const grant = parsedRecord(parseGrant, { validate, reduce })
