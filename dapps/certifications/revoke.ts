/**
 * `certifications.revoke` {member, tool, reason, trainer}
 *
 * Rules: body shape → certifications.BAD_BODY; a board's revocation names a trainer for the
 * tool → certifications.NOT_TRAINER; a named trainer is a trainer → NOT_TRAINER / UNKNOWN_MEMBER.
 * A revocation needs no grant to exist at its position and no known member: it is a tombstone
 * that also cancels a concurrent grant sorting after it (README.md, "Revocation beats a
 * concurrent grant").
 */
import type { FoldRecord, StateView, StateWriter } from '../contract.ts'
import { parsedRecord } from '../parsed.ts'
import { checkSigner, checkTrainer } from './authority.ts'
import { dayOf, parseRevoke, type RevokeBody } from './body.ts'
import { type RevokeEntry, revokeKey, settle } from './state.ts'

function validate(r: FoldRecord<RevokeBody>, b: RevokeBody, state: StateView) {
  const signer = checkSigner(r, b.trainer)
  if (signer) return signer
  if (b.trainer !== null) return checkTrainer(state, b.trainer, b.tool, dayOf(r.hlc.ms))
  return null
}

function reduce(r: FoldRecord<RevokeBody>, b: RevokeBody, state: StateWriter) {
  state.put(revokeKey(b.member, b.tool, r.idHex), {
    id: r.idHex,
    hlc: [r.hlc.ms, r.hlc.c],
    member: b.member,
    tool: b.tool,
    by: r.authorHex,
    trainer: b.trainer,
    reason: b.reason,
    admin: r.role === 'admin',
  } satisfies RevokeEntry)
  settle(state, b.member, b.tool)
}

export const revoke = parsedRecord(parseRevoke, { validate, reduce })
