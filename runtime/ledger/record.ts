/**
 * The record format (docs/PROTOCOL.md is the normative text, with test vectors).
 *
 * A record is a deterministic CBOR map (dag-cbor: shortest integers, map keys sorted
 * length-first, no floats, no indefinite lengths):
 *
 *   { v, site, author, seq, prev, parents, hlc: [ms, c], type, body }
 *
 * `body` is a CBOR byte string holding the dapp body's own canonical dag-cbor encoding, so the
 * core can store, hash and forward it without decoding it. The record id is
 * SHA-256("latchkey/record/v1\0" || recordBytes); the author signs the 32-byte id with Ed25519.
 * A signed record on the wire and in exports is `sig (64 bytes) || recordBytes`.
 */
import { createHash, sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto'
import * as dagCbor from '@ipld/dag-cbor'
import { decode as cborDecode, type DecodeOptions, Tokenizer, Type } from 'cborg'
import { publicKeyObject } from '../keys.ts'
import { type Hlc, isValidHlc } from './hlc.ts'
import { Reason, type Rejection } from './reasons.ts'

export const RECORD_VERSION = 1
export const ID_DOMAIN = new TextEncoder().encode('latchkey/record/v1\0')
export const MAX_RECORD_BYTES = 8192
export const MAX_BODY_BYTES = 4096
export const MAX_PARENTS = 16
export const SIG_BYTES = 64
export const GENESIS_SITE = new Uint8Array(32)
export const TYPE_PATTERN = /^[a-z][a-z0-9-]{0,30}(\.[a-z][a-z0-9-]{0,30}){1,3}$/

export interface RecordFields {
  readonly v: number
  /** The site id (= the genesis record's id); 32 zero bytes in the genesis itself. */
  readonly site: Uint8Array
  /** The author's Ed25519 public key. */
  readonly author: Uint8Array
  /** Position in the author's chain, from 1. */
  readonly seq: number
  /** Id of the author's record at seq - 1; null at seq 1. */
  readonly prev: Uint8Array | null
  /** Ids of other authors' head records the author had seen, sorted bytewise. */
  readonly parents: readonly Uint8Array[]
  readonly hlc: Hlc
  readonly type: string
  /** Canonical dag-cbor encoding of the dapp body. */
  readonly body: Uint8Array
}

export interface SignedRecord extends RecordFields {
  readonly id: Uint8Array
  readonly sig: Uint8Array
  /** The canonical encoding that `id` hashes. */
  readonly bytes: Uint8Array
  /** The decoded body, when decoding already produced it. */
  readonly value?: unknown
}

/** Thrown by decode/verify with a stable reason code. */
export class RecordError extends Error {
  readonly code: string
  constructor(rejection: Rejection) {
    super(rejection.detail)
    this.name = 'RecordError'
    this.code = rejection.code
  }
}

const fail = (code: string, detail: string): never => {
  throw new RecordError({ code, detail })
}

/**
 * Strict decoding: shortest integer and length forms, no duplicate map keys, no indefinite
 * lengths, no undefined/NaN/Infinity, no big integers, no tags (no CIDs) and no floats. What
 * it leaves to check for canonical form is map key order.
 */
class StrictTokenizer extends Tokenizer {
  override next() {
    const token = super.next()
    if (token.type === Type.float) throw new Error('floats are not allowed')
    return token
  }
}

const STRICT: DecodeOptions = {
  strict: true,
  allowIndefinite: false,
  allowUndefined: false,
  allowNaN: false,
  allowInfinity: false,
  allowBigInt: false,
  rejectDuplicateMapKeys: true,
  useMaps: false,
  tags: [],
}

export function strictDecode(bytes: Uint8Array): unknown {
  return cborDecode(bytes, { ...STRICT, tokenizer: new StrictTokenizer(bytes, STRICT) })
}

export function encodeBody(body: unknown): Uint8Array {
  return dagCbor.encode(body)
}

export function decodeBody<T = unknown>(bytes: Uint8Array): T {
  return strictDecode(bytes) as T
}

/** The record's fields in canonical (dag-cbor: length-first, then bytewise) key order. */
const CANONICAL_KEYS = ['v', 'hlc', 'seq', 'body', 'prev', 'site', 'type', 'author', 'parents'] as const

export function encodeRecord(r: RecordFields): Uint8Array {
  return dagCbor.encode({
    v: r.v,
    site: r.site,
    author: r.author,
    seq: r.seq,
    prev: r.prev,
    parents: r.parents,
    hlc: [r.hlc.ms, r.hlc.c],
    type: r.type,
    body: r.body,
  })
}

export function recordId(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(ID_DOMAIN).update(bytes).digest())
}

