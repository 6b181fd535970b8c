/**
 * Signed, self-contained ledger exports that anyone can verify offline.
 *
 * Layout: the 16-byte magic "LATCHKEY-EXPORT\n", then frames of (u32 big-endian length, bytes):
 *   - a header: CBOR {format: 1, site}
 *   - every record in wire form (sig || bytes), each author's chain in seq order, the genesis
 *     author first
 *   - a trailer: CBOR {count, digest, exporter, hlc, sig}, where digest = SHA-256 over every
 *     record frame (length prefix included) and sig = Ed25519 by `exporter` over
 *     SHA-256("latchkey/export/v1\0" || CBOR {site, count, digest, exporter, hlc}).
 * Verification checks every signature (strict RFC 8032), every hash link, the site of every
 * record, the digest, the trailer signature, and that the exporter is a key the exported
 * ledger itself enrols.
 */
import { createHash, sign as edSign } from 'node:crypto'
import { closeSync, openSync, readSync, writeSync } from 'node:fs'
import * as dagCbor from '@ipld/dag-cbor'
import { verifyStrict } from '../ed25519-strict.ts'
import type { Ledger, Signer } from './ledger.ts'
import {
  decodeBody,
  decodeWire,
  equalBytes,
  GENESIS_SITE,
  type SignedRecord,
  toHex,
  verifySignature,
  wireBytes,
} from './record.ts'

const MAGIC = Buffer.from('LATCHKEY-EXPORT\n')
const TRAILER_DOMAIN = Buffer.from('latchkey/export/v1\0')

export interface ExportSummary {
  file: string
  count: number
  site: string
  exporter: string
}

export interface ExportVerification {
  ok: boolean
  checked: number
  site: string | null
  exporter: string | null
  /** The first problem found, naming the record (author, seq, id) where there is one. */
  problem: { author?: string; seq?: number; id?: string; problem: string } | null
}

function frame(bytes: Uint8Array): Buffer {
  const len = Buffer.alloc(4)
  len.writeUInt32BE(bytes.length)
  return Buffer.concat([len, bytes])
}

function trailerMessage(t: {
  site: Uint8Array
  count: number
  digest: Uint8Array
  exporter: Uint8Array
  hlc: number[]
}): Buffer {
  const body = dagCbor.encode({
    site: t.site,
    count: t.count,
    digest: t.digest,
    exporter: t.exporter,
    hlc: t.hlc,
  })
  return createHash('sha256').update(TRAILER_DOMAIN).update(body).digest()
}

export function writeExport(ledger: Ledger, file: string, signer: Signer): ExportSummary {
  const site = ledger.site
  if (!site) throw new Error('the ledger has no site: nothing to export')
  const fd = openSync(file, 'w', 0o644)
  const digest = createHash('sha256')
  let count = 0
  try {
    writeSync(fd, MAGIC)
    writeSync(fd, frame(dagCbor.encode({ format: 1, site })))
    let buffered: Buffer[] = []
    let size = 0
    for (const r of ledger.query.records()) {
      const f = frame(wireBytes(r))
      digest.update(f)
      buffered.push(f)
      size += f.length
      count++
      if (size > 1 << 20) {
        writeSync(fd, Buffer.concat(buffered))
        buffered = []
        size = 0
      }
    }
    if (buffered.length) writeSync(fd, Buffer.concat(buffered))
    const hlc = ledger.admin.clock.tick()
    const t = {
      site,
      count,
      digest: new Uint8Array(digest.digest()),
      exporter: signer.publicKey,
      hlc: [hlc.ms, hlc.c],
    }
    const sig = new Uint8Array(edSign(null, trailerMessage(t), signer.privateKeyObject))
    writeSync(fd, frame(dagCbor.encode({ count, digest: t.digest, exporter: t.exporter, hlc: t.hlc, sig })))
  } finally {
    closeSync(fd)
  }
  return { file, count, site: toHex(site), exporter: toHex(signer.publicKey) }
}

/** Reads frames from a file without loading it whole. */
function* frames(file: string): Generator<Uint8Array> {
  const fd = openSync(file, 'r')
  try {
    const magic = Buffer.alloc(MAGIC.length)
    if (readSync(fd, magic, 0, magic.length, null) !== magic.length || !magic.equals(MAGIC)) {
      throw new Error('not a latchkey export (bad magic)')
    }
    const len = Buffer.alloc(4)
    for (;;) {
      const n = readSync(fd, len, 0, 4, null)
      if (n === 0) return
      if (n !== 4) throw new Error('truncated frame length')
      const size = len.readUInt32BE()
      if (size > 1 << 24) throw new Error(`frame of ${size} bytes is implausibly large`)
      const buf = Buffer.alloc(size)
      if (readSync(fd, buf, 0, size, null) !== size) throw new Error('truncated frame')
      yield new Uint8Array(buf)
    }
  } finally {
    closeSync(fd)
  }
}

