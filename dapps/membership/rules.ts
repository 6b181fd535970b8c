/**
 * The shape of membership record bodies, as pure checks that return the first problem as a
 * sentence (or null). The validators use them, and so do the CLI and the CSV import, so an
 * operator hears about a bad field before anything is signed.
 */
import type { Member, MemberStatus } from './model.ts'

export const MEMBER_STATUSES: readonly MemberStatus[] = ['active', 'suspended', 'expired']
/** Member ids and group names: short, lowercase, stable. */
export const ID_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/
export const MAX_NAME = 128
export const MAX_CONTACT = 256
export const MAX_REASON = 256
export const MAX_GROUPS = 32

export interface StatusBody {
  id: string
  status: MemberStatus
  reason: string
}

export interface RenewBody {
  id: string
  expires: string | null
}

/** Whether text holds a control character (C0 or DEL): never part of a name, contact or reason. */
export function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x20 || c === 0x7f) return true
  }
  return false
}

const isObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x) && !(x instanceof Uint8Array)

function exactKeys(body: Record<string, unknown>, keys: readonly string[]): string | null {
  const extra = Object.keys(body).filter((k) => !keys.includes(k))
  if (extra.length > 0) return `unknown field ${extra[0]}`
  const missing = keys.filter((k) => !(k in body))
  if (missing.length > 0) return `missing field ${missing[0]}`
  return null
}

/** A real calendar day written `YYYY-MM-DD`. */
export function isDay(s: unknown): s is string {
  if (typeof s !== 'string' || !/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(s)) return false
  const d = new Date(`${s}T00:00:00Z`)
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s
}

/** A member id; `field` names it in the sentence (`id`, `member`, `enrolledBy`…). */
export function idProblem(id: unknown, field = 'id'): string | null {
  return typeof id === 'string' && ID_PATTERN.test(id)
    ? null
    : `${field} ${JSON.stringify(id)} must be 1–64 characters of a-z, 0-9, ".", "_" or "-", starting with a letter or digit`
}

export function statusValueProblem(status: unknown): string | null {
  return MEMBER_STATUSES.includes(status as MemberStatus)
    ? null
    : `status ${JSON.stringify(status)} must be one of ${MEMBER_STATUSES.join(', ')}`
}

export function expiresProblem(expires: unknown): string | null {
  return expires === null || isDay(expires)
    ? null
    : `expires ${JSON.stringify(expires)} must be a date YYYY-MM-DD or empty`
}

/** The body of `membership.put`: a whole member. */
export function memberProblem(body: unknown): string | null {
  if (!isObject(body)) return 'the body must be a member {id, name, contact, status, expires, groups, staff}'
  const keys = exactKeys(body, ['id', 'name', 'contact', 'status', 'expires', 'groups', 'staff'])
  if (keys) return keys
  const m = body as unknown as Member
  const id = idProblem(m.id)
  if (id) return id
  if (typeof m.name !== 'string' || m.name.trim() === '' || m.name.length > MAX_NAME || hasControl(m.name))
    return `name must be 1–${MAX_NAME} characters without control characters`
  if (
    m.contact !== null &&
    (typeof m.contact !== 'string' ||
      m.contact.trim() === '' ||
      m.contact.length > MAX_CONTACT ||
      hasControl(m.contact))
  )
    return `contact must be empty or 1–${MAX_CONTACT} characters without control characters`
  const status = statusValueProblem(m.status)
  if (status) return status
  const expires = expiresProblem(m.expires)
  if (expires) return expires
  if (!Array.isArray(m.groups)) return 'groups must be a list'
  if (m.groups.length > MAX_GROUPS) return `a member is in at most ${MAX_GROUPS} groups`
  for (const g of m.groups) {
    if (typeof g !== 'string' || !ID_PATTERN.test(g))
      return `group ${JSON.stringify(g)} must be 1–64 characters of a-z, 0-9, ".", "_" or "-"`
  }
  if (new Set(m.groups).size !== m.groups.length) return 'groups must not repeat'
  if (typeof m.staff !== 'boolean') return 'staff must be true or false'
  return null
}

/** The body of `membership.status`. */
export function statusProblem(body: unknown): string | null {
  if (!isObject(body)) return 'the body must be {id, status, reason}'
  const keys = exactKeys(body, ['id', 'status', 'reason'])
  if (keys) return keys
  const b = body as unknown as StatusBody
  return (
    idProblem(b.id) ??
    statusValueProblem(b.status) ??
    (typeof b.reason === 'string' && b.reason.length <= MAX_REASON && !hasControl(b.reason)
      ? null
      : `reason must be at most ${MAX_REASON} characters without control characters`)
  )
}

/** The body of `membership.renew`. */
export function renewProblem(body: unknown): string | null {
  if (!isObject(body)) return 'the body must be {id, expires}'
  const keys = exactKeys(body, ['id', 'expires'])
  if (keys) return keys
  const b = body as unknown as RenewBody
  return idProblem(b.id) ?? expiresProblem(b.expires)
}
