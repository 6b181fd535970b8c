/**
 * How an API request proves its signer (docs/PROTOCOL.md, "HTTP API and authentication"):
 * HTTP Message Signatures (RFC 9421) with Ed25519, and Content-Digest (RFC 9530, sha-256) over
 * the body. The structured fields and the signature base are the `http-message-signatures`
 * library's; this file fixes what must be covered and checks the parameters.
 *
 *   Signature-Input: sig=("@method" "@path" "@query" "content-digest");created=<unix s>;
 *                    nonce="<32 hex>";keyid="<public key hex>";alg="ed25519";tag="latchkey/v1/site/<site hex>"
 *   Signature:       sig=:<base64 Ed25519 signature of the signature base>:
 *   Content-Digest:  sha-256=:<base64 SHA-256 of the body bytes>:
 *
 * `content-digest` is covered on every request except GET and HEAD (an empty body has a digest
 * too). The tag names the site: a signature made for one site is refused by another.
 */
import { createHash, sign as edSign, randomBytes } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import { httpbis } from 'http-message-signatures'
import { type Item, isInnerList, parseDictionary } from 'structured-headers'
import { verifyStrict } from '../core/ed25519-strict.ts'
import { httpErrors } from '../core/errors/index.ts'
import type { KeyPair } from '../core/keys.ts'
import { authorKey, fromHex } from '../core/ledger/record.ts'
import { type KeyDirectory, NonceCache } from '../mesh/auth.ts'

export const SIGNATURE_LABEL = 'sig'
export const SIGNATURE_ALG = 'ed25519'
/** A signature is fresh while |created − node clock| ≤ this many seconds. */
export const SKEW_WINDOW_S = 300
export const NONCE_HEX_LENGTH = 32
const BODYLESS = new Set(['GET', 'HEAD'])
const KEY_HEX = /^[0-9a-f]{64}$/
const NONCE = /^[0-9a-f]{32,128}$/

/** The `tag` parameter that binds a signature to one site. */
export const siteTag = (siteHex: string) => `latchkey/v1/site/${siteHex}`

/** The components a request must cover. */
export function coveredComponents(method: string): string[] {
  const fields = ['@method', '@path', '@query']
  return BODYLESS.has(method.toUpperCase()) ? fields : [...fields, 'content-digest']
}

/** `sha-256=:<base64>:` (RFC 9530) of the exact body bytes. */
export function contentDigest(body: Uint8Array | string): string {
  return `sha-256=:${createHash('sha256').update(body).digest('base64')}:`
}

export interface SignRequestInput {
  method: string
  /** The absolute URL of the request; only its path and query are signed. */
  url: string
  /** The exact body bytes sent (required for every method but GET and HEAD; may be empty). */
  body?: Uint8Array | string
  key: KeyPair
  /** The site id, 64 hex digits. */
  site: string
  /** Milliseconds since the epoch as the signer believes the node's clock reads. */
  now: number
  /** 32+ lower-case hex digits; random unless given (test vectors). */
  nonce?: string
}

/** The headers that sign a request: Signature-Input, Signature and, with a body, Content-Digest. */
export async function signRequest(input: SignRequestInput): Promise<Record<string, string>> {
  const method = input.method.toUpperCase()
  const headers: Record<string, string> = {}
  if (!BODYLESS.has(method)) headers['content-digest'] = contentDigest(input.body ?? '')
  const signed = await httpbis.signMessage(
    {
      key: {
        id: input.key.id,
        alg: SIGNATURE_ALG,
        sign: async (data: Buffer) => edSign(null, data, input.key.privateKeyObject),
      },
      name: SIGNATURE_LABEL,
      fields: coveredComponents(method),
      params: ['created', 'nonce', 'keyid', 'alg', 'tag'],
      paramValues: {
        created: new Date(input.now),
        nonce: input.nonce ?? randomBytes(NONCE_HEX_LENGTH / 2).toString('hex'),
        tag: siteTag(input.site),
      },
    },
    { method, url: input.url, headers },
  )
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(signed.headers))
    out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v
  return out
}

