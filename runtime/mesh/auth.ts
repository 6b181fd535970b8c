/**
 * MQTT credentials for the embedded broker (docs/PROTOCOL.md, "Broker authentication").
 *
 * username = the client's Ed25519 public key, 64 lower-case hex digits
 * password = `v1.<site hex>.<issued-at ms>.<nonce hex>.<signature hex>`
 *
 * The signature (Ed25519, strict RFC 8032 as OpenSSL verifies it, by the username key) covers
 * exact bytes, never re-serialised text:
 *   "latchkey/mqtt-auth/v1\0" || site (32) || public key (32) || issued-at (u64 BE) || nonce (16)
 *
 * Pure functions plus a bounded nonce cache; the clock is always passed in.
 */
import { sign as edSign, randomBytes } from 'node:crypto'
import { verifyStrict } from '../core/ed25519-strict.ts'
import type { KeyPair } from '../core/keys.ts'
import { equalBytes, fromHex, toHex } from '../core/ledger/record.ts'

export const AUTH_DOMAIN = new TextEncoder().encode('latchkey/mqtt-auth/v1\0')
/** A token is fresh while |issued-at − broker clock| ≤ this. */
export const MAX_SKEW_MS = 5 * 60_000
export const NONCE_BYTES = 16

/** Stable reasons a token is refused; never reworded, never reused. */
export type AuthRefusal =
  | 'unauthenticated'
  | 'malformed'
  | 'wrong-site'
  | 'stale'
  | 'bad-signature'
  | 'replay'
  | 'not-enrolled'

/** What the broker needs from the ledger: the site id and a key's role now (null = unknown or cut). */
export interface KeyDirectory {
  readonly site: Uint8Array | null
  roleOf(keyHex: string): string | null
}

const KEY_HEX = /^[0-9a-f]{64}$/
const TOKEN = /^v1\.([0-9a-f]{64})\.(0|[1-9][0-9]{0,15})\.([0-9a-f]{32})\.([0-9a-f]{128})$/

/** The exact bytes a token signs. */
export function tokenMessage(
  site: Uint8Array,
  publicKey: Uint8Array,
  issuedAt: number,
  nonce: Uint8Array,
): Uint8Array {
  const out = new Uint8Array(AUTH_DOMAIN.length + 32 + 32 + 8 + NONCE_BYTES)
  let o = 0
  out.set(AUTH_DOMAIN, o)
  o += AUTH_DOMAIN.length
  out.set(site, o)
  o += 32
  out.set(publicKey, o)
  o += 32
  new DataView(out.buffer).setBigUint64(o, BigInt(issuedAt))
  o += 8
  out.set(nonce, o)
  return out
}

/** A fresh password for `key` on `site`; `nonce` is random unless given (test vectors). */
export function makeToken(key: KeyPair, site: Uint8Array, now: number, nonce?: Uint8Array): string {
  if (site.length !== 32) throw new Error(`site id must be 32 bytes, got ${site.length}`)
  if (!Number.isSafeInteger(now) || now < 0)
    throw new Error(`issued-at must be a non-negative integer ms, got ${now}`)
  const n = nonce ?? new Uint8Array(randomBytes(NONCE_BYTES))
  if (n.length !== NONCE_BYTES) throw new Error(`nonce must be ${NONCE_BYTES} bytes, got ${n.length}`)
  const sig = edSign(null, tokenMessage(site, key.publicKey, now, n), key.privateKeyObject)
  return `v1.${toHex(site)}.${now}.${toHex(n)}.${sig.toString('hex')}`
}

/**
 * Remembers accepted nonces for as long as their token could still be fresh (issued-at +
 * MAX_SKEW_MS, so at most 10 minutes after first use). Bounded: when full of unexpired
 * nonces it refuses new ones (fails closed) rather than forgetting one that could be replayed.
 */
export class NonceCache {
  readonly capacity: number
  #seen = new Map<string, number>()

  constructor(capacity = 100_000) {
    this.capacity = capacity
  }

  get size(): number {
    return this.#seen.size
  }

  /** Whether `id` is remembered and still fresh at `now`. */
  has(id: string, now: number): boolean {
    const known = this.#seen.get(id)
    return known !== undefined && known >= now
  }

  /** Records `id` until `expiresAt`; false when it is already known (or the cache is full). */
  add(id: string, expiresAt: number, now: number): boolean {
    const known = this.#seen.get(id)
    if (known !== undefined && known >= now) return false
    if (this.#seen.size >= this.capacity) this.sweep(now)
    if (this.#seen.size >= this.capacity) return false
    this.#seen.set(id, expiresAt)
    return true
  }

  /** Forgets expired nonces. */
  sweep(now: number): void {
    for (const [id, exp] of this.#seen) if (exp < now) this.#seen.delete(id)
  }
}

export interface CheckTokenInput {
  username: string | undefined
  password: Uint8Array | string | undefined
  directory: KeyDirectory
  nonces: NonceCache
  now: number
}

export type CheckTokenResult = { ok: true; keyHex: string; role: string } | { ok: false; reason: AuthRefusal }

/**
 * Checks MQTT credentials, in this order: present → well-formed → this site → fresh →
 * signature → enrolled now → nonce unused. Only a token that passes everything consumes
 * its nonce.
 */
export function checkToken({
  username,
  password,
  directory,
  nonces,
  now,
}: CheckTokenInput): CheckTokenResult {
  const refuse = (reason: AuthRefusal): CheckTokenResult => ({ ok: false, reason })
  if (!username || !password || password.length === 0) return refuse('unauthenticated')
  const text = typeof password === 'string' ? password : Buffer.from(password).toString('latin1')
  const m = TOKEN.exec(text)
  if (!KEY_HEX.test(username) || !m) return refuse('malformed')
  const [, siteHex, iatText, nonceHex, sigHex] = m as unknown as [string, string, string, string, string]
  const issuedAt = Number(iatText)
  if (!Number.isSafeInteger(issuedAt)) return refuse('malformed')
  const site = directory.site
  if (!site || !equalBytes(fromHex(siteHex), site)) return refuse('wrong-site')
  // Rule: a token is fresh within ±MAX_SKEW_MS of the broker's clock.
  if (Math.abs(issuedAt - now) > MAX_SKEW_MS) return refuse('stale')
  const publicKey = fromHex(username)
  const nonce = fromHex(nonceHex)
  let valid: boolean
  try {
    valid = verifyStrict(publicKey, tokenMessage(site, publicKey, issuedAt, nonce), fromHex(sigHex))
  } catch {
    valid = false // a public key that does not decode to a curve point
  }
  if (!valid) return refuse('bad-signature')
  // Rule: only keys enrolled on this site right now (unknown, revoked and cut keys are null).
  const role = directory.roleOf(username)
  if (role === null) return refuse('not-enrolled')
  // Rule: a token is used once; remember it for as long as it could be fresh.
  if (!nonces.add(`${username}.${nonceHex}`, issuedAt + MAX_SKEW_MS, now)) return refuse('replay')
  return { ok: true, keyHex: username, role }
}
