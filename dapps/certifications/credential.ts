/**
 * Signed certification credentials: a member's certifications as one self-contained document
 * that anyone can verify offline, with nothing but the document (and, to pin the site, its id).
 *
 * Layout: a dag-cbor map
 *   { format: "latchkey-credential/1", payload, sig, proof }
 *   payload  the exact signed bytes: dag-cbor {site, member, name, certs, issuedAt, signer}
 *   sig      Ed25519 by `signer` over SHA-256("latchkey/credential/v1\0" || payload)
 *   proof    signed records in wire form (sig || bytes): the site's genesis, then the
 *            `site.enrol` records leading from a genesis admin to the signer, in that order
 * Verification re-derives everything: the genesis id is the site, every proof record's
 * signature verifies (strict RFC 8032), each enrolment is signed by a key the proof has already
 * shown to be an admin, and the signer is enrolled by the last one (or is a genesis admin).
 *
 * A credential none of whose certifications is in force at the time of verification (`now`,
 * by UTC day) is refused as expired.
 *
 * What it cannot show offline: that the signer was not revoked after `issuedAt`. A verifier
 * who cares passes `maxAgeMs` (and `now`) and asks for a fresh credential.
 */
import { createHash, sign as edSign } from 'node:crypto'
import * as dagCbor from '@ipld/dag-cbor'
import { verifyStrict } from '../../runtime/core/ed25519-strict.ts'
import { certErrors } from '../../runtime/core/errors/index.ts'
import type { Ledger, Signer } from '../../runtime/core/ledger/ledger.ts'
import {
  authorKey,
  decodeBody,
  decodeWire,
  equalBytes,
  fromHex,
  GENESIS_SITE,
  type SignedRecord,
  toHex,
  verifySignature,
  wireBytes,
} from '../../runtime/core/ledger/record.ts'
import { type KeyInfo, keyStateKey } from '../../runtime/core/ledger/site-dapp.ts'
import { getMember } from '../membership/model.ts'
import type { Certification } from './model.ts'
import { certsOf } from './queries.ts'

export const CREDENTIAL_FORMAT = 'latchkey-credential/1'
const DOMAIN = Buffer.from('latchkey/credential/v1\0')
/** Longest enrolment chain a proof may carry (admins enrolling admins). */
const MAX_PROOF = 32

export interface CredentialPayload {
  /** Site id (hex): the id of the site's genesis record. */
  site: string
  member: string
  /** The member's name when the credential was issued, or null. */
  name: string | null
  certs: Certification[]
  /** Wall-clock ms (the issuing node's hybrid clock). */
  issuedAt: number
  /** Key (hex) that signed the credential. */
  signer: string
}

/** Stable refusal codes of `verifyCredential`. */
export const CredentialCode = {
  /** Not a credential document, or a field of the wrong type. */
  MALFORMED: 'CRED_MALFORMED',
  /** The signature does not verify over the payload: the content was altered. */
  BAD_SIGNATURE: 'CRED_BAD_SIGNATURE',
  /** The proof's genesis is not the payload's site, or the site is not the one asked for. */
  WRONG_SITE: 'CRED_WRONG_SITE',
  /** A proof record is altered, of another site, or enrolled by a key not shown to be an admin. */
  BAD_PROOF: 'CRED_BAD_PROOF',
  /** The proof does not show the signing key enrolled in the site. */
  NOT_ENROLLED: 'CRED_NOT_ENROLLED',
  /** Older than the verifier's `maxAgeMs`. */
  STALE: 'CRED_STALE',
  /** Every certification it holds is past its last valid day at the time of verification. */
  EXPIRED: 'CRED_EXPIRED',
} as const

export type CredentialVerification =
  | {
      ok: true
      credential: CredentialPayload
      signerRole: 'admin' | 'device'
      /** The UTC day the expiry dates were compared with (`YYYY-MM-DD`). */
      asOf: string
      /** Tools of the certifications past their last valid day on `asOf` (the others are in force). */
      expired: string[]
    }
  | { ok: false; code: (typeof CredentialCode)[keyof typeof CredentialCode]; detail: string }

export interface VerifyOptions {
  /** Require this site id (hex). Without it the credential is only shown to be *some* site's. */
  site?: string
  /** Refuse credentials issued more than this long before `now`. */
  maxAgeMs?: number
  /** The time (ms) to verify as of: expiry and `maxAgeMs` are judged at it. Default: the wall clock. */
  now?: number
}

