/**
 * The `site` dapp: authority records. It is part of the ledger core because every other
 * record is judged against it.
 *
 * - `site.genesis` {name, admins: [key…]}: the first record of a site; its id is the site id.
 * - `site.enrol`   {key, role: "admin" | "device", name}: an admin enrols a key.
 * - `site.revoke`  {key, cut, reason}: an admin revokes a key; the key's records with
 *                  seq > cut are not applied, wherever they sort (revocation beats a
 *                  concurrent grant).
 * - `site.fork`    {a, b}: any enrolled key proves that another key signed two records with the
 *                  same seq; the key is cut at seq - 1.
 */
import type { FoldRecord, LedgerDapp } from './dapp.ts'
import { type Rejection, reject } from './reasons.ts'
import { decodeWire, equalBytes, toHex, verifySignature } from './record.ts'
import type { StateView } from './state.ts'

export type Role = 'admin' | 'device'
export interface KeyInfo {
  role: Role
  name: string
  /** Author and seq of the record that enrolled the key. */
  by: string
  at: number
}
export interface CutInfo {
  cut: number
  reason: string
}
export interface GenesisBody {
  name: string
  admins: Uint8Array[]
}
export interface EnrolBody {
  key: Uint8Array
  role: Role
  name: string
}
export interface RevokeBody {
  key: Uint8Array
  cut: number
  reason: string
}
export interface ForkBody {
  a: Uint8Array
  b: Uint8Array
}

export const SITE_TYPES = ['site.genesis', 'site.enrol', 'site.revoke', 'site.fork'] as const
export const keyStateKey = (hex: string) => `site/key/${hex}`
export const cutStateKey = (hex: string) => `site/cut/${hex}`

const isKey = (x: unknown): x is Uint8Array => x instanceof Uint8Array && x.length === 32
const isName = (x: unknown): x is string => typeof x === 'string' && x.length >= 1 && x.length <= 128
const onlyKeys = (body: object, keys: string[]) => Object.keys(body).every((k) => keys.includes(k))
const bad = (type: string, what: string) => reject('site.BAD_BODY', `${type} body ${what}`)

function requireAdmin(r: FoldRecord): Rejection | null {
  return r.role === 'admin'
    ? null
    : reject('site.NOT_ADMIN', `${r.type} needs an admin key; ${r.authorHex.slice(0, 16)}… is ${r.role}`)
}

/**
 * Checks a fork proof: two signed records by the same author with the same seq and different
 * ids, both for `site`. Returns the author and seq.
 */
export function checkForkProof(
  body: ForkBody,
  site: Uint8Array | null,
): { author: Uint8Array; seq: number } | Rejection {
  try {
    const a = decodeWire(body.a)
    const b = decodeWire(body.b)
    if (!equalBytes(a.author, b.author) || a.seq !== b.seq)
      return reject('site.BAD_FORK', 'fork proof records differ in author or seq')
    if (equalBytes(a.id, b.id)) return reject('site.BAD_FORK', 'fork proof holds the same record twice')
    if (!verifySignature(a) || !verifySignature(b))
      return reject('site.BAD_FORK', 'a fork proof signature does not verify')
    if (site && (!equalBytes(a.site, site) || !equalBytes(b.site, site)))
      return reject('site.BAD_FORK', 'fork proof is for another site')
    return { author: a.author, seq: a.seq }
  } catch (err) {
    return reject('site.BAD_FORK', `fork proof does not decode: ${(err as Error).message}`)
  }
}

