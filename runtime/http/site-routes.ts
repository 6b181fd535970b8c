/**
 * Site creation through a running node (docs/PROTOCOL.md, "Bootstrap"). A node without a site
 * holds a one-time setup token, written 0600 to `<dataDir>/setup.token`: whoever can read the
 * node's data directory may create its site, nobody else.
 *
 *   POST /api/v1/site/genesis  Authorization: Bearer <token>  {wire: hex (sig || genesis record)}
 *                                                             → {site: hex}
 *
 * Once the site exists the route refuses everything (LK_SITE_EXISTS, 409); the new admin then
 * enrols the node's key through the signed ledger routes.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { errors, httpErrors } from '../core/errors/index.ts'
import type { Ledger } from '../core/ledger/ledger.ts'
import { decodeWire, fromHex, toHex } from '../core/ledger/record.ts'
import type { HttpServer } from './server.ts'

const HEX = /^(?:[0-9a-f]{2})+$/
const BEARER = /^Bearer ([0-9a-f]{64})$/

/** Constant-time comparison of two tokens (their hashes have equal length whatever was sent). */
function sameToken(given: string, expected: string): boolean {
  const h = (s: string) => createHash('sha256').update(s).digest()
  return timingSafeEqual(h(given), h(expected))
}

export function siteRoutes(
  http: HttpServer,
  opts: {
    ledger: () => Ledger | null
    /** The setup token while the node has no site; null after. */
    token: () => string | null
    /** Called once the genesis is in the ledger: the token is spent. */
    created: () => void
    dataDir: string
  },
): void {
  http.route(
    'POST',
    '/api/v1/site/genesis',
    ({ headers, body }) => {
      const ledger = opts.ledger()
      if (!ledger?.opened) throw httpErrors.BAD_REQUEST('the ledger is not open')
      // Rule: a node joins one site for life.
      if (ledger.site) throw errors.SITE_EXISTS(toHex(ledger.site))
      const expected = opts.token()
      const given = BEARER.exec(headers.authorization ?? '')?.[1]
      if (!expected || !given || !sameToken(given, expected)) throw httpErrors.SETUP_TOKEN(opts.dataDir)
      const hex = (body as { wire?: unknown } | null)?.wire
      if (typeof hex !== 'string' || !HEX.test(hex))
        throw httpErrors.BAD_REQUEST('`wire` must be the signed genesis record as lower-case hex')
      const wire = fromHex(hex)
      let type: string
      try {
        type = decodeWire(wire).type
      } catch (err) {
        throw httpErrors.BAD_REQUEST(`\`wire\` is not a signed record: ${(err as Error).message}`)
      }
      if (type !== 'site.genesis')
        throw httpErrors.BAD_REQUEST(`\`wire\` is a ${type} record, not a site.genesis`)
      // Checked and stored as any key holder's record: a refusal keeps nothing.
      const { id } = ledger.admin.submit(wire)
      opts.created()
      return { site: id }
    },
    'public',
  )
}
