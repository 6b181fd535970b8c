/**
 * What a node tells door-access about its own hardware: which reader, lock, door contact and
 * exit button belong to which door (names from the node's hardware config), the site's time
 * zone, and how to learn when the board last synced. Checked once, then frozen.
 */
import { doorAccessErrors } from '../../runtime/core/errors/index.ts'
import { isTimeZone } from './local-time.ts'

export interface DoorOptions {
  /** The door id used in the ledger (`door-access.door` records). */
  name: string
  /** Badge reader name (hardware.readers[].name). */
  reader: string
  /** Lock output name (hardware.outputs[] of kind lock). */
  lock: string
  /** Door-contact input name: its forced / held-open alarms become `door-access.alert` records. */
  contact?: string
  /** Exit-button input name: a press unlocks for `pulseMs` (egress, never recorded, works in lockdown). */
  exit?: string
  /** How long a granted badge unlocks the door (default 5000 ms). */
  pulseMs?: number
}

export interface DoorAccessOptions {
  doors: readonly DoorOptions[]
  /** The site's IANA time zone for schedules, holidays and expiry dates (default `UTC`). */
  timeZone?: string
  /** Offline grace period when governance sets none (default: governance's, 24 hours). */
  graceMs?: number
  /** Epoch ms of the last completed sync with a peer; null = standalone (always in sync). */
  syncedAt?: () => number | null
  /** Board wall clock, epoch ms (default `Date.now`): schedules and event times. */
  now?: () => number
  /** How often override records are looked at (hold-open, lockdown, unlock-once); default 1000 ms. */
  reconcileMs?: number
}

export interface CheckedDoor extends Required<Omit<DoorOptions, 'contact' | 'exit'>> {
  contact: string | null
  exit: string | null
}

export interface CheckedDoorAccessOptions {
  doors: readonly CheckedDoor[]
  timeZone: string
  graceMs: number | null
  syncedAt: () => number | null
  now: () => number
  reconcileMs: number
}

const ID = /^[a-z0-9][a-z0-9._-]{0,63}$/
const KNOWN = ['name', 'reader', 'lock', 'contact', 'exit', 'pulseMs']
const KNOWN_TOP = ['doors', 'timeZone', 'graceMs', 'syncedAt', 'now', 'reconcileMs']

export function checkDoorAccessOptions(o: DoorAccessOptions): CheckedDoorAccessOptions {
  const fail = doorAccessErrors.CONFIG
  for (const k of Object.keys(o)) if (!KNOWN_TOP.includes(k)) throw fail(k, 'is not a door-access option')
  if (!Array.isArray(o.doors)) throw fail('doors', 'must be a list')
  const timeZone = o.timeZone ?? 'UTC'
  if (!isTimeZone(timeZone))
    throw fail('timeZone', `must be an IANA time zone (e.g. Europe/Berlin), got ${timeZone}`)
  if (o.graceMs !== undefined && !(Number.isSafeInteger(o.graceMs) && o.graceMs >= 0))
    throw fail('graceMs', 'must be a whole number of milliseconds ≥ 0')
  const reconcileMs = o.reconcileMs ?? 1000
  if (!(Number.isSafeInteger(reconcileMs) && reconcileMs >= 10)) throw fail('reconcileMs', 'must be ≥ 10 ms')
  const seen = { name: new Set<string>(), reader: new Set<string>(), lock: new Set<string>() }
  const doors = o.doors.map((d, i): CheckedDoor => {
    const at = `doors[${i}]`
    for (const k of Object.keys(d)) if (!KNOWN.includes(k)) throw fail(`${at}.${k}`, 'is not a door option')
    if (typeof d.name !== 'string' || !ID.test(d.name))
      throw fail(`${at}.name`, 'must be a door id ([a-z0-9][a-z0-9._-], at most 64)')
    for (const k of ['reader', 'lock'] as const) {
      if (typeof d[k] !== 'string' || d[k] === '') throw fail(`${at}.${k}`, 'is required')
      if (seen[k].has(d[k])) throw fail(`${at}.${k}`, `${d[k]} is already used by another door`)
      seen[k].add(d[k])
    }
    if (seen.name.has(d.name)) throw fail(`${at}.name`, `door ${d.name} is listed twice`)
    seen.name.add(d.name)
    const pulseMs = d.pulseMs ?? 5000
    if (!(Number.isSafeInteger(pulseMs) && pulseMs >= 50 && pulseMs <= 60_000))
      throw fail(`${at}.pulseMs`, 'must be 50–60000 ms')
    return Object.freeze({
      name: d.name,
      reader: d.reader,
      lock: d.lock,
      contact: d.contact ?? null,
      exit: d.exit ?? null,
      pulseMs,
    })
  })
  return Object.freeze({
    doors: Object.freeze(doors),
    timeZone,
    graceMs: o.graceMs ?? null,
    syncedAt: o.syncedAt ?? (() => null),
    now: o.now ?? Date.now,
    reconcileMs,
  })
}