export function siteDapp(getSite: () => Uint8Array | null): LedgerDapp {
  return {
    name: 'site',
    version: '1.0.0',
    types: SITE_TYPES,
    setup(ctx) {
      ctx.recordType<GenesisBody>('site.genesis', {
        validate: (r, state) => {
          const b = r.body
          if (!b || typeof b !== 'object' || !onlyKeys(b, ['name', 'admins']))
            return bad(r.type, 'must be {name, admins}')
          if (!isName(b.name)) return bad(r.type, 'name must be 1–128 characters')
          if (!Array.isArray(b.admins) || b.admins.length === 0 || !b.admins.every(isKey))
            return bad(r.type, 'admins must be a non-empty list of keys')
          if (!b.admins.some((k) => equalBytes(k, r.author)))
            return bad(r.type, 'admins must include the author')
          if (state.has('site/info')) return reject('site.GENESIS_EXISTS', 'the site already has a genesis')
          return null
        },
        reduce: (r, state) => {
          state.put('site/info', { name: r.body.name, genesis: r.idHex })
          for (const k of r.body.admins) {
            state.put(keyStateKey(toHex(k)), {
              role: 'admin',
              name: 'genesis admin',
              by: r.authorHex,
              at: r.seq,
            } satisfies KeyInfo)
          }
        },
      })
      ctx.recordType<EnrolBody>('site.enrol', {
        validate: (r, state) => {
          const b = r.body
          if (!b || typeof b !== 'object' || !onlyKeys(b, ['key', 'role', 'name']))
            return bad(r.type, 'must be {key, role, name}')
          if (!isKey(b.key)) return bad(r.type, 'key must be 32 bytes')
          if (b.role !== 'admin' && b.role !== 'device')
            return bad(r.type, 'role must be "admin" or "device"')
          if (!isName(b.name)) return bad(r.type, 'name must be 1–128 characters')
          const admin = requireAdmin(r)
          if (admin) return admin
          const hex = toHex(b.key)
          if (state.has(cutStateKey(hex)))
            return reject(
              'site.KEY_REVOKED',
              `key ${hex.slice(0, 16)}… was revoked and cannot be enrolled again`,
            )
          if (b.role === 'admin') {
            const unapproved = needsApproval(state, hex, 'add')
            if (unapproved) return unapproved
          }
          if (state.has(keyStateKey(hex)))
            return reject('site.ALREADY_ENROLLED', `key ${hex.slice(0, 16)}… is already enrolled`)
          return null
        },
        reduce: (r, state) => {
          state.put(keyStateKey(toHex(r.body.key)), {
            role: r.body.role,
            name: r.body.name,
            by: r.authorHex,
            at: r.seq,
          } satisfies KeyInfo)
        },
      })
      ctx.recordType<RevokeBody>('site.revoke', {
        validate: (r, state) => {
          const b = r.body
          if (!b || typeof b !== 'object' || !onlyKeys(b, ['key', 'cut', 'reason']))
            return bad(r.type, 'must be {key, cut, reason}')
          if (!isKey(b.key)) return bad(r.type, 'key must be 32 bytes')
          if (!Number.isSafeInteger(b.cut) || b.cut < 0) return bad(r.type, 'cut must be an integer ≥ 0')
          if (typeof b.reason !== 'string' || b.reason.length > 256)
            return bad(r.type, 'reason must be a string of at most 256 characters')
          const admin = requireAdmin(r)
          if (admin) return admin
          if (!state.has(keyStateKey(toHex(b.key))))
            return reject('site.UNKNOWN_KEY', 'cannot revoke a key that is not enrolled')
          if (state.get<KeyInfo>(keyStateKey(toHex(b.key)))?.role === 'admin') {
            const unapproved = needsApproval(state, toHex(b.key), 'remove')
            if (unapproved) return unapproved
          }
          return null
        },
        reduce: (r, state) => putCut(state, toHex(r.body.key), r.body.cut, `revoked: ${r.body.reason}`),
      })
      ctx.recordType<ForkBody>('site.fork', {
        validate: (r) => {
          const b = r.body
          if (!b || typeof b !== 'object' || !onlyKeys(b, ['a', 'b'])) return bad(r.type, 'must be {a, b}')
          if (!(b.a instanceof Uint8Array) || !(b.b instanceof Uint8Array))
            return bad(r.type, 'a and b must be signed records')
          const proof = checkForkProof(b, getSite())
          return 'code' in proof ? proof : null
        },
        reduce: (r, state) => {
          const proof = checkForkProof(r.body, getSite()) as { author: Uint8Array; seq: number }
          putCut(state, toHex(proof.author), proof.seq - 1, `forked at seq ${proof.seq}`)
        },
      })
    },
  }
}

/**
 * Adding or removing an admin needs the governance quorum when the site set one above 1: an
 * approved governance proposal for exactly this key and action (dapps/governance; read here by
 * its state keys so the ledger core imports no dapp).
 */
function needsApproval(state: StateView, hex: string, action: 'add' | 'remove'): Rejection | null {
  const quorum = state.get<{ quorum?: number }>('governance/policy')?.quorum ?? 1
  if (quorum <= 1) return null
  if (state.get<{ action?: string }>(`governance/admins-approved/${hex}`)?.action === action) return null
  return reject(
    'site.NOT_APPROVED',
    `${action === 'add' ? 'enrolling' : 'revoking'} an admin needs an approved governance proposal (quorum ${quorum})`,
  )
}

function putCut(
  state: StateView & { put(k: string, v: unknown): void },
  hex: string,
  cut: number,
  reason: string,
): void {
  const old = state.get<CutInfo>(cutStateKey(hex))
  if (old && old.cut <= cut) return
  state.put(cutStateKey(hex), { cut, reason } satisfies CutInfo)
}
