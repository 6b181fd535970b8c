/**
 * Strict Ed25519 verification as the protocol states it (docs/PROTOCOL.md §1.3), independent of
 * what a given OpenSSL build happens to refuse. A signature verifies only if every rule holds,
 * checked in this order (the first that fails names the refusal):
 *
 *   length         the public key is 32 bytes and the signature 64
 *   s-canonical    S (the signature's last 32 bytes, little-endian) < L
 *   a-canonical    the public key's y coordinate (its bytes without the top bit) < p
 *   a-small-order  the public key is not a point of small order
 *   r-canonical    R's y coordinate < p
 *   r-small-order  R is not a point of small order (the identity included)
 *   equation       A decodes to a curve point and the encoding of [S]B − [k]A equals R,
 *                  k = SHA-512(R || A || message) mod L (cofactorless; node:crypto)
 *
 * The first six are byte comparisons (no point arithmetic), cheap beside the verification.
 * Small order is decided by y alone, the sign bit ignored: the 8 points of order 1, 2, 4 and 8
 * have 5 canonical y values (1, p − 1, 0 and the two of order 8) and 2 non-canonical ones
 * (p ≡ 0 and p + 1 ≡ 1); ignoring the sign bit also covers x = 0 with the sign bit set, which
 * RFC 8032 refuses to decode. The canonical rules run first, so the non-canonical encodings are
 * refused as `*-canonical`; the list holds them anyway so the check stands on its own.
 */
import { createPublicKey, type KeyObject, verify } from 'node:crypto'

export type StrictRule =
  | 'length'
  | 's-canonical'
  | 'a-canonical'
  | 'a-small-order'
  | 'r-canonical'
  | 'r-small-order'
  | 'equation'

/** The rules in the order they are checked. */
export const STRICT_RULES: readonly StrictRule[] = [
  'length',
  's-canonical',
  'a-canonical',
  'a-small-order',
  'r-canonical',
  'r-small-order',
  'equation',
]

/** L = 2^252 + 27742317777372353535851937790883648493, little-endian. */
const L_LE = hex('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010')

/**
 * The y coordinates of the small-order points, little-endian with the sign bit cleared: the
 * 5 canonical ones, then p and p + 1.
 */
const SMALL_ORDER_Y: readonly Uint8Array[] = [
  '0100000000000000000000000000000000000000000000000000000000000000', // 1: identity (order 1)
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p − 1: order 2
  '0000000000000000000000000000000000000000000000000000000000000000', // 0: order 4
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', // order 8
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', // order 8
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p ≡ 0: order 4
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p + 1 ≡ 1: identity
].map(hex)

function hex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'hex'))
}

/** `b[off…off+32)` as a little-endian integer is < the little-endian `bound`. */
function lessThan(b: Uint8Array, off: number, bound: Uint8Array, topMask: number): boolean {
  for (let i = 31; i >= 0; i--) {
    const x = i === 31 ? b[off + i]! & topMask : b[off + i]!
    const y = bound[i]!
    if (x !== y) return x < y
  }
  return false
}

/** The 255-bit y of the point encoded at `b[off…off+32)` is < p = 2^255 − 19. */
function canonicalY(b: Uint8Array, off: number): boolean {
  if ((b[off + 31]! & 0x7f) !== 0x7f) return true
  for (let i = 30; i >= 1; i--) if (b[off + i] !== 0xff) return true
  return b[off]! < 0xed
}

function smallOrder(b: Uint8Array, off: number): boolean {
  next: for (const y of SMALL_ORDER_Y) {
    if ((b[off + 31]! & 0x7f) !== y[31]) continue
    for (let i = 0; i < 31; i++) if (b[off + i] !== y[i]) continue next
    return true
  }
  return false
}

/**
 * The first of the byte-level rules that `pub` and `sig` break, or null when they keep them all
 * (the equation is then node:crypto's to check).
 */
export function strictPrecheck(pub: Uint8Array, sig: Uint8Array): StrictRule | null {
  if (pub.length !== 32 || sig.length !== 64) return 'length'
  if (!lessThan(sig, 32, L_LE, 0xff)) return 's-canonical'
  if (!canonicalY(pub, 0)) return 'a-canonical'
  if (smallOrder(pub, 0)) return 'a-small-order'
  if (!canonicalY(sig, 0)) return 'r-canonical'
  if (smallOrder(sig, 0)) return 'r-small-order'
  return null
}

const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')

function keyObject(pub: Uint8Array): KeyObject {
  return createPublicKey({
    key: Buffer.concat([SPKI_ED25519_PREFIX, pub]),
    format: 'der',
    type: 'spki',
  })
}

/**
 * The rule that refuses the signature `sig` of `msg` by `pub`, or null when it verifies.
 * `key` may pass the public key already imported, to spare the import.
 */
export function strictVerdict(
  pub: Uint8Array,
  msg: Uint8Array,
  sig: Uint8Array,
  key?: KeyObject,
): StrictRule | null {
  const rule = strictPrecheck(pub, sig)
  if (rule) return rule
  try {
    return verify(null, msg, key ?? keyObject(pub), sig) ? null : 'equation'
  } catch {
    // A public key that does not decode to a curve point cannot be imported.
    return 'equation'
  }
}

/** Strict Ed25519: every rule of the header holds. Never throws for bad input. */
export function verifyStrict(pub: Uint8Array, msg: Uint8Array, sig: Uint8Array, key?: KeyObject): boolean {
  return strictVerdict(pub, msg, sig, key) === null
}
