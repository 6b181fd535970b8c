import assert from 'node:assert'
import { describe, expect, it } from 'vitest'
import { LatchkeyError } from '../core/errors.ts'
import { isProgrammerError, safetyCatch } from './safety.ts'
import { SyncMessageError } from './sync-messages.ts'

const assertionError = (): unknown => {
  try {
    assert.strictEqual(1, 2)
  } catch (err) {
    return err
  }
}

describe('safetyCatch', () => {
  it('rethrows programmer errors', () => {
    const bugs = [
      new TypeError('x is undefined'),
      new RangeError('offset out of range'),
      new ReferenceError('y is not defined'),
      new SyntaxError('bad'),
      new EvalError('bad'),
      new URIError('bad'),
      assertionError(),
    ]
    for (const err of bugs) {
      expect(isProgrammerError(err)).toBe(true)
      expect(() => safetyCatch(err)).toThrow(err as Error)
    }
  })

  it('returns for operational errors, for the caller to handle', () => {
    const operational = [
      new SyncMessageError('not canonical CBOR'),
      new LatchkeyError('LK_TEST', 'operational', 'disk gone'),
      new Error('ECONNRESET'),
      'a string',
      undefined,
    ]
    for (const err of operational) {
      expect(isProgrammerError(err)).toBe(false)
      expect(() => safetyCatch(err)).not.toThrow()
    }
  })
})
