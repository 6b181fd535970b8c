/**
 * The canonical credential id: one string per physical badge, whatever reader saw it (DESIGN
 * "Doors and tools": a badge enrolled at one reader opens every door; esp-rfid #556, #610 are the
 * bug this prevents). Every decoder ends here; nothing else in latchkey parses reader output.
 *
 * THE RULE
 *   125 kHz (EM4100/EM4102, and every reader that carries its number):
 *       `em:<decimal of the 32-bit card number>`, no leading zeros.   e.g. `em:4335412`
 *   13.56 MHz ISO 14443 (MIFARE and friends, via PN532):
 *       `uid:<UID bytes as lowercase hex, no separators>` (4, 7 or 10 bytes). e.g. `uid:04a1b2c3d4e5f6`
 *
 * WHERE THE NUMBER COMES FROM, PER READER
 *   An EM4100 tag stores 40 bits: a version/customer byte (bits 39..32) and a 32-bit card number
 *   (bits 31..0). The number printed on most fobs ("0004335412") is the 10-digit decimal of those
 *   32 bits, often followed by "066,10036" = bits 23..16 (the Wiegand "facility") and bits 15..0.
 *   - RDM6300 / ID-12LA (serial): 10 hex chars = all 40 bits. We keep the low 32 bits.
 *   - keyboard wedge / line readers (format `dec`, the usual factory setting): the 10-digit
 *     decimal of the low 32 bits. Format `em-hex` takes the 10 hex chars (40 bits) like RDM6300.
 *   - Wiegand 34: 32 data bits = the low 32 bits of the card number.
 *   - Wiegand 26: 8-bit facility + 16-bit card = the LOW 24 BITS of the card number; the id is
 *     `em:<facility * 65536 + card>` and the credential says `bits: 24`. Same for format `fc-card`
 *     ("066,10036") on line and wedge readers.
 *
 * WHAT IS LOST, AND HOW IT IS HANDLED
 *   - The EM version/customer byte (bits 39..32) is dropped for every reader, because only the
 *     serial 125 kHz readers ever see it. Two tags that differ only in that byte get the same id.
 *   - Wiegand 26 (and `fc-card`) lose bits 31..24 of the card number: the byte above the 8-bit
 *     facility code. For most fobs that byte is 0 (printed number below 16,777,216), and then a
 *     26-bit read gives exactly the same id as every other reader. When it is not 0, a 26-bit read
 *     is `em:<low 24 bits>` with `bits: 24`: it must be matched against enrolled ids by their low
 *     24 bits (`sameBadge()`, `lowBitsKey()`), never by plain string equality alone, and a match
 *     on 24 bits that fits more than one enrolled badge is ambiguous and must be refused by the
 *     resolver. We never invent the missing byte (a per-reader "facility" setting would make one
 *     badge read differently at two doors, the exact bug this file exists to prevent).
 *   - A reader that outputs only the 16-bit card number (no facility) is not supported: it would
 *     map 256 badges to one id.
 *   - 125 kHz badges are trivially cloneable whatever the id format; see docs/readers.md.
 *
 * Text formats for line and wedge readers (fixed widths, so a line cut short is never another
 * badge's id): `dec` (default, 10 digits), `em-hex` (10 hex), `uid-hex` (8/14/20 hex, `:`/`-`/
 * space separators allowed), `fc-card` (3-digit facility, optional `,` or `:`, 5-digit card).
 */

export type CredentialKind = 'em' | 'uid'

/** What a decoder delivers. `id` is the only thing stored, logged and compared. */
export interface Credential {
  /** The canonical id: `em:<decimal>` or `uid:<hex>`. */
  readonly id: string
  readonly kind: CredentialKind
  /**
   * How many bits of the badge number the reader delivered: 32 for a full EM card number, 24 for
   * Wiegand 26 / `fc-card` (then match with `sameBadge()`), 32/56/80 for 4/7/10-byte UIDs.
   */
  readonly bits: number
}

/** The line/wedge reader text formats. */
export type TextFormat = 'dec' | 'em-hex' | 'uid-hex' | 'fc-card'
export const TEXT_FORMATS: readonly TextFormat[] = ['dec', 'em-hex', 'uid-hex', 'fc-card']

const U32 = 0xffff_ffff
const U24 = 0xff_ffff

/** A full 32-bit EM4100 card number. */
export function emCredential(card: number): Credential {
  if (!Number.isInteger(card) || card < 0 || card > U32)
    throw new RangeError(`EM card number out of range: ${card}`)
  return Object.freeze({ id: `em:${card}`, kind: 'em', bits: 32 })
}