function message(payload: Uint8Array): Buffer {
  return createHash('sha256').update(DOMAIN).update(payload).digest()
}

/**
 * The records proving `keyHex` enrolled: genesis first, then each enrolment from a genesis
 * admin down to the key. Throws when the key is not enrolled (or was revoked).
 */
function enrolmentProof(ledger: Ledger, keyHex: string): SignedRecord[] {
  if (ledger.roleOf(keyHex) === null) throw certErrors.SIGNER_NOT_ENROLLED(keyHex)
  const chain: SignedRecord[] = []
  let hex = keyHex
  for (let depth = 0; depth < MAX_PROOF; depth++) {
    const info = ledger.view.get<KeyInfo>(keyStateKey(hex))
    const record = info ? ledger.query.range(info.by, info.at, 1)[0] : undefined
    if (!info || !record) throw certErrors.SIGNER_NOT_ENROLLED(keyHex)
    chain.push(record)
    if (record.type === 'site.genesis') return chain.reverse()
    hex = info.by
  }
  throw certErrors.SIGNER_NOT_ENROLLED(keyHex)
}

/**
 * A signed credential of `member`'s certifications, signed by `signer` (the node key or an
 * admin key; it must be enrolled and not revoked). Reads the ledger; appends nothing.
 */
export function exportCredential(ledger: Ledger, member: string, signer: Signer): Uint8Array {
  const site = ledger.site
  if (!site) throw new Error('the ledger has no site: nothing to export')
  const m = getMember(ledger.view, member)
  const certs = certsOf(ledger.view, member)
  if (!m && certs.length === 0) throw certErrors.UNKNOWN_MEMBER(member)
  const signerHex = toHex(signer.publicKey)
  const proof = enrolmentProof(ledger, signerHex).map(wireBytes)
  const payload = dagCbor.encode({
    site: toHex(site),
    member,
    name: m?.name ?? null,
    certs,
    issuedAt: ledger.admin.clock.tick().ms,
    signer: signerHex,
  } satisfies CredentialPayload)
  const sig = new Uint8Array(edSign(null, message(payload), signer.privateKeyObject))
  return dagCbor.encode({ format: CREDENTIAL_FORMAT, payload, sig, proof })
}

const HEX64 = /^[0-9a-f]{64}$/

function parsePayload(bytes: Uint8Array): CredentialPayload | null {
  let p: Partial<CredentialPayload>
  try {
    p = decodeBody<Partial<CredentialPayload>>(bytes)
  } catch {
    return null
  }
  const ok =
    !!p &&
    typeof p === 'object' &&
    typeof p.site === 'string' &&
    HEX64.test(p.site) &&
    typeof p.member === 'string' &&
    (p.name === null || typeof p.name === 'string') &&
    Array.isArray(p.certs) &&
    p.certs.every((c) => !!c && typeof c === 'object' && typeof (c as Certification).tool === 'string') &&
    Number.isSafeInteger(p.issuedAt) &&
    typeof p.signer === 'string' &&
    HEX64.test(p.signer)
  return ok ? (p as CredentialPayload) : null
}