export function verifyExportFile(file: string): ExportVerification {
  const result: ExportVerification = { ok: false, checked: 0, site: null, exporter: null, problem: null }
  const fail = (problem: ExportVerification['problem']) => ({ ...result, problem })
  let site: Uint8Array | null = null
  const digest = createHash('sha256')
  const heads = new Map<string, { seq: number; id: Uint8Array }>()
  const enrolled = new Set<string>()
  let pending: Uint8Array | null = null
  let index = 0
  try {
    for (const f of frames(file)) {
      if (index++ === 0) {
        const header = decodeCbor(f) as { format?: unknown; site?: unknown } | null
        if (header?.format !== 1 || !(header.site instanceof Uint8Array))
          return fail({ problem: 'unsupported export header' })
        site = header.site
        result.site = toHex(site)
        continue
      }
      // The last frame is the trailer: hold each frame back by one.
      if (pending) {
        const problem = checkRecord(pending, site!, heads, enrolled)
        if (problem) return fail(problem)
        result.checked++
        digest.update(frame(pending))
      }
      pending = f
    }
  } catch (err) {
    return fail({ problem: (err as Error).message })
  }
  if (!pending || !site) return fail({ problem: 'export has no trailer' })
  const t = decodeTrailer(pending)
  if (typeof t === 'string') return fail({ problem: t })
  result.exporter = toHex(t.exporter)
  if (t.count !== result.checked)
    return fail({ problem: `trailer counts ${t.count} records, the file holds ${result.checked}` })
  if (!equalBytes(new Uint8Array(digest.digest()), t.digest))
    return fail({ problem: 'digest mismatch: records were altered, added or removed' })
  if (!verifyStrict(t.exporter, trailerMessage({ ...t, site }), t.sig))
    return fail({ problem: 'the export signature does not verify' })
  if (!enrolled.has(toHex(t.exporter)))
    return fail({ problem: 'the exporter is not a key enrolled in this ledger' })
  return { ...result, ok: true }
}

interface Trailer {
  count: number
  digest: Uint8Array
  exporter: Uint8Array
  hlc: number[]
  sig: Uint8Array
}

function decodeCbor(bytes: Uint8Array): unknown {
  try {
    return dagCbor.decode(bytes)
  } catch {
    return undefined
  }
}

/** The trailer frame, or a sentence saying why the last frame is not one. */
function decodeTrailer(bytes: Uint8Array): Trailer | string {
  const t = decodeCbor(bytes) as Partial<Trailer> | null | undefined
  const bytesOf = (v: unknown, n: number) => v instanceof Uint8Array && v.length === n
  if (
    typeof t !== 'object' ||
    t === null ||
    !Number.isSafeInteger(t.count) ||
    !bytesOf(t.digest, 32) ||
    !bytesOf(t.exporter, 32) ||
    !bytesOf(t.sig, 64) ||
    !Array.isArray(t.hlc) ||
    t.hlc.length !== 2 ||
    !t.hlc.every((n) => Number.isSafeInteger(n) && n >= 0)
  )
    return 'the last frame is not an export trailer (the file is truncated or was altered)'
  return t as Trailer
}

function checkRecord(
  wire: Uint8Array,
  site: Uint8Array,
  heads: Map<string, { seq: number; id: Uint8Array }>,
  enrolled: Set<string>,
): ExportVerification['problem'] {
  let r: SignedRecord
  try {
    r = decodeWire(wire)
  } catch (err) {
    return { problem: `a record does not decode: ${(err as Error).message}` }
  }
  const where = { author: toHex(r.author), seq: r.seq, id: toHex(r.id) }
  const isGenesis = r.type === 'site.genesis' && equalBytes(r.site, GENESIS_SITE)
  if (isGenesis ? !equalBytes(r.id, site) : !equalBytes(r.site, site))
    return { ...where, problem: 'record belongs to another site' }
  const head = heads.get(where.author)
  if (r.seq !== (head?.seq ?? 0) + 1)
    return { ...where, problem: `sequence gap: expected ${(head?.seq ?? 0) + 1}` }
  if (head && (!r.prev || !equalBytes(r.prev, head.id)))
    return { ...where, problem: 'hash link broken: prev is not the previous record' }
  if (!verifySignature(r)) return { ...where, problem: 'signature does not verify' }
  heads.set(where.author, { seq: r.seq, id: r.id })
  if (r.type === 'site.genesis' || r.type === 'site.enrol') {
    const body = decodeBody<{ admins?: Uint8Array[]; key?: Uint8Array }>(r.body)
    for (const k of r.type === 'site.genesis' ? (body.admins ?? []) : body.key ? [body.key] : [])
      enrolled.add(toHex(k))
  }
  return null
}
