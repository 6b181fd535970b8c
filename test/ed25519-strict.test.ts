/**
 * Strict Ed25519 (docs/PROTOCOL.md §1.3): every vector of test/vectors/ed25519-strict.json gets
 * its expected verdict and rule from the node's verifier (runtime/core/ed25519-strict.ts) and
 * from a second, independent opinion built on @noble/ed25519: its strict verify, which is
 * cofactored, plus the rules stated in §1.3 computed on noble's points.
 */
import { createHash, sign } from 'node:crypto'
import { readFileSync } from 'node:fs'
import * as ed from '@noble/ed25519'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { STRICT_RULES, strictPrecheck, strictVerdict, verifyStrict } from '../runtime/core/ed25519-strict.ts'
import { keyPairFromSeed } from '../runtime/core/keys.ts'
import {
  buildVectors,
  renderVectors,
  type StrictVectorFile,
  VECTORS_FILE,
} from '../scripts/ed25519-vectors.ts'

ed.hashes.sha512 = (m) => new Uint8Array(createHash('sha512').update(m).digest())

const L = 2n ** 252n + 27742317777372353535851937790883648493n
const P = 2n ** 255n - 19n
const file = JSON.parse(readFileSync(VECTORS_FILE, 'utf8')) as StrictVectorFile
const bytes = (h: string) => new Uint8Array(Buffer.from(h, 'hex'))

function le(b: Uint8Array): bigint {
  let n = 0n
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]!)
  return n
}

/** The point's y as encoded: the 255 low bits. */
const yOf = (b: Uint8Array) => le(b) & ((1n << 255n) - 1n)

function decode(b: Uint8Array): ed.Point | null {
  try {
    return ed.Point.fromBytes(b, true)
  } catch {
    return null
  }
}

/** The §1.3 rules on noble's arithmetic, in the documented order. */
function secondOpinion(pub: Uint8Array, msg: Uint8Array, sig: Uint8Array): string | null {
  if (pub.length !== 32 || sig.length !== 64) return 'length'
  const Rb = sig.subarray(0, 32)
  const S = le(sig.subarray(32))
  if (S >= L) return 's-canonical'
  if (yOf(pub) >= P) return 'a-canonical'
  const A = decode(pub)
  if (A?.isSmallOrder()) return 'a-small-order'
  if (yOf(Rb) >= P) return 'r-canonical'
  if (decode(Rb)?.isSmallOrder()) return 'r-small-order'
  if (!A) return 'equation'
  // noble's strict branch is cofactored: it accepts a mixed-order R, so the cofactorless
  // equation is checked as well: [S]B − [k]A must encode to exactly R.
  if (!ed.verify(sig, msg, pub, { zip215: false })) return 'equation'
  const k = le(new Uint8Array(createHash('sha512').update(Rb).update(pub).update(msg).digest())) % L
  const SB = S === 0n ? ed.Point.ZERO : ed.Point.BASE.multiply(S)
  const kA = k === 0n ? ed.Point.ZERO : A.multiply(k)
  if (Buffer.compare(SB.subtract(kA).toBytes(), Rb) !== 0) return 'equation'
  return null
}

describe('strict Ed25519 vectors', () => {
  it('the committed file is what scripts/ed25519-vectors.ts derives', () => {
    expect(readFileSync(VECTORS_FILE, 'utf8')).toBe(renderVectors(buildVectors()))
  })

  it('holds a vector for every rule, and one valid signature', () => {
    const rules = new Set(file.vectors.map((v) => v.rule))
    for (const rule of [...STRICT_RULES, null]) expect(rules, String(rule)).toContain(rule)
  })

  for (const v of file.vectors) {
    it(`${v.name}: ${v.rule ?? 'valid'}`, () => {
      const [pub, msg, sig] = [bytes(v.pub), bytes(v.msg), bytes(v.sig)]
      expect(v.valid).toBe(v.rule === null)
      expect(strictVerdict(pub, msg, sig)).toBe(v.rule)
      expect(verifyStrict(pub, msg, sig)).toBe(v.valid)
      expect(secondOpinion(pub, msg, sig)).toBe(v.rule)
    })
  }

  it('the byte-level rules refuse what the pinned OpenSSL refuses too (it is not relied on)', () => {
    // On the Node version that wrote the file, node:crypto alone accepts only the valid vector;
    // older builds accepted the small-order keys, which is why the rules are stated and checked.
    if (process.versions.node !== file.node) return
    expect(file.vectors.filter((v) => v.nodeCryptoAlone).map((v) => v.name)).toEqual(['valid'])
  })

  it('the precheck looks at bytes only: a valid signature passes it whatever the message', () => {
    const v = file.vectors.find((x) => x.name === 'valid')!
    expect(strictPrecheck(bytes(v.pub), bytes(v.sig))).toBeNull()
    expect(verifyStrict(bytes(v.pub), new Uint8Array(0), bytes(v.sig))).toBe(false)
  })

  it('honest signatures of any key and message verify, and a flipped bit does not', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ maxLength: 200 }),
        fc.nat(511),
        (seed, msg, bit) => {
          const pair = keyPairFromSeed(seed)
          const sig = new Uint8Array(sign(null, msg, pair.privateKeyObject))
          expect(strictVerdict(pair.publicKey, msg, sig)).toBeNull()
          const flipped = sig.slice()
          flipped[bit >> 3]! ^= 1 << (bit & 7)
          expect(verifyStrict(pair.publicKey, msg, flipped)).toBe(false)
        },
      ),
      { numRuns: 200 },
    )
  })

  it('answers, never throws, for input of any length', () => {
    for (const [pub, sig] of [
      [new Uint8Array(0), new Uint8Array(0)],
      [new Uint8Array(32), new Uint8Array(63)],
      [new Uint8Array(33), new Uint8Array(64)],
    ] as const)
      expect(strictVerdict(pub, new Uint8Array(0), sig)).toBe('length')
  })
})