/** Verifies a credential document offline. Never throws for bad input: it answers with a code. */
export function verifyCredential(doc: Uint8Array, opts: VerifyOptions = {}): CredentialVerification {
  const refuse = (code: (typeof CredentialCode)[keyof typeof CredentialCode], detail: string) =>
    ({ ok: false, code, detail }) as const
  let outer: { format?: unknown; payload?: unknown; sig?: unknown; proof?: unknown }
  try {
    outer = decodeBody(doc)
  } catch (err) {
    return refuse(CredentialCode.MALFORMED, `not a CBOR document: ${(err as Error).message}`)
  }
  if (!outer || typeof outer !== 'object' || outer.format !== CREDENTIAL_FORMAT)
    return refuse(CredentialCode.MALFORMED, `not a ${CREDENTIAL_FORMAT} document`)
  const { payload, sig, proof } = outer
  if (!(payload instanceof Uint8Array) || !(sig instanceof Uint8Array) || sig.length !== 64)
    return refuse(CredentialCode.MALFORMED, 'payload and sig must be byte strings (sig of 64 bytes)')
  if (!Array.isArray(proof) || proof.length < 1 || proof.length > MAX_PROOF + 1)
    return refuse(CredentialCode.MALFORMED, 'proof must hold the genesis and the enrolment records')
  const p = parsePayload(payload)
  if (!p)
    return refuse(
      CredentialCode.MALFORMED,
      'the payload is not {site, member, name, certs, issuedAt, signer}',
    )

  // 1. The signature: the exact payload bytes, by the key the payload names.
  // Strict Ed25519 (docs/PROTOCOL.md §1.3), as for records.
  let sigOk = false
  try {
    const signer = fromHex(p.signer)
    sigOk = verifyStrict(signer, message(payload), sig, authorKey(signer))
  } catch {
    sigOk = false
  }
  if (!sigOk) return refuse(CredentialCode.BAD_SIGNATURE, 'the signature does not verify over the payload')

  // 2. The site: the proof's genesis must be the payload's site (and the one asked for).
  if (opts.site !== undefined && opts.site !== p.site)
    return refuse(CredentialCode.WRONG_SITE, `credential is for site ${p.site}, not ${opts.site}`)
  let records: SignedRecord[]
  try {
    records = proof.map((w) => {
      if (!(w instanceof Uint8Array)) throw new Error('a proof entry is not bytes')
      return decodeWire(w)
    })
  } catch (err) {
    return refuse(CredentialCode.BAD_PROOF, `a proof record does not decode: ${(err as Error).message}`)
  }
  const [genesis, ...enrolments] = records
  if (genesis?.type !== 'site.genesis' || !equalBytes(genesis.site, GENESIS_SITE))
    return refuse(CredentialCode.BAD_PROOF, 'the proof does not start with a site genesis')
  if (!verifySignature(genesis))
    return refuse(CredentialCode.BAD_PROOF, 'the genesis signature does not verify')
  const site = fromHex(p.site)
  if (!equalBytes(genesis.id, site))
    return refuse(
      CredentialCode.WRONG_SITE,
      `the proof's genesis is site ${toHex(genesis.id)}, not ${p.site}`,
    )

  // 3. The enrolment chain: each enrolment signed by a key already shown to be an admin.
  const roles = new Map<string, 'admin' | 'device'>()
  const g = decodeBody<{ admins?: unknown }>(genesis.body)
  if (!Array.isArray(g.admins)) return refuse(CredentialCode.BAD_PROOF, 'the genesis names no admins')
  for (const k of g.admins) if (k instanceof Uint8Array) roles.set(toHex(k), 'admin')
  for (const e of enrolments) {
    if (e.type !== 'site.enrol') return refuse(CredentialCode.BAD_PROOF, `proof holds a ${e.type} record`)
    if (!equalBytes(e.site, site))
      return refuse(CredentialCode.BAD_PROOF, 'a proof record is of another site')
    if (!verifySignature(e))
      return refuse(CredentialCode.BAD_PROOF, 'a proof record signature does not verify')
    if (roles.get(toHex(e.author)) !== 'admin')
      return refuse(CredentialCode.BAD_PROOF, 'an enrolment in the proof is not signed by a proven admin')
    const b = decodeBody<{ key?: unknown; role?: unknown }>(e.body)
    if (!(b.key instanceof Uint8Array) || (b.role !== 'admin' && b.role !== 'device'))
      return refuse(CredentialCode.BAD_PROOF, 'an enrolment in the proof has no key or role')
    roles.set(toHex(b.key), b.role)
  }
  const signerRole = roles.get(p.signer)
  if (!signerRole)
    return refuse(
      CredentialCode.NOT_ENROLLED,
      `the proof does not enrol the signing key ${p.signer.slice(0, 16)}…`,
    )

  const now = opts.now ?? Date.now()
  if (opts.maxAgeMs !== undefined && now - p.issuedAt > opts.maxAgeMs)
    return refuse(CredentialCode.STALE, `issued ${new Date(p.issuedAt).toISOString()}, older than allowed`)

  // 4. Expiry: a certification is in force through its last valid day, compared with the UTC
  // day of `now` (as `latchkey cert list` does). A credential none of whose certifications is
  // in force is refused; one with some in force is valid and names the expired ones.
  const asOf = new Date(now).toISOString().slice(0, 10)
  const expired = p.certs.filter((c) => typeof c.expires === 'string' && c.expires < asOf).map((c) => c.tool)
  if (p.certs.length > 0 && expired.length === p.certs.length)
    return refuse(
      CredentialCode.EXPIRED,
      `every certification in it is past its last valid day on ${asOf} (${p.certs.map((c) => `${c.tool} until ${c.expires}`).join(', ')})`,
    )
  return { ok: true, credential: p, signerRole, asOf, expired }
}
