import { describe, expect, it } from 'vitest'
import { errors, LatchkeyError } from './errors.ts'

describe('error catalogue', () => {
  it('every code is unique and prefixed LK_', () => {
    const codes = Object.values(errors).map((f) => f.code)
    expect(new Set(codes).size).toBe(codes.length)
    for (const code of codes) expect(code).toMatch(/^LK_[A-Z0-9_]+$/)
  })

  it('a factory builds an error with a stable code, kind, exit status and details', () => {
    const err = errors.CONFIG_UNKNOWN_KEY('node.yaml', 'http.prot', 'port')
    expect(err).toBeInstanceOf(LatchkeyError)
    expect(err.code).toBe('LK_CONFIG_UNKNOWN_KEY')
    expect(err.exit).toBe(2)
    expect(err.details).toEqual({ file: 'node.yaml', key: 'http.prot', suggestion: 'port' })
    expect(errors.NODE_UNREACHABLE('http://x', 'refused').exit).toBe(1)
  })
})