export function hasSignature(headers: IncomingHttpHeaders): boolean {
  return headers.signature !== undefined || headers['signature-input'] !== undefined
}

export interface VerifyRequestInput {
  method: string
  /** The request target as received: path and query. */
  url: string
  headers: IncomingHttpHeaders
  /** The raw body bytes; null when the request had none. */
  body: Uint8Array | null
  directory: KeyDirectory | null
  nonces: RequestNonces
  /** The node's clock, ms since the epoch. */
  now: number
}

/**
 * Checks a signed request, in this order: well-formed → covers what it must → this site → fresh →
 * signature → body digest → key enrolled now → nonce unused. Only a request that passes
 * everything consumes its nonce. Throws an `httpErrors` refusal; returns the signer and its role.
 */
export async function verifyRequest(input: VerifyRequestInput): Promise<{ key: string; role: string }> {
  const { headers, directory, now } = input
  const method = input.method.toUpperCase()
  const one = (name: 'signature' | 'signature-input') => {
    const v = headers[name]
    if (v === undefined) throw httpErrors.SIGNATURE_MALFORMED(`the ${name} header is missing`)
    try {
      return parseDictionary(Array.isArray(v) ? v.join(', ') : v)
    } catch {
      throw httpErrors.SIGNATURE_MALFORMED(`the ${name} header is not a structured-field dictionary`)
    }
  }
  // Rule: the target is signed as sent. A URL parser would fold `\\`, `.`/`..` segments or tabs
  // into another path than the one the router serves, so only a target it leaves as is verifies.
  const target = new URL(`http://latchkey.invalid${input.url}`)
  if (`${target.pathname}${target.search}` !== input.url)
    throw httpErrors.SIGNATURE_MALFORMED(
      `the request target ${JSON.stringify(input.url)} is not in normal form`,
    )
  const signatures = one('signature')
  const inputs = one('signature-input')
  if (
    inputs.size !== 1 ||
    signatures.size !== 1 ||
    !inputs.has(SIGNATURE_LABEL) ||
    !signatures.has(SIGNATURE_LABEL)
  )
    throw httpErrors.SIGNATURE_MALFORMED(`exactly one signature labelled "${SIGNATURE_LABEL}" is expected`)
  const entry = inputs.get(SIGNATURE_LABEL)!
  if (!isInnerList(entry)) throw httpErrors.SIGNATURE_MALFORMED('the signature input is not an inner list')
  const [items, params] = entry
  const covered = (items as Item[]).map(([name]) => name)
  for (const c of coveredComponents(method))
    if (!covered.includes(c)) throw httpErrors.SIGNATURE_MALFORMED(`the signature must cover "${c}"`)
  const created = params.get('created')
  const nonce = params.get('nonce')
  const keyid = params.get('keyid')
  const alg = params.get('alg')
  const tag = params.get('tag')
  const expires = params.get('expires')
  if (typeof created !== 'number' || !Number.isSafeInteger(created))
    throw httpErrors.SIGNATURE_MALFORMED('`created` must be an integer (unix seconds)')
  if (typeof nonce !== 'string' || !NONCE.test(nonce))
    throw httpErrors.SIGNATURE_MALFORMED('`nonce` must be 32 to 128 lower-case hex digits')
  if (typeof keyid !== 'string' || !KEY_HEX.test(keyid))
    throw httpErrors.SIGNATURE_MALFORMED('`keyid` must be the Ed25519 public key as 64 lower-case hex digits')
  if (alg !== SIGNATURE_ALG) throw httpErrors.SIGNATURE_MALFORMED(`\`alg\` must be "${SIGNATURE_ALG}"`)
  if (typeof tag !== 'string') throw httpErrors.SIGNATURE_MALFORMED('`tag` must name the site')
  if (expires !== undefined && (typeof expires !== 'number' || !Number.isSafeInteger(expires)))
    throw httpErrors.SIGNATURE_MALFORMED('`expires` must be an integer (unix seconds)')
  // Rule: a signature is for one site.
  const site = directory?.site ? Buffer.from(directory.site).toString('hex') : null
  if (site === null || tag !== siteTag(site)) throw httpErrors.WRONG_SITE(tag, site)
  // Rule: fresh within ±SKEW_WINDOW_S of the node's clock, and not past its own expiry.
  if (
    Math.abs(created * 1000 - now) > SKEW_WINDOW_S * 1000 ||
    (expires !== undefined && expires * 1000 < now)
  )
    throw httpErrors.CLOCK_SKEW(created, now, SKEW_WINDOW_S)
  let valid: boolean | null
  try {
    valid = await httpbis.verifyMessage(
      {
        // Time is checked above against the node's clock, not the library's.
        tolerance: Number.POSITIVE_INFINITY,
        keyLookup: async () => ({
          id: keyid,
          algs: [SIGNATURE_ALG],
          verify: async (data: Buffer, signature: Buffer) => {
            // Strict Ed25519 (docs/PROTOCOL.md §1.3), as for records.
            const pub = fromHex(keyid)
            try {
              return verifyStrict(pub, data, signature, authorKey(pub))
            } catch {
              return false // a key that does not decode to a curve point
            }
          },
        }),
      },
      {
        method,
        url: `http://latchkey.invalid${input.url}`,
        headers: headers as Record<string, string | string[]>,
      },
    )
  } catch (err) {
    throw httpErrors.SIGNATURE_MALFORMED((err as Error).message)
  }
  if (valid !== true) throw httpErrors.BAD_SIGNATURE(keyid)
  // Rule: the body is the one signed (its digest is covered by the signature).
  if (covered.includes('content-digest')) {
    let digest: unknown
    try {
      digest = parseDictionary(String(headers['content-digest'])).get('sha-256')?.[0]
    } catch {
      throw httpErrors.SIGNATURE_MALFORMED('Content-Digest is not a structured-field dictionary')
    }
    if (!(digest instanceof ArrayBuffer))
      throw httpErrors.SIGNATURE_MALFORMED('Content-Digest needs a sha-256 value')
    const actual = createHash('sha256')
      .update(input.body ?? new Uint8Array(0))
      .digest()
    if (!actual.equals(Buffer.from(digest))) throw httpErrors.DIGEST_MISMATCH()
  }
  // Rule: only keys enrolled on this site right now (unknown, revoked and cut keys are null).
  const role = directory!.roleOf(keyid)
  if (role === null) throw httpErrors.NOT_ENROLLED(keyid)
  // Rule: a nonce is used once; remembered for as long as its signature could be fresh.
  const seen = input.nonces.add(keyid, String(nonce), created * 1000 + SKEW_WINDOW_S * 1000, now)
  if (seen === 'replay') throw httpErrors.REPLAYED(String(nonce))
  if (seen === 'full') throw httpErrors.RATE_LIMITED(keyid, input.nonces.perKey)
  return { key: keyid, role }
}

/**
 * The nonces of fresh signed requests, remembered per key: a key that signs more requests than
 * its share within the freshness window is refused (429) until they expire, and never fills
 * another key's share, so one enrolled key cannot lock every client out.
 */
export class RequestNonces {
  readonly perKey: number
  readonly #byKey = new Map<string, NonceCache>()

  constructor(perKey = 20_000) {
    this.perKey = perKey
  }

  /** Records a key's nonce until `expiresAt`: 'ok', 'replay' (already used) or 'full'. */
  add(key: string, nonce: string, expiresAt: number, now: number): 'ok' | 'replay' | 'full' {
    let cache = this.#byKey.get(key)
    if (!cache) {
      cache = new NonceCache(this.perKey)
      this.#byKey.set(key, cache)
    }
    if (cache.has(nonce, now)) return 'replay'
    return cache.add(nonce, expiresAt, now) ? 'ok' : 'full'
  }
}
