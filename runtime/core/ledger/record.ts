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
import { sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto'
import * as dagCbor from '@ipld/dag-cbor'
import { decode as cborDecode, type DecodeOptions, Tokenizer, Type } from 'cborg'
import { strictPrecheck } from '../ed25519-strict.ts'
import { publicKeyObject } from '../keys.ts'
import { compareBytes, equalBytes, toHex } from './bytes.ts'
import { makeDomainHasher, NOT_FAST, readCanonicalBody, readRecordLayout } from './canonical.ts'
import { type Hlc, isValidHlc } from './hlc.ts'
import { Reason, type Rejection } from './reasons.ts'

export { compareBytes, equalBytes, fromHex, keyHex, toHex } from './bytes.ts'

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

/** The reference encoding: dag-cbor of the record map. `encodeRecord` must equal it byte for byte. */
export function encodeRecordReference(r: RecordFields): Uint8Array {
  return dagCbor.encode(recordMap(r))
}

/** The record as the CBOR map its bytes encode (the HLC as `[ms, c]`). */
export function recordMap(r: RecordFields): Record<string, unknown> {
  return {
    v: r.v,
    site: r.site,
    author: r.author,
    seq: r.seq,
    prev: r.prev,
    parents: r.parents,
    hlc: [r.hlc.ms, r.hlc.c],
    type: r.type,
    body: r.body,
  }
}

const textEncoder = new TextEncoder()
const KEY_BYTES = Object.fromEntries(CANONICAL_KEYS.map((k) => [k, dagCbor.encode(k)])) as Record<
  (typeof CANONICAL_KEYS)[number],
  Uint8Array
>

/**
 * The canonical encoding of a record, written field by field in dag-cbor's canonical key order
 * (the record layout is fixed, so this is the signed byte layout spelled out, as hypercore's
 * caps.js does). It is 5× faster than the generic encoder and is checked against
 * `encodeRecordReference` by a property test over random records.
 */
export function encodeRecord(r: RecordFields): Uint8Array {
  return encodeAfter(r, null)
}

/**
 * A record's wire form, `sig || encodeRecord(r)`, written into one buffer (what a peer is sent:
 * no second copy of the record bytes).
 */
export function encodeWire(r: RecordFields, sig: Uint8Array): Uint8Array {
  return encodeAfter(r, sig)
}

/** The canonical encoding of `r`, after `prefix` in the same buffer. */
function encodeAfter(r: RecordFields, prefix: Uint8Array | null): Uint8Array {
  let type = typeBytes.get(r.type)
  if (!type) {
    type = textEncoder.encode(r.type)
    if (typeBytes.size < 1024) typeBytes.set(r.type, type)
  }
  let size =
    KEYS_LENGTH + 1 + headLength(r.v) + 1 + headLength(r.hlc.ms) + headLength(r.hlc.c) + headLength(r.seq)
  size += headLength(r.body.length) + r.body.length + (r.prev ? 2 + r.prev.length : 1)
  size += headLength(r.site.length) + r.site.length + headLength(type.length) + type.length
  size += headLength(r.author.length) + r.author.length + headLength(r.parents.length)
  for (const p of r.parents) size += headLength(p.length) + p.length
  let o = prefix ? prefix.length : 0
  const out = new Uint8Array(o + size)
  if (prefix) out.set(prefix, 0)
  out[o++] = 0xa9 // map of 9
  o = putKey(out, o, 'v')
  o = putHead(out, o, 0, r.v)
  o = putKey(out, o, 'hlc')
  out[o++] = 0x82
  o = putHead(out, o, 0, r.hlc.ms)
  o = putHead(out, o, 0, r.hlc.c)
  o = putKey(out, o, 'seq')
  o = putHead(out, o, 0, r.seq)
  o = putKey(out, o, 'body')
  o = putBytes(out, o, r.body)
  o = putKey(out, o, 'prev')
  if (r.prev) o = putBytes(out, o, r.prev)
  else out[o++] = 0xf6
  o = putKey(out, o, 'site')
  o = putBytes(out, o, r.site)
  o = putKey(out, o, 'type')
  o = putHead(out, o, 3, type.length)
  out.set(type, o)
  o += type.length
  o = putKey(out, o, 'author')
  o = putBytes(out, o, r.author)
  o = putKey(out, o, 'parents')
  o = putHead(out, o, 4, r.parents.length)
  for (const p of r.parents) o = putBytes(out, o, p)
  return out
}

const typeBytes = new Map<string, Uint8Array>()
const KEYS_LENGTH = Object.values(KEY_BYTES).reduce((n, k) => n + k.length, 0)

function headLength(n: number): number {
  return n < 24 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : n < 0x100000000 ? 5 : 9
}

function putKey(out: Uint8Array, o: number, k: (typeof CANONICAL_KEYS)[number]): number {
  const b = KEY_BYTES[k]
  out.set(b, o)
  return o + b.length
}

function putBytes(out: Uint8Array, o: number, b: Uint8Array): number {
  o = putHead(out, o, 2, b.length)
  out.set(b, o)
  return o + b.length
}

/** A CBOR head (major type + argument) in its shortest form. */
function putHead(out: Uint8Array, o: number, major: number, n: number): number {
  const m = major << 5
  if (n < 24) {
    out[o] = m | n
    return o + 1
  }
  if (n < 0x100) {
    out[o] = m | 24
    out[o + 1] = n
    return o + 2
  }
  if (n < 0x10000) {
    out[o] = m | 25
    out[o + 1] = n >>> 8
    out[o + 2] = n & 0xff
    return o + 3
  }
  if (n < 0x100000000) {
    out[o] = m | 26
    out[o + 1] = n >>> 24
    out[o + 2] = (n >>> 16) & 0xff
    out[o + 3] = (n >>> 8) & 0xff
    out[o + 4] = n & 0xff
    return o + 5
  }
  const hi = Math.floor(n / 0x100000000)
  const lo = n >>> 0
  out[o] = m | 27
  out[o + 1] = hi >>> 24
  out[o + 2] = (hi >>> 16) & 0xff
  out[o + 3] = (hi >>> 8) & 0xff
  out[o + 4] = hi & 0xff
  out[o + 5] = lo >>> 24
  out[o + 6] = (lo >>> 16) & 0xff
  out[o + 7] = (lo >>> 8) & 0xff
  out[o + 8] = lo & 0xff
  return o + 9
}

const domainHash = makeDomainHasher(ID_DOMAIN, MAX_RECORD_BYTES)

/** SHA-256("latchkey/record/v1\0" || bytes). */
export function recordId(bytes: Uint8Array): Uint8Array {
  return domainHash(bytes)
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

/** Encodes a record and computes its id; the signature comes separately (see signIdAsync). */
export function prepareRecord(fields: RecordFields): Omit<SignedRecord, 'sig'> {
  const bytes = encodeRecord(fields)
  if (bytes.length > MAX_RECORD_BYTES)
    fail(Reason.OVERSIZE, `record is ${bytes.length} bytes; the limit is ${MAX_RECORD_BYTES}`)
  return { ...fields, id: recordId(bytes), bytes }
}

/** Signs a record id on libuv's thread pool, so concurrent appends sign on every core. */
export function signIdAsync(id: Uint8Array, privateKey: KeyObject): Promise<Uint8Array> {
  return new Promise((resolve, reject) =>
    edSign(null, id, privateKey, (err, sig) => (err ? reject(err) : resolve(new Uint8Array(sig)))),
  )
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

/**
 * Strict Ed25519 (docs/PROTOCOL.md §1.3): the byte-level rules first, whatever the OpenSSL
 * build would accept, then node:crypto's cofactorless equation.
 */
export function verifySignature(r: Pick<SignedRecord, 'author' | 'id' | 'sig'>): boolean {
  if (strictPrecheck(r.author, r.sig) !== null) return false
  try {
    return edVerify(null, r.id, authorKey(r.author), r.sig)
  } catch {
    return false // a public key that does not decode to a curve point
  }
}

/** Same check on libuv's thread pool, so bulk verification uses every core. */
export function verifySignatureAsync(r: Pick<SignedRecord, 'author' | 'id' | 'sig'>): Promise<boolean> {
  if (strictPrecheck(r.author, r.sig) !== null) return Promise.resolve(false)
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
export function decodeWire(wire: Uint8Array, opts: { owned?: boolean } = {}): SignedRecord {
  if (!(wire instanceof Uint8Array)) fail(Reason.MALFORMED, 'a signed record must be bytes')
  if (wire.length > SIG_BYTES + MAX_RECORD_BYTES) {
    fail(Reason.OVERSIZE, `record is ${wire.length - SIG_BYTES} bytes; the limit is ${MAX_RECORD_BYTES}`)
  }
  if (wire.length < SIG_BYTES + 16)
    fail(Reason.MALFORMED, `a signed record of ${wire.length} bytes is truncated`)
  // One private copy (unless the caller hands over bytes nobody else will write to, such as
  // a received message); the record's fields are views of it.
  const own = opts.owned ? wire : new Uint8Array(wire)
  return decodeOwned(own.subarray(SIG_BYTES), own.subarray(0, SIG_BYTES))
}

/** Decodes canonical record bytes and computes the id. */
export function decodeRecordBytes(input: Uint8Array): Omit<SignedRecord, 'sig'> {
  const { sig: _unsigned, ...record } = decodeOwned(new Uint8Array(input), NO_SIG)
  return record
}

const NO_SIG = new Uint8Array(0)

function decodeOwned(bytes: Uint8Array, sig: Uint8Array): SignedRecord {
  // Fast path: read the fixed layout with canonical checks in one pass. Anything it is unsure
  // of takes the generic strict decoder, which also gives the precise reason code.
  const fast = readRecordLayout(bytes)
  let fields: RecordFields
  if (fast !== NOT_FAST && fast.v === RECORD_VERSION)
    fields = checkFields(fast as unknown as Record<string, unknown>)
  else fields = genericFields(bytes)
  let value = readCanonicalBody(fields.body)
  if (value === NOT_FAST) value = checkCanonicalBody(fields.body)
  return {
    v: fields.v,
    site: fields.site,
    author: fields.author,
    seq: fields.seq,
    prev: fields.prev,
    parents: fields.parents,
    hlc: fields.hlc,
    type: fields.type,
    body: fields.body,
    id: recordId(bytes),
    sig,
    bytes,
    value,
  }
}

function genericFields(bytes: Uint8Array): RecordFields {
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
  const fields = checkFields(raw)
  if (!equalBytes(encodeRecord(fields), bytes))
    fail(Reason.NOT_CANONICAL, 'record bytes are not in canonical form')
  return fields
}

/** Field types and limits, whichever decoder produced `raw`. */
function checkFields(raw: Record<string, unknown>): RecordFields {
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
  return fields
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

/** Total order of the ledger: clock, then id. A record's clock exceeds its ancestors', so this order is topological. */
export function compareOrder(a: { hlc: Hlc; id: Uint8Array }, b: { hlc: Hlc; id: Uint8Array }): number {
  return a.hlc.ms - b.hlc.ms || a.hlc.c - b.hlc.c || compareBytes(a.id, b.id)
}
