/**
 * Machine-lockout record types (all board-signed facts): validators and reducers, pure functions
 * of (record, state at its position).
 *
 *   machine-lockout.session-start {tool, member, credential, start, staff}
 *   machine-lockout.session       {session: <session-start id>, tool, member, start, end, minutes, endedBy}
 *   machine-lockout.denied        {tool, credential, member?, reason, at}
 *   machine-lockout.estop         {tool, latched, at, member?}   (member: the staff who cleared it)
 *
 * A session is started and ended by separate records so usage survives a board that dies
 * mid-session; an end names its start. Reason codes: machine-lockout.BAD_BODY, .NO_SESSION (an
 * end whose start is unknown or already ended), .SESSION_MISMATCH (tool, member or start differ
 * from the start record), .NOT_SESSION_OWNER (only the board that started it, or an admin, ends it).
 */
import type { LedgerDappContext } from '../contract.ts'
import { reject } from '../contract.ts'
import {
  ENDED_BY,
  type EndedBy,
  type Latch,
  latchKey,
  type OpenSession,
  openKey,
  sessionMinutes,
  type Usage,
  usageKey,
} from './model.ts'

export const MACHINE_LOCKOUT_TYPES = [
  'machine-lockout.session-start',
  'machine-lockout.session',
  'machine-lockout.denied',
  'machine-lockout.estop',
] as const

export const Reasons = {
  BAD_BODY: 'machine-lockout.BAD_BODY',
  NO_SESSION: 'machine-lockout.NO_SESSION',
  SESSION_MISMATCH: 'machine-lockout.SESSION_MISMATCH',
  NOT_SESSION_OWNER: 'machine-lockout.NOT_SESSION_OWNER',
} as const

export interface SessionStartBody {
  tool: string
  member: string
  credential: string
  /** Board wall time, epoch ms. */
  start: number
  staff: boolean
}
export interface SessionBody {
  /** Id (hex) of the session-start record. */
  session: string
  tool: string
  member: string
  start: number
  end: number
  minutes: number
  endedBy: EndedBy
}
export interface DeniedBody {
  tool: string
  credential: string
  member?: string
  reason: string
  at: number
}
export interface EstopBody {
  tool: string
  latched: boolean
  at: number
  member?: string
}

const ID = /^[a-z0-9][a-z0-9._-]{0,63}$/
const isId = (x: unknown): x is string => typeof x === 'string' && ID.test(x)
const isText = (x: unknown, max: number): x is string =>
  typeof x === 'string' && x.length >= 1 && x.length <= max
const isTime = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0
const isObject = (x: unknown): x is Record<string, unknown> =>
  !!x && typeof x === 'object' && !Array.isArray(x) && !(x instanceof Uint8Array)
const onlyKeys = (body: object, keys: readonly string[]) => Object.keys(body).every((k) => keys.includes(k))
const bad = (type: string, what: string) => reject(Reasons.BAD_BODY, `${type} body ${what}`)

