/**
 * Ledger routes: how a client that holds a key the node does not (an admin on their laptop)
 * writes a record. `prepare` returns the unsigned next record of that key; the client checks
 * it says what was asked, signs its id, and `submit`s it; the node ingests it like a record
 * from any peer (signature, chain, authority, the dapp's validator).
 *
 *   POST /api/v1/ledger/prepare  {type, body: hex CBOR, author: hex key}  → {record: hex, id: hex}
 *   POST /api/v1/ledger/submit   {wire: hex (sig || record)}              → {accepted, rejection}
 */
import { define } from '../errors.ts'
import type { Ledger } from '../ledger/ledger.ts'
import { fromHex, recordId, SIG_BYTES, toHex } from '../ledger/record.ts'
import type { HttpServer } from './server.ts'

export const httpErrors = {
  BAD_REQUEST: define('LK_HTTP_BAD_REQUEST', 'usage', (what: string) => `bad request: ${what}`),
  REFUSED: define(
    'LK_RECORD_REFUSED',
    'usage',
    (code: string, detail: string) => `the record was refused (${code}): ${detail}`,
    (code: string) => ({ reason: code }),
  ),
}

const HEX = /^(?:[0-9a-f]{2})*$/

function hexField(body: unknown, key: string, length?: number): Uint8Array {
  const v = (body as Record<string, unknown> | null)?.[key]
  if (typeof v !== 'string' || !HEX.test(v)) throw httpErrors.BAD_REQUEST(`\`${key}\` must be lower-case hex`)
  const bytes = fromHex(v)
  if (length !== undefined && bytes.length !== length)
    throw httpErrors.BAD_REQUEST(`\`${key}\` must be ${length} bytes`)
  return bytes
}

export function ledgerRoutes(http: HttpServer, ledger: () => Ledger | null): void {
  const open = () => {
    const l = ledger()
    if (!l?.opened) throw httpErrors.BAD_REQUEST('the ledger is not open')
    return l
  }
  http.route('POST', '/api/v1/ledger/prepare', ({ body }) => {
    const type = (body as { type?: unknown } | null)?.type
    if (typeof type !== 'string') throw httpErrors.BAD_REQUEST('`type` must be a record type')
    const r = open().prepare(type, hexField(body, 'body'), hexField(body, 'author', 32))
    return { record: toHex(r.bytes), id: toHex(r.id) }
  })
  http.route('POST', '/api/v1/ledger/submit', ({ body }) => {
    const l = open()
    const wire = hexField(body, 'wire')
    const report = l.ingest([wire])
    const reason = Object.keys(report.reasons)[0]
    if (report.accepted === 0 && report.duplicates === 0) {
      const q = l.quarantined().at(-1)
      throw httpErrors.REFUSED(reason ?? 'UNKNOWN', q?.detail ?? 'not accepted')
    }
    const id = toHex(recordId(wire.subarray(SIG_BYTES)))
    return {
      accepted: report.accepted === 1,
      duplicate: report.duplicates === 1,
      id,
      rejection: l.rejectionOf(id),
    }
  })
}
