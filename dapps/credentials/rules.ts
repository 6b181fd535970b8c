/**
 * The shape of credentials record bodies, as pure checks returning the first problem as a
 * sentence (or null); the validators, the CLI and the enrolment machine share them.
 */
import { parseCredentialText } from '../../devices/readers/credential.ts'
import { hasControl, idProblem } from '../membership/rules.ts'
import type { Badge } from './model.ts'

export type RevokedStatus = Exclude<Badge['status'], 'active'>
export const REVOKED_STATUSES: readonly RevokedStatus[] = ['lost', 'stolen', 'revoked']
export const MAX_REASON = 256
/** Reader names as the hardware config spells them. */
export const READER_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

export interface BindBody {
  badge: string
  member: string
  /** Device-signed binds (enrolment at a reader): the staff member who vouched for the badge. */
  enrolledBy?: string
  /** Device-signed binds: the reader the badge was presented at. */
  reader?: string
}
export interface RevokeBody {
  badge: string
  status: RevokedStatus
  reason: string
}
export interface ExpectBody {
  member: string
  reader: string | null
}
export interface UnexpectBody {
  member: string
}

const U32 = 0xffff_ffff

const isObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x) && !(x instanceof Uint8Array)

function keysProblem(
  body: Record<string, unknown>,
  required: string[],
  optional: string[] = [],
): string | null {
  const extra = Object.keys(body).filter((k) => !required.includes(k) && !optional.includes(k))
  if (extra.length > 0) return `unknown field ${extra[0]}`
  const missing = required.filter((k) => !(k in body))
  return missing.length > 0 ? `missing field ${missing[0]}` : null
}

/** A canonical credential id (devices/readers/credential.ts): `em:<decimal>` or `uid:<hex>`. */
export function isBadgeId(id: unknown): boolean {
  if (typeof id !== 'string') return false
  const em = /^em:(0|[1-9][0-9]{0,9})$/.exec(id)
  if (em) return Number(em[1]) <= U32
  return /^uid:([0-9a-f]{8}|[0-9a-f]{14}|[0-9a-f]{20})$/.test(id)
}

export function badgeIdProblem(id: unknown): string | null {
  return isBadgeId(id)
    ? null
    : `badge ${JSON.stringify(id)} is not a canonical credential id (em:<decimal> or uid:<4, 7 or 10 bytes hex>)`
}

/**
 * A badge as an operator types it: the canonical id, or the 10-digit number printed on a
 * 125 kHz fob (`0004335412` → `em:4335412`). Null when it is neither.
 */
export function parseBadgeArg(text: string): string | null {
  const t = text.trim()
  if (isBadgeId(t)) return t
  if (/^uid:[0-9A-Fa-f]+$/.test(t) && isBadgeId(t.toLowerCase())) return t.toLowerCase()
  return parseCredentialText(t, 'dec')?.id ?? null
}

function readerProblem(reader: unknown): string | null {
  return typeof reader === 'string' && READER_PATTERN.test(reader)
    ? null
    : `reader ${JSON.stringify(reader)} must be a reader name (1–64 characters of A-Z, a-z, 0-9, ".", "_" or "-")`
}

function reasonProblem(reason: unknown): string | null {
  return typeof reason === 'string' && reason.length <= MAX_REASON && !hasControl(reason)
    ? null
    : `reason must be at most ${MAX_REASON} characters without control characters`
}

export function bindProblem(body: unknown): string | null {
  if (!isObject(body)) return 'the body must be {badge, member} (and enrolledBy, reader for an enrolment)'
  const b = body as unknown as BindBody
  return (
    keysProblem(body, ['badge', 'member'], ['enrolledBy', 'reader']) ??
    badgeIdProblem(b.badge) ??
    idProblem(b.member, 'member') ??
    ('enrolledBy' in b !== 'reader' in b ? 'enrolledBy and reader go together' : null) ??
    ('enrolledBy' in b ? (idProblem(b.enrolledBy, 'enrolledBy') ?? readerProblem(b.reader)) : null)
  )
}

export function revokeProblem(body: unknown): string | null {
  if (!isObject(body)) return 'the body must be {badge, status, reason}'
  const b = body as unknown as RevokeBody
  return (
    keysProblem(body, ['badge', 'status', 'reason']) ??
    badgeIdProblem(b.badge) ??
    (REVOKED_STATUSES.includes(b.status)
      ? null
      : `status ${JSON.stringify(b.status)} must be one of ${REVOKED_STATUSES.join(', ')}`) ??
    reasonProblem(b.reason)
  )
}

export function expectProblem(body: unknown): string | null {
  if (!isObject(body)) return 'the body must be {member, reader}'
  const b = body as unknown as ExpectBody
  return (
    keysProblem(body, ['member', 'reader']) ??
    idProblem(b.member, 'member') ??
    (b.reader === null ? null : readerProblem(b.reader))
  )
}

export function unexpectProblem(body: unknown): string | null {
  if (!isObject(body)) return 'the body must be {member}'
  return keysProblem(body, ['member']) ?? idProblem((body as unknown as UnexpectBody).member, 'member')
}
