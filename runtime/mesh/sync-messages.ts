/**
 * Sync messages and topics (docs/PROTOCOL.md, "Sync"). Pure functions: encode, strict decode
 * (canonical dag-cbor, exact shapes, bounded sizes), summary signatures.
 *
 *   summary  { node, heads: [[author, seq, id]…], count, stateHash, at, sig }   retained
 *   req      { from: [[author, fromSeq]…], limit }
 *   batch    { records: [wire…] }                                               also `live`
 *
 * A summary is signed by its node key over "latchkey/summary/v1\0" || dag-cbor(summary − sig).
 */
import { sign as edSign } from 'node:crypto'
import * as dagCbor from '@ipld/dag-cbor'
import { verifyStrict } from '../core/ed25519-strict.ts'
import type { KeyPair } from '../core/keys.ts'
import { NOT_FAST, readCanonicalBody } from '../core/ledger/canonical.ts'
import { strictDecode } from '../core/ledger/record.ts'

export const SUMMARY_DOMAIN = new TextEncoder().encode('latchkey/summary/v1\0')
/** Most records in one batch or live message. */
export const MAX_BATCH_RECORDS = 1000
/** Most [author, fromSeq] entries in one request; most heads in one summary. */
export const MAX_REQUEST_AUTHORS = 1024
export const MAX_SUMMARY_HEADS = 4096

export class SyncMessageError extends Error {}

export interface SummaryBody {
  node: Uint8Array
  heads: Array<[Uint8Array, number, Uint8Array]>
  count: number
  stateHash: string
  at: number
}
export interface Summary extends SummaryBody {
  sig: Uint8Array
}
export interface SyncRequest {
  from: Array<[Uint8Array, number]>
  limit: number
}
export interface Batch {
  records: Uint8Array[]
}

const fail = (why: string): never => {
  throw new SyncMessageError(why)
}
const isBytes = (v: unknown, len?: number): v is Uint8Array =>
  v instanceof Uint8Array && (len === undefined || v.length === len)
const isUint = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0

const isPlainMap = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array)

function decodeMap(bytes: Uint8Array, keys: readonly string[]): Record<string, unknown> {
  let v: unknown
  try {
    v = strictDecode(bytes)
  } catch (err) {
    return fail(`not canonical CBOR: ${(err as Error).message}`)
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array)
    return fail('not a CBOR map')
  const m = v as Record<string, unknown>
  const have = Object.keys(m).sort()
  if (have.length !== keys.length || have.some((k, i) => k !== [...keys].sort()[i]))
    fail(`expected keys ${keys.join(', ')}`)
  return m
}

/** The exact bytes a summary signature covers. */
export function summaryMessage(body: SummaryBody): Uint8Array {
  const enc = dagCbor.encode({
    node: body.node,
    heads: body.heads,
    count: body.count,
    stateHash: body.stateHash,
    at: body.at,
  })
  const out = new Uint8Array(SUMMARY_DOMAIN.length + enc.length)
  out.set(SUMMARY_DOMAIN, 0)
  out.set(enc, SUMMARY_DOMAIN.length)
  return out
}

export function encodeSummary(body: SummaryBody, key: KeyPair): Uint8Array {
  const sig = new Uint8Array(edSign(null, summaryMessage(body), key.privateKeyObject))
  return dagCbor.encode({ ...body, sig })
}

/** Decodes a summary's shape; does not verify its signature (see verifySummary). */
export function decodeSummary(bytes: Uint8Array): Summary {
  const m = decodeMap(bytes, ['node', 'heads', 'count', 'stateHash', 'at', 'sig'])
  if (!isBytes(m.node, 32)) fail('node must be 32 bytes')
  if (!isBytes(m.sig, 64)) fail('sig must be 64 bytes')
  if (!isUint(m.count) || !isUint(m.at)) fail('count and at must be unsigned integers')
  if (typeof m.stateHash !== 'string' || m.stateHash.length > 128) fail('bad stateHash')
  if (!Array.isArray(m.heads) || m.heads.length > MAX_SUMMARY_HEADS) fail('bad heads')
  for (const h of m.heads as unknown[]) {
    if (!Array.isArray(h) || h.length !== 3 || !isBytes(h[0], 32) || !isUint(h[1]) || h[1] < 1)
      fail('bad head')
    if (!isBytes((h as unknown[])[2], 32)) fail('bad head id')
  }
  return m as unknown as Summary
}