/** Builds and signs a record with the author's private key. */
export function signRecord(fields: RecordFields, privateKey: KeyObject): SignedRecord {
  const bytes = encodeRecord(fields)
  if (bytes.length > MAX_RECORD_BYTES)
    fail(Reason.OVERSIZE, `record is ${bytes.length} bytes; the limit is ${MAX_RECORD_BYTES}`)
  const id = recordId(bytes)
  const sig = new Uint8Array(edSign(null, id, privateKey))
  return { ...fields, id, sig, bytes }
}

const keyCache = new Map<string, KeyObject>()

/** One cached KeyObject per author: rebuilding it per call halves verification speed. */
export function authorKey(author: Uint8Array): KeyObject {
  const hex = toHex(author)
  let key = keyCache.get(hex)
  if (!key) {
    key = publicKeyObject(author)
    if (keyCache.size > 10_000) keyCache.clear()
    keyCache.set(hex, key)
  }
  return key
}

/** Strict RFC 8032 verification (OpenSSL): non-canonical S and bad encodings are refused. */
export function verifySignature(r: Pick<SignedRecord, 'author' | 'id' | 'sig'>): boolean {
  try {
    return edVerify(null, r.id, authorKey(r.author), r.sig)
  } catch {
    return false // a public key that does not decode to a curve point
  }
}

/** Same check on libuv's thread pool, so bulk verification uses every core. */
export function verifySignatureAsync(r: Pick<SignedRecord, 'author' | 'id' | 'sig'>): Promise<boolean> {
  return new Promise((resolve) => {
    try {
      edVerify(null, r.id, authorKey(r.author), r.sig, (err, ok) => resolve(!err && ok))
    } catch {
      resolve(false)
    }
  })
}

export function wireBytes(r: Pick<SignedRecord, 'sig' | 'bytes'>): Uint8Array {
  const out = new Uint8Array(SIG_BYTES + r.bytes.length)
  out.set(r.sig, 0)
  out.set(r.bytes, SIG_BYTES)
  return out
}

/**
 * Decodes `sig || recordBytes`, checking structure, canonical encoding and limits. Does not
 * check the signature (callers choose per-record or chain-tip verification).
 */
export function decodeWire(wire: Uint8Array): SignedRecord {
  if (!(wire instanceof Uint8Array)) fail(Reason.MALFORMED, 'a signed record must be bytes')
  if (wire.length > SIG_BYTES + MAX_RECORD_BYTES) {
    fail(Reason.OVERSIZE, `record is ${wire.length - SIG_BYTES} bytes; the limit is ${MAX_RECORD_BYTES}`)
  }
  if (wire.length < SIG_BYTES + 16)
    fail(Reason.MALFORMED, `a signed record of ${wire.length} bytes is truncated`)
  const sig = wire.subarray(0, SIG_BYTES)
  const bytes = wire.subarray(SIG_BYTES)
  return { ...decodeRecordBytes(bytes), sig: new Uint8Array(sig) }
}

