/**
 * Release files: SHA256SUMS (the `sha256sum` format, one `<hex>  <name>` line per binary) and
 * its detached Ed25519 signature SHA256SUMS.sig. The signed bytes are the domain tag
 * `latchkey-release-sums-v1\0` followed by the exact bytes of SHA256SUMS, so a release
 * signature can never be replayed as a ledger record or the other way round. The .sig file
 * is one line: `ed25519 <public key hex> <signature hex>`; the public key in it only says
 * which key signed: the verifier decides which key it trusts.
 */
import { createHash, sign } from 'node:crypto'
import { verifyStrict } from './core/ed25519-strict.ts'
import type { KeyPair } from './core/keys.ts'

const DOMAIN = Buffer.from('latchkey-release-sums-v1\0')

export function sumsFile(files: ReadonlyArray<{ name: string; bytes: Uint8Array }>): string {
  return files.map((f) => `${createHash('sha256').update(f.bytes).digest('hex')}  ${f.name}\n`).join('')
}

/** Parses SHA256SUMS; a line that is not `<64 hex>  <name>` makes the whole file invalid. */
export function parseSums(text: string): Array<{ sha256: string; name: string }> | null {
  const out: Array<{ sha256: string; name: string }> = []
  for (const line of text.split('\n')) {
    if (line === '') continue
    const m = /^([0-9a-f]{64}) [ *]([^/\0]+)$/.exec(line)
    if (!m) return null
    out.push({ sha256: m[1] as string, name: m[2] as string })
  }
  return out
}

export function signRelease(sums: Uint8Array, key: KeyPair): string {
  const sig = sign(null, Buffer.concat([DOMAIN, sums]), key.privateKeyObject)
  return `ed25519 ${key.id} ${sig.toString('hex')}\n`
}

export type SignatureVerdict =
  | { ok: true; signer: string }
  | { ok: false; reason: 'malformed' | 'other-key' | 'bad-signature'; signer?: string }

/** Checks `sig` (the .sig file's text) over `sums` against the trusted public key (hex). */
export function verifyReleaseSignature(sums: Uint8Array, sig: string, trusted: string): SignatureVerdict {
  const m = /^ed25519 ([0-9a-f]{64}) ([0-9a-f]{128})\n?$/.exec(sig)
  if (!m) return { ok: false, reason: 'malformed' }
  const signer = m[1] as string
  if (signer !== trusted) return { ok: false, reason: 'other-key', signer }
  // Strict Ed25519 (docs/PROTOCOL.md §1.3), as for records.
  const good = verifyStrict(
    Buffer.from(trusted, 'hex'),
    Buffer.concat([DOMAIN, sums]),
    Buffer.from(m[2] as string, 'hex'),
  )
  return good ? { ok: true, signer } : { ok: false, reason: 'bad-signature', signer }
}
