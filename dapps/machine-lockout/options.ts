/**
 * What a node tells machine-lockout about its tools: the reader, relay, LED, buzzer, current
 * sense and e-stop of each (names from the node's hardware config) and its session timings.
 * Checked once, then frozen.
 */
import { machineLockoutErrors } from '../../runtime/core/errors/index.ts'
import { isTimeZone } from '../door-access/local-time.ts'

export interface ToolOptions {
  /** The tool id used in the ledger and in certifications (`laser-1`). */
  name: string
  /** Its class: a `class:<toolClass>` certification certifies for it. */
  toolClass?: string
  /** Badge reader name (hardware.readers[].name). */
  reader: string
  /** Tool relay output name (hardware.outputs[] of kind relay). */
  relay: string
  /** LED output: on during a session, blinking before a cutoff, fast while the e-stop is latched. */
  led?: string
  /** Buzzer output: accepted / denied beeps, a chirp each second before a cutoff. */
  buzzer?: string
  /** Current-sense input: while the tool draws current the session is not idle. */
  currentSense?: string
  /** E-stop input: cuts the relay at once and latches until a staff badge clears it. */
  estop?: string
  /** Idle time before the tool is cut (no current, or no badge when there is no current sense). */
  idleMs: number
  /** Longest session. */
  maxSessionMs: number
  /** How long before an idle or maximum cutoff the warning pattern plays (0 = none). */
  warnMs: number
}

export interface MachineLockoutOptions {
  tools: readonly ToolOptions[]
  /** The site's IANA time zone for membership and certification expiry dates (default `UTC`). */
  timeZone?: string
  /** Offline grace period when governance sets none (default: governance's, 24 hours). */
  graceMs?: number
  /** Epoch ms of the last completed sync with a peer; null = standalone (always in sync). */
  syncedAt?: () => number | null
  /** Board wall clock, epoch ms (default `Date.now`): session times. */
  now?: () => number
}

export interface CheckedTool {
  name: string
  toolClass: string | null
  reader: string
  relay: string
  led: string | null
  buzzer: string | null
  currentSense: string | null
  estop: string | null
  idleMs: number
  maxSessionMs: number
  warnMs: number
}

export interface CheckedMachineLockoutOptions {
  tools: readonly CheckedTool[]
  timeZone: string
  graceMs: number | null
  syncedAt: () => number | null
  now: () => number
}

const ID = /^[a-z0-9][a-z0-9._-]{0,63}$/
const KNOWN = [
  'name',
  'toolClass',
  'reader',
  'relay',
  'led',
  'buzzer',
  'currentSense',
  'estop',
  'idleMs',
  'maxSessionMs',
  'warnMs',
]
const KNOWN_TOP = ['tools', 'timeZone', 'graceMs', 'syncedAt', 'now']

export function checkMachineLockoutOptions(o: MachineLockoutOptions): CheckedMachineLockoutOptions {
  const fail = machineLockoutErrors.CONFIG
  for (const k of Object.keys(o)) if (!KNOWN_TOP.includes(k)) throw fail(k, 'is not a machine-lockout option')
  if (!Array.isArray(o.tools)) throw fail('tools', 'must be a list')
  const timeZone = o.timeZone ?? 'UTC'
  if (!isTimeZone(timeZone))
    throw fail('timeZone', `must be an IANA time zone (e.g. Europe/Berlin), got ${timeZone}`)
  if (o.graceMs !== undefined && !(Number.isSafeInteger(o.graceMs) && o.graceMs >= 0))
    throw fail('graceMs', 'must be a whole number of milliseconds ≥ 0')
  const used = new Map<string, string>()
  const tools = o.tools.map((t, i): CheckedTool => {
    const at = `tools[${i}]`
    for (const k of Object.keys(t)) if (!KNOWN.includes(k)) throw fail(`${at}.${k}`, 'is not a tool option')
    if (typeof t.name !== 'string' || !ID.test(t.name))
      throw fail(`${at}.name`, 'must be a tool id ([a-z0-9][a-z0-9._-], at most 64)')
    if (t.toolClass !== undefined && !(typeof t.toolClass === 'string' && ID.test(t.toolClass)))
      throw fail(`${at}.toolClass`, 'must be a class id ([a-z0-9][a-z0-9._-])')
    // Each reader, output and input belongs to one tool.
    const names: Array<[string, unknown, boolean]> = [
      ['name', `tool:${t.name}`, true],
      ['reader', t.reader, true],
      ['relay', t.relay, true],
      ['led', t.led, false],
      ['buzzer', t.buzzer, false],
      ['currentSense', t.currentSense, false],
      ['estop', t.estop, false],
    ]
    for (const [key, v, required] of names) {
      if (v === undefined && !required) continue
      if (typeof v !== 'string' || v === '')
        throw fail(`${at}.${key}`, required ? 'is required' : 'must be a name')
      const k = key === 'reader' ? `reader:${v}` : key === 'name' ? v : `io:${v}`
      if (used.has(k)) throw fail(`${at}.${key}`, `${v} is already used by ${used.get(k)}`)
      used.set(k, `tool ${t.name}`)
    }
    for (const key of ['idleMs', 'maxSessionMs'] as const) {
      if (!(Number.isSafeInteger(t[key]) && t[key] >= 1000)) throw fail(`${at}.${key}`, 'must be ≥ 1000 ms')
    }
    if (!(Number.isSafeInteger(t.warnMs) && t.warnMs >= 0 && t.warnMs < Math.min(t.idleMs, t.maxSessionMs)))
      throw fail(`${at}.warnMs`, 'must be ≥ 0 ms and shorter than idleMs and maxSessionMs')
    return Object.freeze({
      name: t.name,
      toolClass: t.toolClass ?? null,
      reader: t.reader,
      relay: t.relay,
      led: t.led ?? null,
      buzzer: t.buzzer ?? null,
      currentSense: t.currentSense ?? null,
      estop: t.estop ?? null,
      idleMs: t.idleMs,
      maxSessionMs: t.maxSessionMs,
      warnMs: t.warnMs,
    })
  })
  return Object.freeze({
    tools: Object.freeze(tools),
    timeZone,
    graceMs: o.graceMs ?? null,
    syncedAt: o.syncedAt ?? (() => null),
    now: o.now ?? Date.now,
  })
}