/** Decodes canonical record bytes and computes the id. */
export function decodeRecordBytes(input: Uint8Array): Omit<SignedRecord, 'sig'> {
  const bytes = new Uint8Array(input)
  let raw: Record<string, unknown>
  try {
    raw = strictDecode(bytes) as Record<string, unknown>
  } catch (err) {
    return fail(Reason.MALFORMED, `record bytes do not decode: ${(err as Error).message}`)
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw) || raw instanceof Uint8Array) {
    fail(Reason.MALFORMED, 'a record must be a CBOR map')
  }
  if (raw.v !== RECORD_VERSION)
    fail(
      Reason.VERSION,
      `record version ${String(raw.v)} is not supported (this node speaks ${RECORD_VERSION})`,
    )
  const keys = Object.keys(raw)
  if (keys.length !== 9 || !CANONICAL_KEYS.every((k) => k in raw)) {
    fail(Reason.BAD_FIELD, `a record has exactly the fields ${CANONICAL_KEYS.join(', ')}`)
  }
  // Strict decoding fixed every other choice of encoding; key order is the one left.
  if (!CANONICAL_KEYS.every((k, i) => keys[i] === k))
    fail(Reason.NOT_CANONICAL, 'record map keys are not in canonical order')
  const { site, author, seq, prev, parents, hlc, type, body } = raw
  isBytes(site, 32) || fail(Reason.BAD_FIELD, '`site` must be 32 bytes')
  isBytes(author, 32) || fail(Reason.BAD_FIELD, '`author` must be a 32-byte Ed25519 public key')
  ;(Number.isSafeInteger(seq) && (seq as number) >= 1) ||
    fail(Reason.BAD_FIELD, '`seq` must be an integer ≥ 1')
  prev === null || isBytes(prev, 32) || fail(Reason.BAD_FIELD, '`prev` must be null or 32 bytes')
  ;(seq === 1) === (prev === null) || fail(Reason.BAD_FIELD, '`prev` must be null exactly when `seq` is 1')
  Array.isArray(parents) || fail(Reason.BAD_FIELD, '`parents` must be an array')
  const ps = parents as unknown[]
  ps.length <= MAX_PARENTS || fail(Reason.BAD_FIELD, `at most ${MAX_PARENTS} parents`)
  for (let i = 0; i < ps.length; i++) {
    isBytes(ps[i], 32) || fail(Reason.BAD_FIELD, '`parents` must hold 32-byte ids')
    if (i > 0 && compareBytes(ps[i - 1] as Uint8Array, ps[i] as Uint8Array) >= 0) {
      fail(Reason.BAD_FIELD, '`parents` must be sorted and distinct')
    }
  }
  const h = Array.isArray(hlc) && hlc.length === 2 ? { ms: hlc[0] as number, c: hlc[1] as number } : null
  ;(h && isValidHlc(h)) || fail(Reason.BAD_FIELD, '`hlc` must be [ms < 2^48, counter < 2^16]')
  ;(typeof type === 'string' && TYPE_PATTERN.test(type)) ||
    fail(Reason.BAD_FIELD, '`type` must look like "dapp.name" (lower case, dot separated)')
  isBytes(body) || fail(Reason.BAD_FIELD, '`body` must be a byte string')
  if ((body as Uint8Array).length > MAX_BODY_BYTES) {
    fail(Reason.OVERSIZE, `body is ${(body as Uint8Array).length} bytes; the limit is ${MAX_BODY_BYTES}`)
  }
  const fields: RecordFields = {
    v: RECORD_VERSION,
    site: site as Uint8Array,
    author: author as Uint8Array,
    seq: seq as number,
    prev: prev as Uint8Array | null,
    parents: ps as Uint8Array[],
    hlc: h!,
    type: type as string,
    body: body as Uint8Array,
  }
  const value = checkCanonicalBody(fields.body)
  return { ...fields, id: recordId(bytes), bytes, value }
}

/** A body must be canonical too: one value, one encoding (re-encoding must give the same bytes). */
function checkCanonicalBody(body: Uint8Array): unknown {
  let value: unknown
  try {
    value = strictDecode(body)
  } catch (err) {
    fail(Reason.MALFORMED, `body does not decode: ${(err as Error).message}`)
  }
  if (!equalBytes(dagCbor.encode(value), body)) fail(Reason.NOT_CANONICAL, 'body is not in canonical form')
  return value
}

function isBytes(x: unknown, length?: number): boolean {
  return x instanceof Uint8Array && (length === undefined || x.length === length)
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b)
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')
}

export function fromHex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'hex'))
}

/** Total order of the ledger: clock, then id. A record's clock exceeds its ancestors', so this order is topological. */
export function compareOrder(a: { hlc: Hlc; id: Uint8Array }, b: { hlc: Hlc; id: Uint8Array }): number {
  return a.hlc.ms - b.hlc.ms || a.hlc.c - b.hlc.c || compareBytes(a.id, b.id)
}