/** The low 24 bits of an EM4100 card number (Wiegand 26: facility * 65536 + card). */
export function em24Credential(value: number): Credential {
  if (!Number.isInteger(value) || value < 0 || value > U24)
    throw new RangeError(`24-bit value out of range: ${value}`)
  return Object.freeze({ id: `em:${value}`, kind: 'em', bits: 24 })
}

/** The 40 bits an RDM6300/ID-12LA sends (5 bytes, version byte first): the low 32 bits count. */
export function fromEm4100(bytes: Uint8Array): Credential {
  if (bytes.length !== 5) throw new RangeError(`an EM4100 id has 5 bytes, got ${bytes.length}`)
  const card = ((bytes[1]! << 24) | (bytes[2]! << 16) | (bytes[3]! << 8) | bytes[4]!) >>> 0
  return emCredential(card)
}

/** Wiegand 26: 8-bit facility + 16-bit card, the low 24 bits of the card number. */
export function fromWiegand26(facility: number, card: number): Credential {
  return em24Credential(((facility & 0xff) << 16) | (card & 0xffff))
}

/** Wiegand 34: 32 data bits, the low 32 bits of the card number. */
export function fromWiegand34(value: number): Credential {
  return emCredential(value >>> 0)
}

/** An ISO 14443 UID (4, 7 or 10 bytes, as the PN532 reports it: first byte first). */
export function fromUid(uid: Uint8Array): Credential {
  if (uid.length !== 4 && uid.length !== 7 && uid.length !== 10) {
    throw new RangeError(`an ISO 14443 UID has 4, 7 or 10 bytes, got ${uid.length}`)
  }
  return Object.freeze({ id: `uid:${Buffer.from(uid).toString('hex')}`, kind: 'uid', bits: uid.length * 8 })
}

/**
 * Parses what a line or keyboard-wedge reader sent, in the configured format. Returns null when
 * the text does not fit the format (the caller counts a bad frame). Surrounding whitespace is
 * ignored; nothing else is forgiven.
 */
export function parseCredentialText(text: string, format: TextFormat): Credential | null {
  const t = text.trim()
  switch (format) {
    case 'dec': {
      // Exactly 10 digits (leading zeros included), as readers send it: the tail of a line cut
      // short (a port opened mid-transmission) is then never taken for another badge.
      if (!/^[0-9]{10}$/.test(t)) return null
      const n = Number(t)
      return n <= U32 ? emCredential(n) : null
    }
    case 'em-hex': {
      if (!/^[0-9a-fA-F]{10}$/.test(t)) return null
      return fromEm4100(Buffer.from(t, 'hex'))
    }
    case 'uid-hex': {
      const hex = t.replace(/[:\- ]/g, '')
      if (!/^[0-9a-fA-F]+$/.test(hex) || ![8, 14, 20].includes(hex.length)) return null
      return fromUid(Buffer.from(hex, 'hex'))
    }
    case 'fc-card': {
      // "066,10036", "066:10036" or "06610036": 3-digit facility, 5-digit card, fixed widths
      // for the same reason as `dec`.
      const m = /^([0-9]{3})[,:]?([0-9]{5})$/.exec(t)
      if (!m) return null
      const facility = Number(m[1])
      const card = Number(m[2])
      if (facility > 0xff || card > 0xffff) return null
      return fromWiegand26(facility, card)
    }
  }
}

/**
 * The key under which an `em:` id matches a 24-bit read: `em24:<low 24 bits>`. A resolver keeps a
 * second index of enrolled ids by this key and consults it only for credentials with `bits: 24`.
 * Returns null for ids that are not `em:`.
 */
export function lowBitsKey(id: string): string | null {
  const m = /^em:([0-9]{1,10})$/.exec(id)
  if (!m) return null
  return `em24:${Number(m[1]) & U24}`
}

/**
 * Whether a read credential is the badge enrolled as `enrolledId`: equal ids, or, for a 24-bit
 * read, equal low 24 bits. (A resolver must still refuse a 24-bit read that fits several
 * enrolled badges.)
 */
export function sameBadge(enrolledId: string, read: Credential): boolean {
  if (enrolledId === read.id) return true
  if (read.kind !== 'em' || read.bits !== 24) return false
  const key = lowBitsKey(enrolledId)
  return key !== null && key === lowBitsKey(read.id)
}
