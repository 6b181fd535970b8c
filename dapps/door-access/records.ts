/**
 * Door-access record types: validators ("proof of merge") and reducers. Pure functions of
 * (record, state at the record's position): no clock, no I/O.
 *
 * Admin-signed configuration (last writer wins in the total order):
 *   door-access.door      {door, groups, schedule, groupSchedules?} | {door, removed: true}
 *   door-access.schedule  {name, windows: [{days, from, to}]}      | {name, removed: true}
 *   door-access.holiday   {date, name, doors: [..] | null, hours: [{from, to}]} | {date, removed: true}
 *   door-access.override  {door, kind: lockdown|hold-open|unlock-once, until?, reason, cancel?}
 * Board-signed facts (grow-only):
 *   door-access.event     {door, credential, member?, decision, reason, at, offline?, override?}
 *   door-access.alert     {door, type: forced|held-open, active, at}
 *
 * Reason codes: door-access.BAD_BODY, .NOT_ADMIN, .UNKNOWN_DOOR, .UNKNOWN_SCHEDULE,
 * .SCHEDULE_IN_USE.
 */
import type { FoldRecord, LedgerDappContext, Rejection, StateView } from '../contract.ts'
import { reject } from '../contract.ts'
import { parseHhmm, WEEKDAYS, type Weekday } from './local-time.ts'
import {
  type Alert,
  type AlertType,
  alertKey,
  type Door,
  doorKey,
  getDoor,
  type Holiday,
  holidayKey,
  OVERRIDE_KINDS,
  type Override,
  type OverrideKind,
  overrideKey,
  type Schedule,
  scheduleKey,
  type Window,
} from './model.ts'

export const DOOR_ACCESS_TYPES = [
  'door-access.door',
  'door-access.schedule',
  'door-access.holiday',
  'door-access.override',
  'door-access.event',
  'door-access.alert',
] as const

export const Reasons = {
  BAD_BODY: 'door-access.BAD_BODY',
  NOT_ADMIN: 'door-access.NOT_ADMIN',
  UNKNOWN_DOOR: 'door-access.UNKNOWN_DOOR',
  UNKNOWN_SCHEDULE: 'door-access.UNKNOWN_SCHEDULE',
  SCHEDULE_IN_USE: 'door-access.SCHEDULE_IN_USE',
} as const

export interface DoorBody {
  door: string
  groups?: string[]
  schedule?: string | null
  groupSchedules?: Record<string, string | null>
  removed?: boolean
}
export interface ScheduleBody {
  name: string
  windows?: Window[]
  removed?: boolean
}
export interface HolidayBody {
  date: string
  name?: string
  doors?: string[] | null
  hours?: Array<{ from: string; to: string }>
  removed?: boolean
}
export interface OverrideBody {
  door: string
  kind: OverrideKind
  until?: number | null
  reason: string
  cancel?: boolean
}
export interface EventBody {
  door: string
  /** Canonical credential id; null for an action with no badge (unlock-once). */
  credential: string | null
  member?: string
  decision: 'granted' | 'denied'
  reason: string
  /** Board wall time (epoch ms), independent of the record's HLC. */
  at: number
  /** Decided under the offline policy. */
  offline?: boolean
  /** Id (hex) of the override this event performed (unlock-once). */
  override?: string
}
export interface AlertBody {
  door: string
  type: AlertType
  active: boolean
  at: number
}

const ID = /^[a-z0-9][a-z0-9._-]{0,63}$/
const DATE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/
const isId = (x: unknown): x is string => typeof x === 'string' && ID.test(x)
const isIds = (x: unknown, max = 64): x is string[] =>
  Array.isArray(x) && x.length <= max && x.every(isId) && new Set(x).size === x.length
const isText = (x: unknown, max = 256): x is string =>
  typeof x === 'string' && x.length >= 1 && x.length <= max
const isTime = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0
const isObject = (x: unknown): x is Record<string, unknown> =>
  !!x && typeof x === 'object' && !Array.isArray(x) && !(x instanceof Uint8Array)
