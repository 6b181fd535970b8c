import { describe, expect, it } from 'vitest'
import { generateSeed, keyPairFromSeed } from './core/keys.ts'
import { parseSums, signRelease, sumsFile, verifyReleaseSignature } from './release.ts'

describe('release signatures', () => {
  const key = keyPairFromSeed(generateSeed())
  const sums = Buffer.from(sumsFile([{ name: 'latchkey-linux-x64', bytes: Buffer.from('binary') }]))

  it('SHA256SUMS is in sha256sum format and parses back', () => {
    expect(sums.toString()).toMatch(/^[0-9a-f]{64} {2}latchkey-linux-x64\n$/)
    expect(parseSums(sums.toString())).toEqual([{ sha256: expect.any(String), name: 'latchkey-linux-x64' }])
    expect(parseSums('not a sums line\n')).toBeNull()
  })

  it('verifies under the signing key only, and not once SHA256SUMS changed', () => {
    const sig = signRelease(sums, key)
    expect(verifyReleaseSignature(sums, sig, key.id)).toEqual({ ok: true, signer: key.id })
    const other = keyPairFromSeed(generateSeed())
    expect(verifyReleaseSignature(sums, sig, other.id)).toMatchObject({ ok: false, reason: 'other-key' })
    const altered = Buffer.from(sums)
    altered[0] = altered[0] === 0x30 ? 0x31 : 0x30
    expect(verifyReleaseSignature(altered, sig, key.id)).toMatchObject({ ok: false, reason: 'bad-signature' })
    expect(verifyReleaseSignature(sums, 'garbage', key.id)).toMatchObject({ ok: false, reason: 'malformed' })
  })

  it('a signature of the bare SHA256SUMS bytes (no domain tag) is refused', async () => {
    const { sign } = await import('node:crypto')
    const bare = sign(null, sums, key.privateKeyObject).toString('hex')
    expect(verifyReleaseSignature(sums, `ed25519 ${key.id} ${bare}\n`, key.id)).toMatchObject({
      ok: false,
      reason: 'bad-signature',
    })
  })
})
