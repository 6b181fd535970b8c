/**
 * Derives test/vectors/ed25519-strict.json: at least one signature per rule of strict Ed25519
 * (docs/PROTOCOL.md §1.3), each with the verdict the protocol requires and the rule that
 * refuses it. Fixed seeds and nonces, so every run prints the same file.
 *
 *   node scripts/ed25519-vectors.ts          prints the file
 *   node scripts/ed25519-vectors.ts --write  writes it
 *
 * Forgeries are built with @noble/ed25519's point arithmetic: a small-order key or R needs no
 * secret. test/ed25519-strict.test.ts checks every vector with the node's verifier and with an
 * independent one built on noble.
 */
import { createHash, verify } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import * as ed from '@noble/ed25519'
import { keyPairFromSeed, publicKeyObject } from '../runtime/core/keys.ts'

ed.hashes.sha512 = (m) => new Uint8Array(createHash('sha512').update(m).digest())

export const VECTORS_FILE = new URL('../test/vectors/ed25519-strict.json', import.meta.url)

/** Ed25519 group order L and field prime p. */
const L = 2n ** 252n + 27742317777372353535851937790883648493n
const P = 2n ** 255n - 19n
const MESSAGE = new TextEncoder().encode('latchkey/ed25519-strict/v1 test message')
const OTHER_MESSAGE = new TextEncoder().encode('another message')
const SEED = new Uint8Array(32).fill(0x01)

export interface StrictVector {
  name: string
  note: string
  /** Hex. */
  pub: string
  msg: string
  sig: string
  valid: boolean
  /** The first rule the signature breaks (docs/PROTOCOL.md §1.3), or null when it is valid. */
  rule: string | null
  /** What node:crypto alone answers on the Node version named in the file (informative). */
  nodeCryptoAlone: boolean
}

export interface StrictVectorFile {
  description: string
  node: string
  message: string
  vectors: StrictVector[]
}

const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex')
const concat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts))

function leToBigint(b: Uint8Array): bigint {
  let n = 0n
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]!)
  return n
}

function le32(n: bigint): Uint8Array {
  const out = new Uint8Array(32)
  for (let i = 0; i < 32; i++) {
    out[i] = Number(n & 0xffn)
    n >>= 8n
  }
  return out
}

const mod = (a: bigint, m: bigint) => ((a % m) + m) % m

/** k = SHA-512(R || A || M) mod L, over the exact bytes. */
function challenge(R: Uint8Array, A: Uint8Array, msg: Uint8Array): bigint {
  return leToBigint(new Uint8Array(createHash('sha512').update(R).update(A).update(msg).digest())) % L
}

/** [n]P for any n ≥ 0 (noble's safe multiply refuses 0). */
function mul(p: ed.Point, n: bigint): ed.Point {
  const m = mod(n, L)
  return m === 0n ? ed.Point.ZERO : p.multiply(m)
}

/** A 32-byte encoding of y (little-endian) with the sign bit `sign`. */
function encodeY(y: bigint, sign: 0 | 1): Uint8Array {
  const b = le32(y)
  b[31] = (b[31]! & 0x7f) | (sign << 7)
  return b
}

/** The 8 points of small order, in their canonical encodings. */
function smallOrderPoints(): Array<{ name: string; label: string; bytes: Uint8Array }> {
  const T8 = ed.Point.fromHex('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a')
  const orders = ['1 (identity)', '8', '4', '8', '2', '8', '4', '8']
  return orders.map((order, j) => ({
    name: `${j}t`,
    label: `[${j}]T, order ${order}`,
    bytes: (j === 0 ? ed.Point.ZERO : T8.multiply(BigInt(j))).toBytes(),
  }))
}

function nodeCryptoAlone(pub: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
  try {
    return verify(null, msg, publicKeyObject(pub), sig)
  } catch {
    return false
  }
}

/**
 * A "signature" of `msg` under the small-order key encoded as `A` (decoded permissively), with
 * no secret: R = [s]B + Q for a small-order Q chosen so that [S]B − [k]A = R holds exactly
 * (cofactorless), S = s. Only the small-order (or canonical) rule refuses it.
 */
