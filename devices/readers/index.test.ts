/**
 * The factory and reader config validation: every type builds without I/O; typos and bad values
 * get coded errors naming the key.
 */
import { describe, expect, it } from 'vitest'
import { readerErrors } from '../../runtime/core/errors/index.ts'
import { define } from '../../runtime/core/errors.ts'
import { createReader, validateReaderConfig } from './index.ts'

describe('createReader and reader config', () => {
  it('builds every reader type without I/O', () => {
    const configs = [
      { type: 'rdm6300', path: '/dev/serial/by-id/usb-rdm6300' },
      { type: 'id12la', path: '/dev/ttyUSB0' },
      { type: 'line', path: '/dev/ttyUSB1', format: 'uid-hex' },
      { type: 'pn532', path: '/dev/ttyS0', baudRate: 115200 },
      { type: 'wedge', path: '/dev/input/by-id/usb-reader-event-kbd' },
      { type: 'wiegand26', chip: 'gpiochip0', d0: 17, d1: 27, gpiomon: '/nonexistent/gpiomon' },
      { type: 'wiegand34', chip: 'pinctrl-rp1', d0: 'GPIO17', d1: 'GPIO27', name: 'back door' },
    ]
    for (const c of configs) {
      const r = createReader(c)
      expect(r.type).toBe(c.type)
      expect(r.health().state).toBe('down')
    }
    expect(createReader(configs[6]!).name).toBe('back door')
    expect(createReader(configs[0]!).name).toBe('rdm6300:/dev/serial/by-id/usb-rdm6300')
  })

  it('rejects unknown keys with a suggestion, and wrong values with a sentence naming the key', () => {
    const codeOf = (c: unknown) => {
      try {
        validateReaderConfig(c)
      } catch (err) {
        return { code: (err as { code: string }).code, details: (err as { details: unknown }).details }
      }
      return null
    }
    expect(codeOf({ type: 'rdm6300', path: '/dev/x', baudrate: 9600 })).toEqual({
      code: 'LK_READER_UNKNOWN_KEY',
      details: { reader: 'rdm6300', key: 'baudrate', suggestion: 'baudRate' },
    })
    expect(codeOf({ type: 'rdm6300', path: '/dev/x', format: 'dec' })?.code).toBe('LK_READER_UNKNOWN_KEY')
    expect(codeOf({ type: 'mifare', path: '/dev/x' })?.code).toBe('LK_READER_CONFIG')
    expect(codeOf({ type: 'pn532' })).toEqual({
      code: 'LK_READER_CONFIG',
      details: { reader: 'pn532', key: 'path' },
    })
    expect(codeOf({ type: 'line', path: '/dev/x', format: 'decimal' })?.code).toBe('LK_READER_CONFIG')
    expect(codeOf({ type: 'wedge', path: '/dev/x', eventSize: 20 })?.code).toBe('LK_READER_CONFIG')
    expect(codeOf({ type: 'wiegand26', chip: 'gpiochip0', d0: 17, d1: 17 })?.code).toBe('LK_READER_CONFIG')
    expect(codeOf({ type: 'wiegand26', chip: 'gpiochip0', d0: 17 })?.code).toBe('LK_READER_CONFIG')
    expect(codeOf({ type: 'rdm6300', path: '/dev/x', reconnect: { initialMs: 0, maxMs: 10 } })?.code).toBe(
      'LK_READER_CONFIG',
    )
    expect(codeOf({ type: 'rdm6300', path: '/dev/x', debounceMs: -1 })?.code).toBe('LK_READER_CONFIG')
    expect(codeOf('rdm6300')?.code).toBe('LK_READER_CONFIG')
    expect(readerErrors.CONFIG('front', 'baudRate', 'must be a whole number').message).toBe(
      'reader front: `baudRate` must be a whole number',
    )
  })

  it('returns a frozen config', () => {
    const c = validateReaderConfig({ type: 'rdm6300', path: '/dev/x', reconnect: { initialMs: 1, maxMs: 2 } })
    expect(Object.isFrozen(c)).toBe(true)
    expect(Object.isFrozen(c.reconnect)).toBe(true)
  })

  it('every reader error code is prefixed LK_READER_ and registered once in the shared code space', () => {
    for (const f of Object.values(readerErrors)) {
      expect(f.code).toMatch(/^LK_READER_[A-Z0-9_]+$/)
      expect(() => define(f.code, 'operational', () => '')).toThrow('defined twice')
    }
  })
})
