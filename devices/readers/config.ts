/**
 * Reader config: the shape a node config's `readers:` entries take, validated once (unknown keys
 * rejected with a suggestion, values checked with a sentence naming the reader and the key),
 * then frozen. Defaults live in the drivers.
 */

import { readerErrors } from '../../runtime/core/errors/index.ts'
import { TEXT_FORMATS, type TextFormat } from './credential.ts'
import type { ReaderType } from './reader.ts'

export interface ReaderConfigBase {
  type: ReaderType
  /** Shown in events, logs and health. Default `<type>:<path>` (or `<type>:<chip>`). */
  name?: string
  /** Same id within this window → one event. Default 1000 ms. */
  debounceMs?: number
  /** How long a bad frame keeps the reader `degraded`. Default 30000 ms. */
  degradedMs?: number
}

export interface ReconnectConfig {
  initialMs: number
  maxMs: number
}

export interface SerialReaderConfig extends ReaderConfigBase {
  type: 'rdm6300' | 'id12la' | 'line'
  /** Prefer `/dev/serial/by-id/…`: it survives replugging into another port. */
  path: string
  baudRate?: number
  /** Line readers: `dec` (default), `em-hex`, `uid-hex`, `fc-card`. */
  format?: TextFormat
  reconnect?: ReconnectConfig
}

export interface Pn532ReaderConfig extends ReaderConfigBase {
  type: 'pn532'
  path: string
  baudRate?: number
  pollIntervalMs?: number
  ackTimeoutMs?: number
  responseTimeoutMs?: number
  maxFailures?: number
  passiveRetries?: number
  reconnect?: ReconnectConfig
}

export interface WedgeReaderConfig extends ReaderConfigBase {
  type: 'wedge'
  /** Prefer `/dev/input/by-id/…-event-kbd`. */
  path: string
  format?: TextFormat
  eventSize?: 16 | 24
  keyTimeoutMs?: number
  pollMs?: number
  presenceCheckMs?: number
  reconnect?: ReconnectConfig
}

export interface WiegandReaderConfig extends ReaderConfigBase {
  type: 'wiegand26' | 'wiegand34'
  /** GPIO chip: name (`gpiochip0`), number, path, or label (gpiomon v2). */
  chip: string
  /** D0 line: offset on the chip, or line name (gpiomon v2). */
  d0: number | string
  d1: number | string
  /** gpiomon binary. Default `gpiomon` on PATH. */
  gpiomon?: string
  /** libgpiod major version; detected when absent. */
  gpiomonVersion?: 1 | 2
  gapMs?: number
  reconnect?: ReconnectConfig
}

export type ReaderConfig = SerialReaderConfig | Pn532ReaderConfig | WedgeReaderConfig | WiegandReaderConfig

const COMMON = ['type', 'name', 'debounceMs', 'degradedMs']
const KEYS: Record<ReaderType, readonly string[]> = {
  rdm6300: [...COMMON, 'path', 'baudRate', 'reconnect'],
  id12la: [...COMMON, 'path', 'baudRate', 'reconnect'],
  line: [...COMMON, 'path', 'baudRate', 'format', 'reconnect'],
  pn532: [
    ...COMMON,
    'path',
    'baudRate',
    'pollIntervalMs',
    'ackTimeoutMs',
    'responseTimeoutMs',
    'maxFailures',
    'passiveRetries',
    'reconnect',
  ],
  wedge: [...COMMON, 'path', 'format', 'eventSize', 'keyTimeoutMs', 'pollMs', 'presenceCheckMs', 'reconnect'],
  wiegand26: [...COMMON, 'chip', 'd0', 'd1', 'gpiomon', 'gpiomonVersion', 'gapMs', 'reconnect'],
  wiegand34: [...COMMON, 'chip', 'd0', 'd1', 'gpiomon', 'gpiomonVersion', 'gapMs', 'reconnect'],
}
export const READER_TYPES = Object.keys(KEYS) as ReaderType[]

/**
 * The name a reader goes by in badge events, logs and health: its `name`, or `<type>:<path>`
 * (`<type>:<chip>` for Wiegand). Doors and tools name their reader by it (devices/readers/index.ts
 * gives readers the same default).
 */
export function readerName(c: ReaderConfig): string {
  return c.name ?? `${c.type}:${'chip' in c ? c.chip : c.path}`
}