function smallOrderKeyForgery(A: Uint8Array, msg: Uint8Array): Uint8Array {
  const a = ed.Point.fromBytes(A, true)
  const torsion = smallOrderPoints().map((p) => ed.Point.fromBytes(p.bytes))
  for (let s = 5n; s < 200n; s++) {
    const sB = ed.Point.BASE.multiply(s)
    for (const Q of torsion) {
      const R = sB.add(Q).toBytes()
      const k = challenge(R, A, msg)
      if (sB.subtract(mul(a, k)).equals(ed.Point.fromBytes(R))) return concat(R, le32(s))
    }
  }
  throw new Error(`no forgery found for key ${toHex(A)}`)
}

/** The honest key's signature with R given: S = r + k·a, where R = [r]B + (anything). */
function signWithR(R: Uint8Array, r: bigint, msg: Uint8Array): Uint8Array {
  const { scalar, pointBytes } = ed.utils.getExtendedPublicKey(SEED)
  return concat(R, le32(mod(r + challenge(R, pointBytes, msg) * scalar, L)))
}

export function buildVectors(): StrictVectorFile {
  const honest = keyPairFromSeed(SEED)
  const pub = honest.publicKey
  const good = ed.sign(MESSAGE, SEED)
  const out: StrictVector[] = []
  const add = (
    name: string,
    note: string,
    A: Uint8Array,
    sig: Uint8Array,
    rule: string | null,
    msg = MESSAGE,
  ) =>
    out.push({
      name,
      note,
      pub: toHex(A),
      msg: toHex(msg),
      sig: toHex(sig),
      valid: rule === null,
      rule,
      nodeCryptoAlone: nodeCryptoAlone(A, msg, sig),
    })

  add('valid', 'An honest signature by the key of seed 0x01 × 32.', pub, good, null)
  add(
    'wrong-message',
    'The honest signature checked against another message.',
    pub,
    good,
    'equation',
    OTHER_MESSAGE,
  )
  add('short-key', 'A 31-byte public key.', pub.subarray(0, 31), good, 'length')
  add(
    's-plus-l',
    'The honest signature with S replaced by S + L (< 2^256): equal modulo L, not canonical.',
    pub,
    concat(good.subarray(0, 32), le32(leToBigint(good.subarray(32)) + L)),
    's-canonical',
  )

  // Small-order keys: the 8 points, then the encodings of x = 0 with the sign bit set.
  for (const { name, label, bytes } of smallOrderPoints()) {
    const anyMessage = label.includes('identity') ? ' Valid for any message under a permissive verifier.' : ''
    add(
      `small-order-key-${name}`,
      `Small-order public key ${label}, a forged signature that satisfies the cofactorless equation.${anyMessage}`,
      bytes,
      smallOrderKeyForgery(bytes, MESSAGE),
      'a-small-order',
    )
  }
  for (const [y, label] of [
    [1n, 'identity'],
    [P - 1n, 'order 2'],
  ] as const) {
    const A = encodeY(y, 1)
    add(
      `small-order-key-${label.replace(' ', '-')}-sign-bit`,
      `The ${label} point (x = 0) encoded with the sign bit set, which RFC 8032 does not decode; a permissive decoder reads it as the ${label}.`,
      A,
      smallOrderKeyForgery(A, MESSAGE),
      'a-small-order',
    )
  }

  // Non-canonical keys: y ≥ p. y = p + 1 ≡ 1 (identity) and y = p ≡ 0 (order 4) are small order.
  for (const [y, sign, name, label] of [
    [P + 1n, 0, 'identity', 'the identity (y = p + 1)'],
    [P + 1n, 1, 'identity-sign-bit', 'the identity (y = p + 1, sign bit set)'],
    [P, 0, 'order4', 'a point of order 4 (y = p)'],
    [P, 1, 'order4-sign-bit', 'a point of order 4 (y = p, sign bit set)'],
  ] as const) {
    const A = encodeY(y, sign)
    const anyMessage = y === P + 1n ? ' Valid for any message under a permissive verifier.' : ''
    add(
      `noncanonical-key-${name}`,
      `A non-canonical encoding of ${label}, a forged signature that satisfies the cofactorless equation.${anyMessage}`,
      A,
      smallOrderKeyForgery(A, MESSAGE),
      'a-canonical',
    )
  }
  // A non-canonical key of large order: the first y = p + d (d ≥ 2) that decodes.
  for (let d = 2n; d < 19n; d++) {
    const A = encodeY(P + d, 0)
    try {
      const point = ed.Point.fromBytes(A, true)
      if (point.isSmallOrder()) continue
    } catch {
      continue
    }
    add(
      'noncanonical-r-large-order',
      `The honest key with R encoded as y = p + ${d} (to a permissive decoder the point with y = ${d}).`,
      pub,
      concat(A, good.subarray(32)),
      'r-canonical',
    )
    add(
      'noncanonical-key-large-order',
      `The encoding with y = p + ${d}, which a permissive decoder reads as the point with y = ${d} (not of small order); no one knows its secret, so the signature is the honest one.`,
      A,
      good,
      'a-canonical',
    )
    break
  }
  // A key that is no curve point: the first canonical y ≥ 2 with no x.
  for (let y = 2n; y < 100n; y++) {
    const A = encodeY(y, 0)
    try {
      ed.Point.fromBytes(A)
      continue
    } catch {}
    add('key-not-on-curve', `y = ${y} has no x on the curve.`, A, good, 'equation')
    break
  }

  // Small-order R under the honest key: S = k·a, so [S]B − [k]A = identity. A cofactored
  // verifier accepts every one of these; the cofactorless equation holds only for the identity.
  for (const { name, label, bytes } of smallOrderPoints()) {
    add(
      `small-order-r-${name}`,
      `The honest key, R = ${label}, S = k·a.${label.includes('identity') ? ' Satisfies the cofactorless equation: only the small-order rule refuses it.' : ' A cofactored verifier accepts it.'}`,
      pub,
      signWithR(bytes, 0n, MESSAGE),
      'r-small-order',
    )
  }
  add(
    'small-order-r-identity-sign-bit',
    'The honest key, R = the identity encoded with the sign bit set (x = 0), S = k·a.',
    pub,
    signWithR(encodeY(1n, 1), 0n, MESSAGE),
    'r-small-order',
  )
  add(
    'noncanonical-r-identity',
    'The honest key, R = the identity encoded as y = p + 1, S = k·a: a permissive decoder reads R as the identity.',
    pub,
    signWithR(encodeY(P + 1n, 0), 0n, MESSAGE),
    'r-canonical',
  )

  // Mixed-order R: R = [r]B + T8, S = r + k·a. Cofactored verifiers accept it.
  const T8 = smallOrderPoints()[1]!.bytes
  const r =
    leToBigint(new Uint8Array(createHash('sha512').update('latchkey/vector/mixed-order-r').digest())) % L
  add(
    'mixed-order-r',
    'The honest key, R = [r]B + T with T of order 8, S = r + k·a: [8]([S]B − [k]A − R) = 0, so a cofactored verifier accepts it; [S]B − [k]A encodes to [r]B, not R.',
    pub,
    signWithR(ed.Point.BASE.multiply(r).add(ed.Point.fromBytes(T8)).toBytes(), r, MESSAGE),
    'equation',
  )

  return {
    description:
      'Strict Ed25519 (docs/PROTOCOL.md §1.3). Each vector: public key, message and signature in hex, whether it is valid, and the first rule it breaks in the order length, s-canonical, a-canonical, a-small-order, r-canonical, r-small-order, equation. nodeCryptoAlone is what node:crypto (OpenSSL) answers without the byte-level rules, on the Node version named here. Generated by scripts/ed25519-vectors.ts.',
    node: process.versions.node,
    message: toHex(MESSAGE),
    vectors: out,
  }
}

export const renderVectors = (file: StrictVectorFile) => `${JSON.stringify(file, null, 2)}\n`

if (import.meta.main) {
  const text = renderVectors(buildVectors())
  if (process.argv.includes('--write')) writeFileSync(VECTORS_FILE, text)
  else process.stdout.write(text)
}