const onlyKeys = (body: object, keys: readonly string[]) => Object.keys(body).every((k) => keys.includes(k))
const bad = (type: string, what: string) => reject(Reasons.BAD_BODY, `${type} body ${what}`)

function requireAdmin(r: FoldRecord): Rejection | null {
  return r.role === 'admin'
    ? null
    : reject(Reasons.NOT_ADMIN, `${r.type} needs an admin key; ${r.authorHex.slice(0, 16)}… is ${r.role}`)
}

function checkHours(type: string, hours: unknown, withDays: boolean): Rejection | null {
  if (!Array.isArray(hours) || hours.length > 32) return bad(type, 'needs a list of at most 32 time windows')
  for (const w of hours) {
    if (!isObject(w) || !onlyKeys(w, withDays ? ['days', 'from', 'to'] : ['from', 'to']))
      return bad(type, `windows must be {${withDays ? 'days, ' : ''}from, to}`)
    if (withDays) {
      const days = w.days
      if (
        !Array.isArray(days) ||
        days.length === 0 ||
        !days.every((d) => WEEKDAYS.includes(d as Weekday)) ||
        new Set(days).size !== days.length
      )
        return bad(type, `window days must be distinct names among ${WEEKDAYS.join(', ')}`)
    }
    const from = parseHhmm(w.from)
    const to = parseHhmm(w.to)
    if (from === null || to === null || from >= to)
      return bad(
        type,
        'window times must be "HH:MM" with from < to (to may be "24:00"; split a night in two)',
      )
  }
  return null
}

/** Doors (not removed) that name `schedule`, for SCHEDULE_IN_USE. */
function doorsUsing(state: StateView, schedule: string): string[] {
  return state
    .list<Door>('door-access/door/')
    .filter(
      ([, d]) =>
        !d.removed && (d.schedule === schedule || Object.values(d.groupSchedules).includes(schedule)),
    )
    .map(([, d]) => d.door)
}

function knownDoor(state: StateView, door: string): boolean {
  return state.has(doorKey(door))
}