/** Validates a reader config object; returns it frozen, or throws LK_READER_CONFIG / LK_READER_UNKNOWN_KEY. */
export function validateReaderConfig(raw: unknown): ReaderConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw readerErrors.CONFIG('(unnamed)', 'reader', 'must be an object')
  }
  const c = raw as Record<string, unknown>
  const label =
    typeof c.name === 'string' && c.name ? c.name : typeof c.type === 'string' ? c.type : '(unnamed)'
  const fail = (key: string, reason: string) => readerErrors.CONFIG(label, key, reason)
  if (typeof c.type !== 'string' || !(c.type in KEYS)) {
    throw fail(
      'type',
      `must be one of ${READER_TYPES.join(', ')}${c.type === undefined ? '' : `, not ${JSON.stringify(c.type)}`}`,
    )
  }
  const type = c.type as ReaderType
  const allowed = KEYS[type]
  for (const key of Object.keys(c)) {
    if (!allowed.includes(key)) throw readerErrors.UNKNOWN_KEY(label, key, suggest(key, allowed))
  }

  const str = (key: string, required: boolean) => {
    const v = c[key]
    if (v === undefined && !required) return
    if (typeof v !== 'string' || v.length === 0)
      throw fail(key, required ? 'is required (a non-empty string)' : 'must be a non-empty string')
  }
  const int = (key: string, min: number, max = Number.MAX_SAFE_INTEGER) => {
    const v = c[key]
    if (v === undefined) return
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      throw fail(key, `must be a whole number from ${min} to ${max}, not ${JSON.stringify(v)}`)
    }
  }
  const oneOf = (key: string, values: readonly unknown[]) => {
    const v = c[key]
    if (v !== undefined && !values.includes(v))
      throw fail(key, `must be one of ${values.join(', ')}, not ${JSON.stringify(v)}`)
  }
  const line = (key: string) => {
    const v = c[key]
    const ok =
      (typeof v === 'number' && Number.isInteger(v) && v >= 0) || (typeof v === 'string' && v.length > 0)
    if (!ok) throw fail(key, 'is required: a line offset on the chip (a whole number) or a line name')
  }

  str('name', false)
  int('debounceMs', 0, 600_000)
  int('degradedMs', 0, 86_400_000)
  if ('reconnect' in c) {
    const r = c.reconnect as Record<string, unknown> | null
    const ok =
      typeof r === 'object' &&
      r !== null &&
      Object.keys(r).every((k) => k === 'initialMs' || k === 'maxMs') &&
      Number.isInteger(r.initialMs) &&
      Number.isInteger(r.maxMs) &&
      (r.initialMs as number) > 0 &&
      (r.maxMs as number) >= (r.initialMs as number)
    if (!ok) throw fail('reconnect', 'must be { initialMs, maxMs } with 0 < initialMs <= maxMs')
  }

  switch (type) {
    case 'rdm6300':
    case 'id12la':
    case 'line':
    case 'pn532':
      str('path', true)
      int('baudRate', 50, 4_000_000)
      oneOf('format', TEXT_FORMATS)
      int('pollIntervalMs', 0, 60_000)
      int('ackTimeoutMs', 1, 60_000)
      int('responseTimeoutMs', 1, 60_000)
      int('maxFailures', 1, 100)
      int('passiveRetries', 0, 0xfe)
      break
    case 'wedge':
      str('path', true)
      oneOf('format', TEXT_FORMATS)
      oneOf('eventSize', [16, 24])
      int('keyTimeoutMs', 1, 60_000)
      int('pollMs', 1, 10_000)
      int('presenceCheckMs', 1, 600_000)
      break
    case 'wiegand26':
    case 'wiegand34':
      str('chip', true)
      line('d0')
      line('d1')
      if (c.d0 === c.d1) throw fail('d1', 'must be a different line from d0')
      str('gpiomon', false)
      oneOf('gpiomonVersion', [1, 2])
      int('gapMs', 1, 1000)
      break
  }
  return Object.freeze({
    ...c,
    ...(c.reconnect ? { reconnect: Object.freeze({ ...(c.reconnect as object) }) } : {}),
  }) as ReaderConfig
}

/** The allowed key closest to a typo (case-insensitive, at most two edits away). */
function suggest(key: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined
  let bestD = 3
  for (const a of allowed) {
    const d = distance(key.toLowerCase(), a.toLowerCase())
    if (d < bestD) {
      best = a
      bestD = d
    }
  }
  return best
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1))
      prev = cur
    }
  }
  return row[b.length]!
}
