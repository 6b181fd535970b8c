/**
 * Line decoder fixtures: every chunking, CR/LF variants, line noise, overlong lines.
 */
import { describe, expect, it } from 'vitest'
import { expectChunkingInvariant, frames, reasons } from '../testing/chunks.ts'
import { concat } from '../testing/fixtures.ts'
import { LineDecoder } from './line.ts'

const make = () => new LineDecoder({ maxLength: 16 })

describe('LineDecoder (one ID per line)', () => {
  it('splits on LF, CR LF and CR, skips empty lines, for every chunking', () => {
    const stream = concat('0004335412\r\n', '0004335413\n', '\r\n', '0004335414\r', 'abc\n')
    const results = expectChunkingInvariant(make, stream)
    expect(frames(results)).toEqual(['0004335412', '0004335413', '0004335414', 'abc'])
    expect(reasons(results)).toEqual([])
  })

  it('rejects line noise (non-printable bytes) and resynchronises at the next line end', () => {
    const stream = concat(Uint8Array.of(0xfe, 0x81, 0x00, 0x7f), '\n', '0004335412\n')
    const results = expectChunkingInvariant(make, stream)
    expect(reasons(results)).toEqual(['malformed'])
    expect(frames(results)).toEqual(['0004335412'])
  })

  it('rejects an overlong line once and drops the rest of it', () => {
    const stream = concat('1'.repeat(40), '\n', '0004335412\n')
    const results = expectChunkingInvariant(make, stream)
    expect(reasons(results)).toEqual(['overlong'])
    expect(frames(results)).toEqual(['0004335412'])
  })

  it('keeps a partial line across chunks until its end arrives, and forgets it on reset()', () => {
    const d = make()
    expect(d.push(Buffer.from('00043'))).toEqual([])
    d.reset()
    expect(d.push(Buffer.from('35412\n'))).toEqual([{ ok: true, frame: '35412' }])
  })
})
