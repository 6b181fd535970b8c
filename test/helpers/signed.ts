/**
 * Signed requests for tests: the HTTP API answers enrolled keys only (docs/PROTOCOL.md).
 * `signedFetch(key)` has the shape of `fetch(url, init)` and signs with `key`; `nodeKey(dataDir)`
 * is the node key of a data directory (a device key once `site init` enrolled it).
 */
import { join } from 'node:path'
import { type KeyPair, readKeyFile } from '../../runtime/core/keys.ts'
import { LatchkeyClient } from '../../runtime/http/client.ts'

export function nodeKey(dataDir: string): KeyPair {
  return readKeyFile(join(dataDir, 'keys', 'node.key'))
}

export function adminKey(dataDir: string): KeyPair {
  return readKeyFile(join(dataDir, 'keys', 'admin.key'))
}

/** `fetch(url, init)` signed by `key` (the site id is learned from the node's public status). */
export function signedFetch(
  key: KeyPair,
  opts: { site?: string; now?: () => number } = {},
): (url: string, init?: RequestInit) => Promise<Response> {
  return (url, init = {}) => {
    const u = new URL(url)
    const client = new LatchkeyClient({ baseUrl: u.origin, key, ...opts })
    return client.send(init.method ?? 'GET', u.pathname + u.search, init.body as string | undefined, {
      headers: (init.headers ?? {}) as Record<string, string>,
    })
  }
}
