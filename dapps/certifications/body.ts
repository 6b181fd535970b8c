/**
 * Record bodies of the certifications dapp and their shape checks. A body that fails a check is
 * rejected `certifications.BAD_BODY` with a sentence naming the field.
 */
import { type Rejection, reject } from '../contract.ts'
import { isRejection } from '../parsed.ts'
import { type Signoff, signoffProblem } from './signoff.ts'

/** `certifications.grant`: certify `member` for `tool`, signed off by `trainer`. */
export interface GrantBody {
  member: string
  /** A tool id (`laser-1`) or a tool class (`class:laser`). */
  tool: string
  /** The member (trainer) who signed it off; null only for an admin granting on its own authority. */
  trainer: string | null
  /**
   * The badge reads of the in-person sign-off at a tool's reader (signoff.ts); required when a
   * board (device key) signs, null for an admin's grant.
   */
  signoff: Signoff | null
  /** The new holder may train and grant this certification (admin-signed grants only). */
  canTrain: boolean
  /** Last valid day, `YYYY-MM-DD`, or null. */
  expires: string | null
  /**
   * Ids (hex) of the revocations of this member's certification for this tool that the signer
   * had seen: the grant overrides exactly these, and is cancelled by any other (README.md).
   */
  after: string[]
}

/** `certifications.revoke`: withdraw `member`'s certification for `tool`. */
export interface RevokeBody {
  member: string
  tool: string
  reason: string
  /** The trainer revoking at a tool's board (device-signed); null when an admin signs. */
  trainer: string | null
}

export const MEMBER_ID = /^[a-z0-9][a-z0-9._-]{0,63}$/
export const TOOL_ID = /^(class:)?[a-z0-9][a-z0-9._-]{0,63}$/
const RECORD_ID = /^[0-9a-f]{64}$/
const MAX_AFTER = 64

/** A calendar date `YYYY-MM-DD` that exists. */
export function isDay(x: unknown): x is string {
  if (typeof x !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(x)) return false
  const d = new Date(`${x}T00:00:00Z`)
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === x
}

/** The UTC day of a record clock: the only "today" a validator may use. */
export function dayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10)
}

const bad = (type: string, what: string) => reject('certifications.BAD_BODY', `${type} body ${what}`)

function fields(
  body: unknown,
  type: string,
  allowed: readonly string[],
): Record<string, unknown> | Rejection {
  if (!body || typeof body !== 'object' || Array.isArray(body) || body instanceof Uint8Array)
    return bad(type, 'must be a map')
  const extra = Object.keys(body).filter((k) => !allowed.includes(k))
  if (extra.length > 0) return bad(type, `has unknown field ${extra[0]} (allowed: ${allowed.join(', ')})`)
  return body as Record<string, unknown>
}

function memberAndTool(b: Record<string, unknown>, type: string): Rejection | null {
  if (typeof b.member !== 'string' || !MEMBER_ID.test(b.member))
    return bad(type, 'member must be a member id ([a-z0-9][a-z0-9._-]{0,63})')
  if (typeof b.tool !== 'string' || !TOOL_ID.test(b.tool))
    return bad(type, 'tool must be a tool id or class:<name>')
  return null
}

function trainerField(b: Record<string, unknown>, type: string): string | null | Rejection {
  const t = b.trainer ?? null
  if (t !== null && (typeof t !== 'string' || !MEMBER_ID.test(t)))
    return bad(type, 'trainer must be a member id or null')
  return t
}

export function parseGrant(body: unknown, type = 'certifications.grant'): GrantBody | Rejection {
  const b = fields(body, type, ['member', 'tool', 'trainer', 'canTrain', 'expires', 'after', 'signoff'])
  if (isRejection(b)) return b
  const mt = memberAndTool(b, type)
  if (mt) return mt
  const trainer = trainerField(b, type)
  if (isRejection(trainer)) return trainer
  const canTrain = b.canTrain ?? false
  if (typeof canTrain !== 'boolean') return bad(type, 'canTrain must be true or false')
  const expires = b.expires ?? null
  if (expires !== null && !isDay(expires)) return bad(type, 'expires must be a date YYYY-MM-DD or null')
  const after = b.after ?? []
  if (
    !Array.isArray(after) ||
    after.length > MAX_AFTER ||
    !after.every((x) => typeof x === 'string' && RECORD_ID.test(x)) ||
    new Set(after).size !== after.length
  )
    return bad(type, `after must be a list of at most ${MAX_AFTER} distinct record ids (hex)`)
  const signoff = b.signoff ?? null
  if (signoff !== null) {
    const problem = signoffProblem(signoff)
    if (problem) return bad(type, problem)
    if (trainer === null) return bad(type, 'with a signoff must name the trainer')
  }
  return {
    member: b.member as string,
    tool: b.tool as string,
    trainer,
    signoff: signoff as Signoff | null,
    canTrain,
    expires,
    after: after as string[],
  }
}

export function parseRevoke(body: unknown, type = 'certifications.revoke'): RevokeBody | Rejection {
  const b = fields(body, type, ['member', 'tool', 'reason', 'trainer'])
  if (isRejection(b)) return b
  const mt = memberAndTool(b, type)
  if (mt) return mt
  if (typeof b.reason !== 'string' || b.reason.length < 1 || b.reason.length > 256)
    return bad(type, 'reason must be 1–256 characters')
  const trainer = trainerField(b, type)
  if (isRejection(trainer)) return trainer
  return { member: b.member as string, tool: b.tool as string, reason: b.reason, trainer }
}
