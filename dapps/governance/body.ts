/**
 * Record bodies of the governance dapp and their shape checks (`governance.BAD_BODY`).
 *
 *   governance.propose {id, change}
 *     change: {kind: 'add-admin', key: <32 bytes>, name}
 *           | {kind: 'remove-admin', key: <32 bytes>}
 *           | {kind: 'grace-period', ms}                      1 minute … 90 days
 *           | {kind: 'lockdown-policy', offlinePolicy, lockdown}
 *           | {kind: 'quorum', n}                             1 … 32
 *   governance.approve {proposal}
 */
import { type Rejection, reject } from '../contract.ts'
import { isRejection } from '../parsed.ts'
import type { Change, OfflinePolicy } from './model.ts'

export interface ApproveBody {
  proposal: string
}

export const PROPOSAL_ID = /^[a-z0-9][a-z0-9._-]{0,63}$/
export const GRACE_MIN_MS = 60_000
export const GRACE_MAX_MS = 90 * 24 * 60 * 60 * 1000
export const QUORUM_MAX = 32
const OFFLINE_POLICIES: readonly OfflinePolicy[] = ['deny-all', 'admins-only', 'members-cached']

const bad = (type: string, what: string) => reject('governance.BAD_BODY', `${type} body ${what}`)
const isMap = (x: unknown): x is Record<string, unknown> =>
  !!x && typeof x === 'object' && !Array.isArray(x) && !(x instanceof Uint8Array)
const only = (x: Record<string, unknown>, keys: readonly string[]) =>
  Object.keys(x).every((k) => keys.includes(k))
const isKey = (x: unknown): x is Uint8Array => x instanceof Uint8Array && x.length === 32
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

/** A proposal's id and its change, normalised as state holds it. */
export interface ParsedProposal {
  id: string
  change: Change
}

export function parsePropose(body: unknown, type = 'governance.propose'): ParsedProposal | Rejection {
  if (!isMap(body) || !only(body, ['id', 'change'])) return bad(type, 'must be {id, change}')
  if (typeof body.id !== 'string' || !PROPOSAL_ID.test(body.id))
    return bad(type, 'id must be [a-z0-9][a-z0-9._-]{0,63}')
  const c = body.change
  if (!isMap(c)) return bad(type, 'change must be a map with a kind')
  const change = parseChange(c, type)
  return isRejection(change) ? change : { id: body.id, change }
}

function parseChange(c: Record<string, unknown>, type: string): Change | Rejection {
  switch (c.kind) {
    case 'add-admin':
      if (!only(c, ['kind', 'key', 'name'])) return bad(type, 'add-admin change must be {kind, key, name}')
      if (!isKey(c.key)) return bad(type, 'add-admin key must be 32 bytes')
      if (typeof c.name !== 'string' || c.name.length < 1 || c.name.length > 128)
        return bad(type, 'add-admin name must be 1–128 characters')
      return { kind: 'add-admin', key: hex(c.key), name: c.name }
    case 'remove-admin':
      if (!only(c, ['kind', 'key'])) return bad(type, 'remove-admin change must be {kind, key}')
      if (!isKey(c.key)) return bad(type, 'remove-admin key must be 32 bytes')
      return { kind: 'remove-admin', key: hex(c.key) }
    case 'grace-period':
      if (!only(c, ['kind', 'ms'])) return bad(type, 'grace-period change must be {kind, ms}')
      if (!Number.isSafeInteger(c.ms) || (c.ms as number) < GRACE_MIN_MS || (c.ms as number) > GRACE_MAX_MS)
        return bad(type, `grace-period ms must be an integer from ${GRACE_MIN_MS} to ${GRACE_MAX_MS}`)
      return { kind: 'grace-period', ms: c.ms as number }
    case 'lockdown-policy':
      if (!only(c, ['kind', 'offlinePolicy', 'lockdown']))
        return bad(type, 'lockdown-policy change must be {kind, offlinePolicy, lockdown}')
      if (!OFFLINE_POLICIES.includes(c.offlinePolicy as OfflinePolicy))
        return bad(type, `offlinePolicy must be one of ${OFFLINE_POLICIES.join(', ')}`)
      if (typeof c.lockdown !== 'boolean') return bad(type, 'lockdown must be true or false')
      return {
        kind: 'lockdown-policy',
        offlinePolicy: c.offlinePolicy as OfflinePolicy,
        lockdown: c.lockdown,
      }
    case 'quorum':
      if (!only(c, ['kind', 'n'])) return bad(type, 'quorum change must be {kind, n}')
      if (!Number.isSafeInteger(c.n) || (c.n as number) < 1 || (c.n as number) > QUORUM_MAX)
        return bad(type, `quorum n must be an integer from 1 to ${QUORUM_MAX}`)
      return { kind: 'quorum', n: c.n as number }
    default:
      return bad(type, 'change kind must be add-admin, remove-admin, grace-period, lockdown-policy or quorum')
  }
}

export function parseApprove(body: unknown, type = 'governance.approve'): ApproveBody | Rejection {
  if (!isMap(body) || !only(body, ['proposal'])) return bad(type, 'must be {proposal}')
  if (typeof body.proposal !== 'string' || !PROPOSAL_ID.test(body.proposal))
    return bad(type, 'proposal must be a proposal id')
  return { proposal: body.proposal }
}