export function registerRecords(ctx: LedgerDappContext): void {
  ctx.recordType<SessionStartBody>('machine-lockout.session-start', {
    validate: (r) => {
      const b = r.body
      if (!isObject(b) || !onlyKeys(b, ['tool', 'member', 'credential', 'start', 'staff']))
        return bad(r.type, 'must be {tool, member, credential, start, staff}')
      if (!isId(b.tool) || !isId(b.member)) return bad(r.type, 'tool and member must be ids')
      if (!isText(b.credential, 128)) return bad(r.type, 'credential must be a credential id')
      if (!isTime(b.start)) return bad(r.type, 'start must be epoch milliseconds')
      if (typeof b.staff !== 'boolean') return bad(r.type, 'staff must be a boolean')
      return null
    },
    reduce: (r, state) => {
      const b = r.body
      state.put(openKey(r.idHex), {
        tool: b.tool,
        member: b.member,
        start: b.start,
        staff: b.staff,
        author: r.authorHex,
      } satisfies OpenSession)
    },
  })

  ctx.recordType<SessionBody>('machine-lockout.session', {
    validate: (r, state) => {
      const b = r.body
      if (!isObject(b) || !onlyKeys(b, ['session', 'tool', 'member', 'start', 'end', 'minutes', 'endedBy']))
        return bad(r.type, 'must be {session, tool, member, start, end, minutes, endedBy}')
      if (typeof b.session !== 'string' || !/^[0-9a-f]{64}$/.test(b.session))
        return bad(r.type, 'session must be the id (hex) of a session-start record')
      if (!isId(b.tool) || !isId(b.member)) return bad(r.type, 'tool and member must be ids')
      if (!isTime(b.start) || !isTime(b.end) || b.end < b.start)
        return bad(r.type, 'start and end must be epoch milliseconds, end ≥ start')
      if (b.minutes !== sessionMinutes(b.start, b.end))
        return bad(
          r.type,
          `minutes must be ${sessionMinutes(b.start, b.end)} (every started minute of end - start)`,
        )
      if (!ENDED_BY.includes(b.endedBy)) return bad(r.type, `endedBy must be one of ${ENDED_BY.join(', ')}`)
      const open = state.get<OpenSession>(openKey(b.session))
      if (!open)
        return reject(
          Reasons.NO_SESSION,
          `no open session ${b.session.slice(0, 16)}… (never started, or already ended)`,
        )
      if (open.tool !== b.tool || open.member !== b.member || open.start !== b.start)
        return reject(Reasons.SESSION_MISMATCH, 'tool, member or start differ from the session-start record')
      if (open.author !== r.authorHex && r.role !== 'admin')
        return reject(
          Reasons.NOT_SESSION_OWNER,
          'only the board that started a session, or an admin, may end it',
        )
      return null
    },
    reduce: (r, state) => {
      const b = r.body
      state.del(openKey(b.session))
      const key = usageKey(b.member, b.tool)
      const u = state.get<Usage>(key) ?? { minutes: 0, sessions: 0 }
      state.put(key, { minutes: u.minutes + b.minutes, sessions: u.sessions + 1 } satisfies Usage)
    },
  })

  ctx.recordType<DeniedBody>('machine-lockout.denied', {
    validate: (r) => {
      const b = r.body
      if (!isObject(b) || !onlyKeys(b, ['tool', 'credential', 'member', 'reason', 'at']))
        return bad(r.type, 'must be {tool, credential, member?, reason, at}')
      if (!isId(b.tool)) return bad(r.type, 'tool must be an id')
      if (!isText(b.credential, 128)) return bad(r.type, 'credential must be a credential id')
      if (b.member !== undefined && !isId(b.member)) return bad(r.type, 'member must be an id')
      if (!isText(b.reason, 64)) return bad(r.type, 'needs a reason')
      if (!isTime(b.at)) return bad(r.type, 'at must be epoch milliseconds')
      return null
    },
    reduce: () => {},
  })

  ctx.recordType<EstopBody>('machine-lockout.estop', {
    validate: (r) => {
      const b = r.body
      if (!isObject(b) || !onlyKeys(b, ['tool', 'latched', 'at', 'member']))
        return bad(r.type, 'must be {tool, latched, at, member?}')
      if (!isId(b.tool)) return bad(r.type, 'tool must be an id')
      if (typeof b.latched !== 'boolean') return bad(r.type, 'latched must be a boolean')
      if (!isTime(b.at)) return bad(r.type, 'at must be epoch milliseconds')
      if (b.member !== undefined && !isId(b.member)) return bad(r.type, 'member must be an id')
      if (!b.latched && b.member === undefined) return bad(r.type, 'clearing a latch names the staff member')
      return null
    },
    reduce: (r, state) => {
      const b = r.body
      if (b.latched) state.put(latchKey(b.tool), { tool: b.tool, at: b.at, by: r.authorHex } satisfies Latch)
      else state.del(latchKey(b.tool))
    },
  })
}