export function verifySummary(s: Summary): boolean {
  try {
    return verifyStrict(s.node, summaryMessage(s), s.sig)
  } catch {
    return false
  }
}

export function encodeRequest(req: SyncRequest): Uint8Array {
  return dagCbor.encode({ from: req.from, limit: req.limit })
}

export function decodeRequest(bytes: Uint8Array): SyncRequest {
  const m = decodeMap(bytes, ['from', 'limit'])
  if (!isUint(m.limit) || m.limit < 1) fail('limit must be a positive integer')
  if (!Array.isArray(m.from) || m.from.length === 0 || m.from.length > MAX_REQUEST_AUTHORS) fail('bad from')
  for (const e of m.from as unknown[]) {
    if (!Array.isArray(e) || e.length !== 2 || !isBytes(e[0], 32) || !isUint(e[1]) || e[1] < 1)
      fail('bad from entry')
  }
  return m as unknown as SyncRequest
}

export function encodeBatch(records: readonly Uint8Array[]): Uint8Array {
  return dagCbor.encode({ records })
}

/**
 * Decodes a batch; the records are views of `bytes` (no copy per record: a batch carries up to
 * a thousand of them, and a copy each is garbage the collector then has to walk).
 */
export function decodeBatch(bytes: Uint8Array): Batch {
  const fast = readCanonicalBody(bytes)
  const m =
    fast !== NOT_FAST && isPlainMap(fast) && Object.keys(fast).length === 1 && 'records' in fast
      ? fast
      : decodeMap(bytes, ['records'])
  if (!Array.isArray(m.records) || m.records.length > MAX_BATCH_RECORDS) fail('bad records')
  for (const r of m.records as unknown[]) if (!isBytes(r)) fail('a record must be bytes')
  return m as unknown as Batch
}

/** CBOR overhead of a batch around its records: map, key, array header, per-record headers. */
export const batchOverhead = (n: number) => 16 + 5 * n

// ── topics ───────────────────────────────────────────────────────────────────────────────

export type SyncTopic =
  | { node: string; kind: 'summary' | 'live' }
  | { node: string; kind: 'req' | 'batch'; to: string }

const KEY = /^[0-9a-f]{64}$/

export function summaryTopic(siteHex: string, keyHex: string): string {
  return `latchkey/${siteHex}/node/${keyHex}/summary`
}
export function liveTopic(siteHex: string, keyHex: string): string {
  return `latchkey/${siteHex}/node/${keyHex}/live`
}
export function requestTopic(siteHex: string, keyHex: string, peerHex: string): string {
  return `latchkey/${siteHex}/node/${keyHex}/req/${peerHex}`
}
export function batchTopic(siteHex: string, keyHex: string, peerHex: string): string {
  return `latchkey/${siteHex}/node/${keyHex}/batch/${peerHex}`
}
/** What a node subscribes to. */
export function syncSubscriptions(siteHex: string, keyHex: string): string[] {
  const p = `latchkey/${siteHex}/node/+`
  return [`${p}/summary`, `${p}/live`, `${p}/req/${keyHex}`, `${p}/batch/${keyHex}`]
}

export function parseSyncTopic(siteHex: string, topic: string): SyncTopic | null {
  const parts = topic.split('/')
  if (parts[0] !== 'latchkey' || parts[1] !== siteHex || parts[2] !== 'node') return null
  const node = parts[3] ?? ''
  if (!KEY.test(node)) return null
  const kind = parts[4]
  if (parts.length === 5 && (kind === 'summary' || kind === 'live')) return { node, kind }
  const to = parts[5] ?? ''
  if (parts.length === 6 && (kind === 'req' || kind === 'batch') && KEY.test(to)) return { node, kind, to }
  return null
}
