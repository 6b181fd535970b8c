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
 * Verification (`verifyExportFile`) checks the file, then replays the records through a fresh
 * ledger by the rules a node ingests and folds them by (./replay.ts): every record must be
 * stored and applied, and the exporter must hold a role allowed to export in the state they
 * fold to.
 */
import { createHash, sign as edSign } from 'node:crypto'
import { closeSync, openSync, readSync, writeSync } from 'node:fs'
import * as dagCbor from '@ipld/dag-cbor'
import { verifyStrict } from '../ed25519-strict.ts'
import type { Logger } from '../log.ts'
import type { LedgerDapp } from './dapp.ts'
import type { Hlc } from './hlc.ts'
import type { Ledger, Signer } from './ledger.ts'
import { Reason } from './reasons.ts'
import { decodeWire, equalBytes, RecordError, toHex, wireBytes } from './record.ts'
import { Replay } from './replay.ts'
import { keyStateKey } from './site-dapp.ts'

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
  /** Record frames read. */
  checked: number
  site: string | null
  exporter: string | null
  /** The exporter's role in the state the records fold to, or null. */
  exporterRole: string | null
  /** The state hash the records fold to (docs/PROTOCOL.md §5), once they were replayed. */
  stateHash: string | null
  /** The first problem found, naming the record (author, seq, id) where there is one. */
  problem: ExportProblem | null
}

export interface ExportProblem {
  author?: string
  seq?: number
  id?: string
  /** The protocol reason code (docs/PROTOCOL.md §4, §5) when a record is refused by the rules. */
  reason?: string
  /**
   * `file`: the framing, header or trailer; `site`: not the site pinned; `ingest`: a record
   * refused before it is stored; `fold`: stored and not applied; `exporter`: the signing key.
   */
  stage: 'file' | 'site' | 'ingest' | 'fold' | 'exporter'
  problem: string
}

export interface ExportVerifyOptions {
  /** The dapps the records are folded with, as a node folds them. */
  dapps: readonly LedgerDapp[]
  log: Logger
  /** The site the export must belong to (null or absent: the one its header names). */
  site?: Uint8Array | null
}

/** Roles whose key may sign an export (docs/PROTOCOL.md, Exports). */
export const EXPORT_ROLES: ReadonlySet<string> = new Set(['admin', 'device'])

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
  return writeExportWires(file, {
    site,
    wires: mapIter(ledger.query.records(), wireBytes),
    signer,
    hlc: () => ledger.admin.clock.tick(),
  })
}

/**
 * Writes an export of `wires` (records in wire form, in the order given) and signs it: what
 * `writeExport` does with a ledger's records, for any records. `hlc` is read once every
 * record is written (the exporter's clock when it signs).
 */
