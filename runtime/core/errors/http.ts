/**
 * Refusals of the HTTP API (docs/PROTOCOL.md, "HTTP API and authentication"). Each has a stable
 * code and an HTTP status: 401 when the request does not prove who sent it, 403 when it does but
 * that key may not do this, 4xx for any other mistake of the client, never 500 but for the
 * node's own failure. The ledger routes' record refusals are in ledger.ts.
 */

import { Reason } from '../ledger/reasons.ts'
import { define } from './define.ts'

export const httpErrors = {
  // Who signed the request
  UNAUTHENTICATED: define(
    'LK_HTTP_UNAUTHENTICATED',
    'usage',
    (path: string) =>
      `${path} answers signed requests only: sign it with an enrolled key (HTTP Message Signatures, docs/PROTOCOL.md)`,
    () => ({}),
    401,
  ),
  SIGNATURE_MALFORMED: define(
    'LK_HTTP_SIGNATURE_MALFORMED',
    'usage',
    (what: string) => `the request signature is malformed: ${what}`,
    () => ({}),
    401,
  ),
  BAD_SIGNATURE: define(
    'LK_HTTP_BAD_SIGNATURE',
    'usage',
    (key: string) =>
      `the request signature does not verify with key ${key.slice(0, 16)}…: the request was altered or signed by another key`,
    (key: string) => ({ key }),
    401,
  ),
  DIGEST_MISMATCH: define(
    'LK_HTTP_DIGEST_MISMATCH',
    'usage',
    () => 'the request body does not match its Content-Digest: the body was altered after signing',
    () => ({}),
    401,
  ),
  REPLAYED: define(
    'LK_HTTP_REPLAYED',
    'usage',
    (nonce: string) => `the signature nonce ${nonce} was already used: sign every request afresh`,
    (nonce: string) => ({ nonce }),
    401,
  ),
  RATE_LIMITED: define(
    'LK_HTTP_RATE_LIMITED',
    'usage',
    (key: string, limit: number) =>
      `key ${key.slice(0, 16)}… signed more than ${limit} requests within the freshness window; wait a few minutes`,
    (key: string, limit: number) => ({ key, limit }),
    429,
  ),
  CLOCK_SKEW: define(
    'LK_HTTP_CLOCK_SKEW',
    'usage',
    (created: number, now: number, windowS: number) =>
      `the signature was created at ${new Date(created * 1000).toISOString()}, more than ${windowS} s from this node's clock (${new Date(now).toISOString()}): fix the clock, or sign again with the node's time (\`now\`)`,
    (created: number, now: number, windowS: number) => ({ created, now, windowS }),
    401,
  ),
  WRONG_SITE: define(
    'LK_HTTP_WRONG_SITE',
    'usage',
    (tag: string, site: string | null) =>
      site
        ? `the request was signed for ${tag}, not for this node's site ${site}`
        : `the request was signed for ${tag}, but this node has no site yet`,
    (_tag: string, site: string | null) => ({ site }),
    401,
  ),
  NOT_ENROLLED: define(
    'LK_HTTP_KEY_NOT_ENROLLED',
    'usage',
    (key: string) =>
      `key ${key.slice(0, 16)}… is not enrolled in this site (unknown, revoked or cut): enrol it with \`latchkey key enrol\``,
    (key: string) => ({ key }),
    403,
  ),
  FORBIDDEN: define(
    'LK_HTTP_FORBIDDEN',
    'usage',
    (route: string, role: string, roles: readonly string[]) =>
      `${route} is for ${roles.join(' or ')} keys; the signing key is a ${role}`,
    (_route: string, role: string, roles: readonly string[]) => ({ role, roles }),
    403,
  ),
  SETUP_TOKEN: define(
    'LK_HTTP_SETUP_TOKEN',
    'usage',
    (dataDir: string) =>
      `creating the site needs the node's setup token (Authorization: Bearer <token from ${dataDir}/setup.token>)`,
    () => ({}),
    401,
  ),
  NOT_FOUND: define(
    'LK_HTTP_NOT_FOUND',
    'usage',
    (method: string, url: string) => `no route ${method} ${url}`,
    () => ({}),
    404,
  ),
  BODY_TOO_LARGE: define(
    'LK_HTTP_BODY_TOO_LARGE',
    'usage',
    (limit: number) => `the request body is larger than ${limit} bytes`,
    (limit: number) => ({ limit }),
    413,
  ),
  MEDIA_TYPE: define(
    'LK_HTTP_MEDIA_TYPE',
    'usage',
    (type: string) =>
      `the request body is ${type ? `of type ${type}` : 'of no declared type'}; send application/json`,
    () => ({}),
    415,
  ),
  INTERNAL: define(
    'LK_HTTP_INTERNAL',
    'operational',
    (what: string) => `the node failed to answer: ${what}`,
    () => ({}),
    500,
  ),

  // The ledger routes (prepare, submit)
  BAD_REQUEST: define(
    'LK_HTTP_BAD_REQUEST',
    'usage',
    (what: string, _reason?: string) => `bad request: ${what}`,
    (_what: string, reason: string = Reason.BAD_FIELD) => ({ reason }),
    400,
  ),
  UNSIGNED: define(
    'LK_LEDGER_UNSIGNED',
    'usage',
    () => 'records are prepared and submitted only in requests signed by an enrolled key',
    () => ({}),
    401,
  ),
  NOT_OPEN: define(
    'LK_LEDGER_NOT_OPEN',
    'operational',
    () => 'the ledger is not open yet',
    () => ({}),
    503,
  ),
}