export function registerRecords(ctx: LedgerDappContext): void {
  ctx.recordType<DoorBody>('door-access.door', {
    validate: (r, state) => {
      const b = r.body
      if (!isObject(b) || !isId(b.door)) return bad(r.type, 'must name a door id ([a-z0-9._-], ≤ 64)')
      if (b.removed !== undefined) {
        if (b.removed !== true || !onlyKeys(b, ['door', 'removed']))
          return bad(r.type, 'removal is {door, removed: true}')
      } else {
        if (!onlyKeys(b, ['door', 'groups', 'schedule', 'groupSchedules']))
          return bad(r.type, 'must be {door, groups, schedule, groupSchedules?}')
        if (!isIds(b.groups)) return bad(r.type, 'groups must be a list of distinct group ids')
        if (b.schedule !== null && !isId(b.schedule))
          return bad(r.type, 'schedule must be a schedule name or null')
        const gs = b.groupSchedules ?? {}
        if (!isObject(gs)) return bad(r.type, 'groupSchedules must map group → schedule name or null')
        for (const [g, s] of Object.entries(gs)) {
          if (!b.groups.includes(g))
            return bad(r.type, `groupSchedules names group ${g}, which is not in groups`)
          if (s !== null && !isId(s))
            return bad(r.type, 'groupSchedules must map group → schedule name or null')
        }
      }
      const admin = requireAdmin(r)
      if (admin) return admin
      if (b.removed) {
        if (!getDoor(state, b.door)) return reject(Reasons.UNKNOWN_DOOR, `no door ${b.door} to remove`)
        return null
      }
      for (const s of [b.schedule, ...Object.values(b.groupSchedules ?? {})]) {
        if (s !== null && s !== undefined && !state.has(scheduleKey(s)))
          return reject(Reasons.UNKNOWN_SCHEDULE, `door ${b.door} names schedule ${s}, which does not exist`)
      }
      return null
    },
    reduce: (r, state) => {
      const b = r.body
      if (b.removed) {
        state.put(doorKey(b.door), {
          door: b.door,
          groups: [],
          schedule: null,
          groupSchedules: {},
          removed: true,
        } satisfies Door)
        for (const kind of OVERRIDE_KINDS) state.del(overrideKey(b.door, kind))
        return
      }
      state.put(doorKey(b.door), {
        door: b.door,
        groups: b.groups!,
        schedule: b.schedule ?? null,
        groupSchedules: b.groupSchedules ?? {},
        removed: false,
      } satisfies Door)
    },
  })

  ctx.recordType<ScheduleBody>('door-access.schedule', {
    validate: (r, state) => {
      const b = r.body
      if (!isObject(b) || !isId(b.name)) return bad(r.type, 'must name a schedule id ([a-z0-9._-], ≤ 64)')
      if (b.removed !== undefined) {
        if (b.removed !== true || !onlyKeys(b, ['name', 'removed']))
          return bad(r.type, 'removal is {name, removed: true}')
      } else {
        if (!onlyKeys(b, ['name', 'windows'])) return bad(r.type, 'must be {name, windows}')
        const hours = checkHours(r.type, b.windows, true)
        if (hours) return hours
      }
      const admin = requireAdmin(r)
      if (admin) return admin
      if (b.removed) {
        if (!state.has(scheduleKey(b.name)))
          return reject(Reasons.UNKNOWN_SCHEDULE, `no schedule ${b.name} to remove`)
        const using = doorsUsing(state, b.name)
        if (using.length > 0)
          return reject(Reasons.SCHEDULE_IN_USE, `schedule ${b.name} is used by door(s) ${using.join(', ')}`)
      }
      return null
    },
    reduce: (r, state) => {
      if (r.body.removed) state.del(scheduleKey(r.body.name))
      else
        state.put(scheduleKey(r.body.name), {
          name: r.body.name,
          windows: r.body.windows!,
        } satisfies Schedule)
    },
  })

  ctx.recordType<HolidayBody>('door-access.holiday', {
    validate: (r) => {
      const b = r.body
      if (!isObject(b) || typeof b.date !== 'string' || !DATE.test(b.date))
        return bad(r.type, 'must name a date "YYYY-MM-DD"')
      if (b.removed !== undefined) {
        if (b.removed !== true || !onlyKeys(b, ['date', 'removed']))
          return bad(r.type, 'removal is {date, removed: true}')
      } else {
        if (!onlyKeys(b, ['date', 'name', 'doors', 'hours']))
          return bad(r.type, 'must be {date, name, doors, hours}')
        if (!isText(b.name, 128)) return bad(r.type, 'name must be 1–128 characters')
        if (b.doors !== null && !isIds(b.doors, 256))
          return bad(r.type, 'doors must be a list of door ids or null (all)')
        const hours = checkHours(r.type, b.hours, false)
        if (hours) return hours
      }
      return requireAdmin(r)
    },
    reduce: (r, state) => {
      const b = r.body
      if (b.removed) state.del(holidayKey(b.date))
      else
        state.put(holidayKey(b.date), {
          date: b.date,
          name: b.name!,
          doors: b.doors ?? null,
          hours: b.hours!,
        } satisfies Holiday)
    },
  })

  ctx.recordType<OverrideBody>('door-access.override', {
    validate: (r, state) => {
      const b = r.body
      if (!isObject(b) || !onlyKeys(b, ['door', 'kind', 'until', 'reason', 'cancel']))
        return bad(r.type, 'must be {door, kind, until?, reason, cancel?}')
      if (!isId(b.door)) return bad(r.type, 'must name a door id')
      if (!OVERRIDE_KINDS.includes(b.kind))
        return bad(r.type, `kind must be one of ${OVERRIDE_KINDS.join(', ')}`)
      if (!isText(b.reason)) return bad(r.type, 'needs a reason (1–256 characters)')
      if (b.cancel !== undefined && b.cancel !== true) return bad(r.type, 'cancel must be true or absent')
      const until = b.until ?? null
      if (until !== null && !isTime(until)) return bad(r.type, 'until must be epoch milliseconds or null')
      if (!b.cancel && until === null && b.kind !== 'lockdown')
        return bad(r.type, `a ${b.kind} override needs \`until\` (epoch ms)`)
      const admin = requireAdmin(r)
      if (admin) return admin
      if (!getDoor(state, b.door)) return reject(Reasons.UNKNOWN_DOOR, `no door ${b.door}`)
      return null
    },
    reduce: (r, state) => {
      const b = r.body
      if (b.cancel) state.del(overrideKey(b.door, b.kind))
      else
        state.put(overrideKey(b.door, b.kind), {
          door: b.door,
          kind: b.kind,
          until: b.until ?? null,
          reason: b.reason,
          id: r.idHex,
          by: r.authorHex,
          done: false,
        } satisfies Override)
    },
  })

  ctx.recordType<EventBody>('door-access.event', {
    validate: (r, state) => {
      const b = r.body
      if (
        !isObject(b) ||
        !onlyKeys(b, ['door', 'credential', 'member', 'decision', 'reason', 'at', 'offline', 'override'])
      )
        return bad(r.type, 'must be {door, credential, member?, decision, reason, at, offline?, override?}')
      if (!isId(b.door)) return bad(r.type, 'must name a door id')
      if (b.credential !== null && !isText(b.credential, 128))
        return bad(r.type, 'credential must be a credential id or null')
      if (b.member !== undefined && !isId(b.member)) return bad(r.type, 'member must be a member id')
      if (b.decision !== 'granted' && b.decision !== 'denied')
        return bad(r.type, 'decision must be granted or denied')
      if (!isText(b.reason, 64)) return bad(r.type, 'needs a reason')
      if (!isTime(b.at)) return bad(r.type, 'at must be epoch milliseconds')
      if (b.offline !== undefined && typeof b.offline !== 'boolean')
        return bad(r.type, 'offline must be a boolean')
      if (b.override !== undefined && !(typeof b.override === 'string' && /^[0-9a-f]{64}$/.test(b.override)))
        return bad(r.type, 'override must be a record id (hex)')
      if (!knownDoor(state, b.door))
        return reject(Reasons.UNKNOWN_DOOR, `no door ${b.door} was ever configured`)
      return null
    },
    reduce: (r, state) => {
      const id = r.body.override
      if (!id) return
      const key = overrideKey(r.body.door, 'unlock-once')
      const o = state.get<Override>(key)
      if (o && o.id === id && !o.done) state.put(key, { ...o, done: true } satisfies Override)
    },
  })

  ctx.recordType<AlertBody>('door-access.alert', {
    validate: (r, state) => {
      const b = r.body
      if (!isObject(b) || !onlyKeys(b, ['door', 'type', 'active', 'at']))
        return bad(r.type, 'must be {door, type, active, at}')
      if (!isId(b.door)) return bad(r.type, 'must name a door id')
      if (b.type !== 'forced' && b.type !== 'held-open')
        return bad(r.type, 'type must be forced or held-open')
      if (typeof b.active !== 'boolean') return bad(r.type, 'active must be a boolean')
      if (!isTime(b.at)) return bad(r.type, 'at must be epoch milliseconds')
      if (!knownDoor(state, b.door))
        return reject(Reasons.UNKNOWN_DOOR, `no door ${b.door} was ever configured`)
      return null
    },
    reduce: (r, state) => {
      const b = r.body
      if (b.active)
        state.put(alertKey(b.door, b.type), {
          door: b.door,
          type: b.type,
          at: b.at,
          by: r.authorHex,
        } satisfies Alert)
      else state.del(alertKey(b.door, b.type))
    },
  })
}