export function writeExportWires(
  file: string,
  opts: { site: Uint8Array; wires: Iterable<Uint8Array>; signer: Signer; hlc: () => Hlc },
): ExportSummary {
  const { site, signer } = opts
  const fd = openSync(file, 'w', 0o644)
  const digest = createHash('sha256')
  let count = 0
  try {
    writeSync(fd, MAGIC)
    writeSync(fd, frame(dagCbor.encode({ format: 1, site })))
    let buffered: Buffer[] = []
    let size = 0
    for (const wire of opts.wires) {
      const f = frame(wire)
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
    const hlc = opts.hlc()
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

function* mapIter<T, U>(xs: Iterable<T>, f: (x: T) => U): Generator<U> {
  for (const x of xs) yield f(x)
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

/**
 * Verifies an export as docs/PROTOCOL.md "Exports" states it: the file (framing, header, every
 * record decodes, count, digest, trailer signature), the pinned site, then the rules a node
 * applies at ingest and in the fold, by replaying every record through a fresh ledger
 * (./replay.ts): every record must be stored and applied, and the exporter must hold a role
 * allowed to export in the state they fold to. Names the first failure.
 */
export async function verifyExportFile(file: string, opts: ExportVerifyOptions): Promise<ExportVerification> {
  const read = readExport(file)
  const result: ExportVerification = {
    ok: false,
    checked: read.checked,
    site: read.site ? toHex(read.site) : null,
    exporter: read.exporter ? toHex(read.exporter) : null,
    exporterRole: null,
    stateHash: null,
    problem: read.problem,
  }
  if (read.problem || !read.site || !read.exporter) return result
  const site = read.site
  if (opts.site && !equalBytes(opts.site, site)) {
    result.problem = {
      stage: 'site',
      problem: `the export is of site ${toHex(site)}, not the site ${toHex(opts.site)} it must belong to`,
    }
    return result
  }
  const replay = await Replay.create({ dapps: opts.dapps, site, log: opts.log })
  try {
    for (const wire of recordFrames(file)) replay.push(wire)
    replay.finish()
    result.stateHash = replay.ledger.stateHash
    const refused = replay.firstRefused(recordFrames(file), { mustApply: true })
    if (refused) {
      const { stage, reason, problem, author, seq, id } = refused
      result.problem = { author, seq, id, reason, stage, problem }
      return result
    }
    const exporter = toHex(read.exporter)
    result.exporterRole = replay.ledger.roleOf(exporter)
    if (!result.exporterRole || !EXPORT_ROLES.has(result.exporterRole)) {
      const enrolled = replay.ledger.view.has(keyStateKey(exporter))
      result.problem = {
        stage: 'exporter',
        reason: enrolled ? Reason.REVOKED : Reason.NOT_AUTHORIZED,
        problem: enrolled
          ? `the exporter ${exporter} was enrolled but its key is cut (revoked or forked)`
          : `the exporter ${exporter} is not a key enrolled by an admin in this ledger`,
      }
      return result
    }
  } finally {
    await replay.close()
  }
  return { ...result, ok: true }
}

interface ReadResult {
  checked: number
  site: Uint8Array | null
  exporter: Uint8Array | null
  problem: ExportProblem | null
}

/** The file checks: framing, header, every record decodes, count, digest, trailer signature. */
function readExport(file: string): ReadResult {
  const result: ReadResult = { checked: 0, site: null, exporter: null, problem: null }
  const fail = (problem: string, more: Partial<ExportProblem> = {}): ReadResult => ({
    ...result,
    problem: { stage: 'file', problem, ...more },
  })
  const digest = createHash('sha256')
  let pending: Uint8Array | null = null
  let index = 0
  try {
    for (const f of frames(file)) {
      if (index++ === 0) {
        const header = decodeCbor(f) as { format?: unknown; site?: unknown } | null
        if (header?.format !== 1 || !(header.site instanceof Uint8Array) || header.site.length !== 32)
          return fail('unsupported export header')
        result.site = header.site
        continue
      }
      // The last frame is the trailer: hold each frame back by one.
      if (pending) {
        try {
          decodeWire(pending)
        } catch (err) {
          return fail(
            `record ${result.checked + 1} of the export does not decode: ${(err as Error).message}`,
            {
              stage: 'ingest',
              reason: err instanceof RecordError ? err.code : Reason.MALFORMED,
            },
          )
        }
        result.checked++
        digest.update(frame(pending))
      }
      pending = f
    }
  } catch (err) {
    return fail((err as Error).message)
  }
  if (!pending || !result.site) return fail('export has no trailer')
  const t = decodeTrailer(pending)
  if (typeof t === 'string') return fail(t)
  result.exporter = t.exporter
  if (t.count !== result.checked)
    return fail(`trailer counts ${t.count} records, the file holds ${result.checked}`)
  if (!equalBytes(new Uint8Array(digest.digest()), t.digest))
    return fail('digest mismatch: records were altered, added or removed')
  if (!verifyStrict(t.exporter, trailerMessage({ ...t, site: result.site }), t.sig))
    return fail('the export signature does not verify')
  return result
}

/** The record frames of an export the file checks passed: every frame but the header and the trailer. */
function* recordFrames(file: string): Generator<Uint8Array> {
  let pending: Uint8Array | null = null
  let index = 0
  for (const f of frames(file)) {
    if (index++ === 0) continue
    if (pending) yield pending
    pending = f
  }
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
