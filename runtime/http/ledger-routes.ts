/**
 * Ledger routes: how a client that holds a key the node does not (an admin on their laptop)
 * writes a record. `prepare` returns the unsigned next record of the key the request is signed
 * by, judged as the fold would judge it at the tip; the client checks it says what was asked,
 * signs its id, and `submit`s it; the node checks and judges it again and stores it, or refuses
 * it and keeps nothing (docs/PROTOCOL.md §4, "Records from key holders").
 *
 *   POST /api/v1/ledger/prepare  {type, body: hex CBOR, author?: hex key}  → {record: hex, id: hex}
 *   POST /api/v1/ledger/submit   {wire: hex (sig || record)}               → {id, duplicate, status, rejection}
 *
 * A refusal answers 4xx `{error: {code, reason, message}}` (runtime/core/errors/ledger.ts).
 */
import { httpErrors, refusals } from '../core/errors/index.ts'
import type { Ledger } from '../core/ledger/ledger.ts'
import { Reason } from '../core/ledger/reasons.ts'
import { fromHex, toHex } from '../core/ledger/record.ts'
import type { Caller, HttpServer, RouteHandler } from './server.ts'

const HEX = /^(?:[0-9a-f]{2})*$/

function hexField(body: unknown, key: string): Uint8Array {
  const v = (body as Record<string, unknown> | null)?.[key]
  if (typeof v !== 'string' || !HEX.test(v))
    throw httpErrors.BAD_REQUEST(`\`${key}\` must be lower-case hex`, Reason.MALFORMED)
  return fromHex(v)
}

/** The key a request writes as: the one it is signed by, never the node's own. */
function writer(caller: Caller | null, nodeKey: () => string | null): string {
  if (!caller) throw httpErrors.UNSIGNED()
  if (caller.key === nodeKey()) throw refusals.NODE_KEY()
  return caller.key
}

/** Where the routes are registered: the HTTP server (or, in tests, anything that collects them). */
export type RouteTable = Pick<HttpServer, 'route'>

export interface LedgerRouteOptions {
  ledger: () => Ledger | null
  /** The node's own public key, hex: its records are written only by the node. */
  nodeKey: () => string | null
}

export function ledgerRoutes(http: RouteTable, opts: LedgerRouteOptions): void {
  const open = () => {
    const l = opts.ledger()
    if (!l?.opened) throw httpErrors.NOT_OPEN()
    return l
  }
  const prepare: RouteHandler = ({ body, caller }) => {
    const key = writer(caller, opts.nodeKey)
    const fields = body as { type?: unknown; author?: unknown } | null
    if (typeof fields?.type !== 'string') throw httpErrors.BAD_REQUEST('`type` must be a record type')
    if (fields.author !== undefined && fields.author !== key)
      throw refusals.WRONG_AUTHOR(String(fields.author), key)
    const r = open().admin.prepare(fields.type, hexField(body, 'body'), fromHex(key))
    return { record: toHex(r.bytes), id: toHex(r.id) }
  }
  const submit: RouteHandler = ({ body, caller }) => {
    const key = writer(caller, opts.nodeKey)
    return open().admin.submit(hexField(body, 'wire'), { author: key })
  }
  http.route('POST', '/api/v1/ledger/prepare', prepare)
  http.route('POST', '/api/v1/ledger/submit', submit)
}
