/**
 * PN532 frame fixtures: encoding against the user manual, ACK/NACK/error/information frames glued
 * after the wake-up preamble, bad LCS/DCS, extended frames, UID extraction.
 */
import { describe, expect, it } from 'vitest'
import { expectChunkingInvariant, frames, reasons } from '../testing/chunks.ts'
import { concat } from '../testing/fixtures.ts'
import {
  encodeCommand,
  encodeFrame,
  PN532_ACK,
  PN532_NACK,
  PN532_WAKEUP,
  Pn532Command,
  Pn532Decoder,
  parseInListPassiveTarget,
  TFI_PN532,
} from './pn532.ts'

const make = () => new Pn532Decoder()
const UID7 = Uint8Array.of(0x04, 0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6)
const ERROR_FRAME = Uint8Array.of(0x00, 0x00, 0xff, 0x01, 0xff, 0x7f, 0x81, 0x00)

describe('PN532 frames', () => {
  it('encodes commands with LEN/LCS and DCS as the user manual shows (SAMConfiguration)', () => {
    // UM0701-02 example: 00 00 FF 05 FB D4 14 01 14 01 02 00
    expect(
      Buffer.from(encodeCommand(Pn532Command.SAMConfiguration, [0x01, 0x14, 0x01])).toString('hex'),
    ).toBe('0000ff05fbd414011401' + '02' + '00')
    expect(Buffer.from(encodeCommand(Pn532Command.InListPassiveTarget, [0x01, 0x00])).toString('hex')).toBe(
      '0000ff04fcd44a0100e100',
    )
  })

  it('decodes ACK, NACK, error and information frames, glued and after the wake-up preamble, for every chunking', () => {
    const answer = encodeFrame(TFI_PN532, Uint8Array.of(0x4b, 0x01, 0x01, 0x00, 0x44, 0x00, 7, ...UID7))
    const stream = concat(
      PN532_WAKEUP,
      PN532_ACK,
      answer,
      PN532_NACK,
      ERROR_FRAME,
      PN532_ACK,
      encodeFrame(TFI_PN532, Uint8Array.of(0x15)),
    )
    const results = expectChunkingInvariant(make, stream)
    expect(reasons(results)).toEqual(['noise']) // the two 0x55 bytes of the preamble
    expect(frames(results).map((f) => f.kind)).toEqual(['ack', 'data', 'nack', 'error', 'ack', 'data'])
    const first = frames(results)[1]
    expect(first).toEqual({
      kind: 'data',
      tfi: 0xd5,
      payload: Uint8Array.of(0x4b, 0x01, 0x01, 0x00, 0x44, 0x00, 7, ...UID7),
    })
  })

  it('rejects a bad DCS and a bad LCS, counts noise, and still finds the next good frame', () => {
    const good = encodeFrame(TFI_PN532, Uint8Array.of(0x15))
    const badDcs = Uint8Array.from(good)
    badDcs[badDcs.length - 2]! ^= 0x10
    const badLcs = Uint8Array.from(good)
    badLcs[4]! ^= 0x01
    const stream = concat(Uint8Array.of(0x13, 0x37), badDcs, badLcs, good)
    const results = expectChunkingInvariant(make, stream)
    expect(reasons(results)).toContain('checksum')
    expect(reasons(results).filter((r) => r === 'checksum')).toHaveLength(2)
    expect(frames(results)).toEqual([{ kind: 'data', tfi: 0xd5, payload: Uint8Array.of(0x15) }])
  })

  it('round-trips an extended frame (more than 255 bytes)', () => {
    const payload = Uint8Array.from({ length: 260 }, (_, i) => i & 0xff)
    const results = expectChunkingInvariant(make, encodeFrame(TFI_PN532, payload))
    expect(frames(results)).toEqual([{ kind: 'data', tfi: 0xd5, payload }])
  })

  it('reads UIDs out of InListPassiveTarget answers (4 and 7 bytes, none, ISO 14443-4 with ATS)', () => {
    expect(parseInListPassiveTarget(Uint8Array.of(0x4b, 0x00))).toEqual([])
    const four = parseInListPassiveTarget(
      Uint8Array.of(0x4b, 0x01, 0x01, 0x00, 0x04, 0x08, 4, 0xde, 0xad, 0xbe, 0xef),
    )
    expect(four).toEqual([
      { tg: 1, sensRes: 0x0004, selRes: 0x08, uid: Uint8Array.of(0xde, 0xad, 0xbe, 0xef) },
    ])
    const withAts = parseInListPassiveTarget(
      Uint8Array.of(0x4b, 0x01, 0x01, 0x03, 0x44, 0x20, 7, ...UID7, 0x05, 0x78, 0x80, 0x70, 0x02),
    )
    expect(withAts).toEqual([{ tg: 1, sensRes: 0x0344, selRes: 0x20, uid: UID7 }])
    expect(typeof parseInListPassiveTarget(Uint8Array.of(0x4b, 0x01, 0x01, 0x00))).toBe('string')
    expect(
      typeof parseInListPassiveTarget(Uint8Array.of(0x4b, 0x01, 0x01, 0x00, 0x04, 0x08, 5, 1, 2, 3, 4, 5)),
    ).toBe('string')
    expect(typeof parseInListPassiveTarget(Uint8Array.of(0x15))).toBe('string')
  })
})
