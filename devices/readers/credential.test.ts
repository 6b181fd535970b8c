/**
 * The canonical id rule (credential.ts), format by format, and 24-bit matching.
 */
import { describe, expect, it } from 'vitest'
import {
  em24Credential,
  emCredential,
  fromEm4100,
  fromUid,
  fromWiegand26,
  fromWiegand34,
  lowBitsKey,
  parseCredentialText,
  sameBadge,
} from './credential.ts'
import { BADGE, HIGH_BADGE } from './testing/fixtures.ts'

describe('canonical credential ids', () => {
  it('EM4100: em:<decimal of the 32-bit card number>; the version byte is dropped', () => {
    expect(fromEm4100(BADGE.bytes)).toEqual({ id: 'em:4335412', kind: 'em', bits: 32 })
    expect(fromEm4100(Uint8Array.of(0xff, 0x00, 0x42, 0x27, 0x34)).id).toBe(BADGE.id)
    expect(fromEm4100(HIGH_BADGE.bytes).id).toBe('em:2705467188')
    expect(emCredential(0).id).toBe('em:0')
    expect(emCredential(0xffffffff).id).toBe('em:4294967295')
    expect(() => emCredential(2 ** 32)).toThrow(RangeError)
  })

  it('Wiegand 26 is facility * 65536 + card with bits: 24; Wiegand 34 is the 32-bit number', () => {
    expect(fromWiegand26(66, 10036)).toEqual({ id: BADGE.id, kind: 'em', bits: 24 })
    expect(fromWiegand34(BADGE.card)).toEqual(emCredential(BADGE.card))
    expect(fromWiegand34(HIGH_BADGE.card).id).toBe(HIGH_BADGE.id)
  })

  it('ISO 14443 UIDs: uid:<lowercase hex>, 4/7/10 bytes only', () => {
    expect(fromUid(Uint8Array.of(0xde, 0xad, 0xbe, 0xef))).toEqual({
      id: 'uid:deadbeef',
      kind: 'uid',
      bits: 32,
    })
    expect(fromUid(Uint8Array.of(4, 0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6)).id).toBe('uid:04a1b2c3d4e5f6')
    expect(() => fromUid(Uint8Array.of(1, 2, 3))).toThrow(RangeError)
  })

  it('parses line and wedge text in each format, and refuses what does not fit', () => {
    expect(parseCredentialText(' 0004335412 ', 'dec')?.id).toBe(BADGE.id)
    expect(parseCredentialText('4335412', 'dec')).toBeNull() // a line cut short is not another badge
    expect(parseCredentialText('4294967296', 'dec')).toBeNull()
    expect(parseCredentialText('00043354120', 'dec')).toBeNull()
    expect(parseCredentialText('1A00422734', 'em-hex')?.id).toBe(BADGE.id)
    expect(parseCredentialText('1a00422734', 'em-hex')?.id).toBe(BADGE.id)
    expect(parseCredentialText('00422734', 'em-hex')).toBeNull()
    expect(parseCredentialText('04:A1:B2:C3:D4:E5:F6', 'uid-hex')?.id).toBe('uid:04a1b2c3d4e5f6')
    expect(parseCredentialText('DEADBEEF', 'uid-hex')?.id).toBe('uid:deadbeef')
    expect(parseCredentialText('DEADBEE', 'uid-hex')).toBeNull()
    expect(parseCredentialText('066,10036', 'fc-card')).toEqual({ id: BADGE.id, kind: 'em', bits: 24 })
    expect(parseCredentialText('06610036', 'fc-card')?.id).toBe(BADGE.id)
    expect(parseCredentialText('066:10036', 'fc-card')?.id).toBe(BADGE.id)
    expect(parseCredentialText('6,10036', 'fc-card')).toBeNull()
    expect(parseCredentialText('256,00001', 'fc-card')).toBeNull()
    expect(parseCredentialText('001,65536', 'fc-card')).toBeNull()
    expect(parseCredentialText('garbage', 'dec')).toBeNull()
  })

  it('a 24-bit read matches an enrolled id by its low 24 bits; full reads match by equality only', () => {
    // The badge whose bits 31..24 are set: Wiegand 26 cannot carry them.
    const w26 = fromWiegand26(0x42, 0x2734)
    expect(w26.id).not.toBe(HIGH_BADGE.id)
    expect(sameBadge(HIGH_BADGE.id, w26)).toBe(true)
    expect(sameBadge(BADGE.id, w26)).toBe(true) // the ambiguity a resolver must refuse when both are enrolled
    expect(sameBadge(HIGH_BADGE.id, fromWiegand34(BADGE.card))).toBe(false)
    expect(sameBadge(BADGE.id, emCredential(BADGE.card))).toBe(true)
    expect(sameBadge('uid:deadbeef', em24Credential(0xbeef))).toBe(false)
    expect(lowBitsKey(HIGH_BADGE.id)).toBe('em24:4335412')
    expect(lowBitsKey('uid:deadbeef')).toBeNull()
  })
})
