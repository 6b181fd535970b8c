/**
 * The credentials dapp: badges (canonical credential ids) bound to members, lost/stolen badge
 * revocation, the low-24 index for Wiegand 26 reads, and enrolment at a reader. State layout:
 * ./model.ts. Rules, bodies and reason codes: ./README.md.
 *
 * Every record is admin-signed except one: a `credentials.bind` signed by an enrolled device
 * (a board) is accepted as an enrolment when an active staff member vouched for it at a reader
 * (`enrolledBy`) and an admin armed enrolment for that member (`credentials.expect`).
 */
import { lowBitsKey } from '../../devices/readers/credential.ts'
import { badgeErrors } from '../../runtime/core/errors/index.ts'
import type { Dapp, FoldRecord, Rejection, StateView, StateWriter } from '../contract.ts'
import { reject } from '../contract.ts'
import { getMember, isActive, utcDay } from '../membership/model.ts'
import { idProblem } from '../membership/rules.ts'
import { DEFAULT_WINDOW_MS, Enrolment } from './enrolment.ts'
import {
  type BadgeEntry,
  badgeKey,
  badgesOf,
  type Expectation,
  expectKey,
  low24Key,
  memberBadgesKey,
} from './model.ts'
import {
  type BindBody,
  badgeIdProblem,
  bindProblem,
  type ExpectBody,
  expectProblem,
  type RevokeBody,
  revokeProblem,
  type UnexpectBody,
  unexpectProblem,
} from './rules.ts'

export const CREDENTIALS_TYPES = [
  'credentials.bind',
  'credentials.revoke',
  'credentials.expect',
  'credentials.unexpect',
] as const

/** Reason codes of rejected credentials records (stable; never reused). */
export const CredentialsReason = {
  NOT_ADMIN: 'credentials.NOT_ADMIN',
  BAD_BODY: 'credentials.BAD_BODY',
  UNKNOWN_MEMBER: 'credentials.UNKNOWN_MEMBER',
  UNKNOWN_BADGE: 'credentials.UNKNOWN_BADGE',
  IN_USE: 'credentials.IN_USE',
  ALREADY_BOUND: 'credentials.ALREADY_BOUND',
  BADGE_REVOKED: 'credentials.BADGE_REVOKED',
  NOT_STAFF: 'credentials.NOT_STAFF',
  NOT_EXPECTED: 'credentials.NOT_EXPECTED',
} as const

const R = CredentialsReason

function requireAdmin(r: FoldRecord): Rejection | null {
  return r.role === 'admin'
    ? null
    : reject(R.NOT_ADMIN, `${r.type} needs an admin key; ${r.authorHex.slice(0, 16)}… is ${r.role}`)
}

function badBody(r: FoldRecord, problem: string | null): Rejection | null {
  return problem ? reject(R.BAD_BODY, `${r.type}: ${problem}`) : null
}

function requireMember(r: FoldRecord, state: StateView, id: string): Rejection | null {
  return getMember(state, id) ? null : reject(R.UNKNOWN_MEMBER, `${r.type}: there is no member ${id}`)
}

/**
 * `credentials.bind`. An admin may bind any badge not in use by another member. A device may
 * bind only as an enrolment: `enrolledBy` is a staff member active on the record's day, the
 * member was expected at that reader, and the badge is new to the site.
 */
function validateBind(r: FoldRecord<BindBody>, state: StateView): Rejection | null {
  const shape = badBody(r, bindProblem(r.body))
  if (shape) return shape
  const b = r.body
  const device = r.role === 'device'
  if (!(r.role === 'admin' || (device && b.enrolledBy !== undefined)))
    return reject(
      R.NOT_ADMIN,
      `credentials.bind needs an admin key, or a device key with enrolledBy (an enrolment at a reader); ${r.authorHex.slice(0, 16)}… is ${r.role}`,
    )
  const member = requireMember(r, state, b.member)
  if (member) return member
  if (device) {
    const staff = getMember(state, b.enrolledBy!)
    if (!staff?.staff || !isActive(staff, utcDay(r.hlc.ms)))
      return reject(R.NOT_STAFF, `enrolledBy ${b.enrolledBy} is not an active staff member`)
    const expected = state.get<Expectation>(expectKey(b.member))
    if (!expected || (expected.reader !== null && expected.reader !== b.reader))
      return reject(
        R.NOT_EXPECTED,
        `no admin armed enrolment of a badge for ${b.member}${expected ? ` at reader ${b.reader}` : ''}`,
      )
  }
  const old = state.get<BadgeEntry>(badgeKey(b.badge))
  if (old) {
    // A lost or stolen badge is never re-issued to someone else; a returned one ('revoked') may be.
    if (old.member !== b.member && old.status !== 'revoked')
      return reject(R.IN_USE, `badge ${b.badge} is bound to member ${old.member} (${old.status})`)
    if (old.member === b.member && old.status === 'active')
      return reject(R.ALREADY_BOUND, `badge ${b.badge} is already bound to ${b.member}`)
    if (device)
      return reject(R.BADGE_REVOKED, `badge ${b.badge} was ${old.status}; only an admin can bind it again`)
  }
  return null
}

function addSorted(state: StateWriter, key: string, id: string): void {
  const ids = state.get<string[]>(key) ?? []
  if (!ids.includes(id)) state.put(key, [...ids, id].sort())
}

function removeFrom(state: StateWriter, key: string, id: string): void {
  const ids = (state.get<string[]>(key) ?? []).filter((x) => x !== id)
  if (ids.length > 0) state.put(key, ids)
  else state.del(key)
}

function bind(r: FoldRecord<BindBody>, state: StateWriter): void {
  const b = r.body
  const old = state.get<BadgeEntry>(badgeKey(b.badge))
  if (old && old.member !== b.member) removeFrom(state, memberBadgesKey(old.member), b.badge)
  state.put(badgeKey(b.badge), {
    id: b.badge,
    member: b.member,
    status: 'active',
    enrolledBy: b.enrolledBy ?? null,
    reason: null,
  } satisfies BadgeEntry)
  addSorted(state, memberBadgesKey(b.member), b.badge)
  // Every badge the site ever bound stays in the low-24 index, whatever its status: a 24-bit read
  // that fits a lost badge and another one is ambiguous, never the other one.
  const low = lowBitsKey(b.badge)
  if (low) addSorted(state, low24Key(low), b.badge)
  // The member got a badge: an armed enrolment for them is used up.
  state.del(expectKey(b.member))
}

function validateRevoke(r: FoldRecord<RevokeBody>, state: StateView): Rejection | null {
  return (
    requireAdmin(r) ??
    badBody(r, revokeProblem(r.body)) ??
    (state.has(badgeKey(r.body.badge))
      ? null
      : reject(R.UNKNOWN_BADGE, `badge ${r.body.badge} is not bound to any member`))
  )
}

function revoke(r: FoldRecord<RevokeBody>, state: StateWriter): void {
  const old = state.get<BadgeEntry>(badgeKey(r.body.badge))!
  state.put(badgeKey(old.id), { ...old, status: r.body.status, reason: r.body.reason } satisfies BadgeEntry)
}

export const credentialsValidators = {
  'credentials.bind': validateBind,
  'credentials.revoke': validateRevoke,
  'credentials.expect': (r: FoldRecord<ExpectBody>, state: StateView) =>
    requireAdmin(r) ?? badBody(r, expectProblem(r.body)) ?? requireMember(r, state, r.body.member),
  'credentials.unexpect': (r: FoldRecord<UnexpectBody>, state: StateView) =>
    requireAdmin(r) ??
    badBody(r, unexpectProblem(r.body)) ??
    (state.has(expectKey(r.body.member))
      ? null
      : reject(R.NOT_EXPECTED, `no enrolment is armed for ${r.body.member}`)),
}

export interface CredentialsOptions {
  /** Enrolment window after a staff badge (default 30 s). */
  windowMs?: number
  /** Today as `YYYY-MM-DD` (default: the UTC day of the wall clock). */
  today?: () => string
}

/** The credentials dapp; `credentials` is the one with default options. */
export function createCredentials(opts: CredentialsOptions = {}): Dapp {
  return {
    name: 'credentials',
    version: '1.0.0',
    dependencies: { membership: '1' },
    types: CREDENTIALS_TYPES,
    records(ctx) {
      ctx.recordType<BindBody>('credentials.bind', { validate: validateBind, reduce: bind })
      ctx.recordType<RevokeBody>('credentials.revoke', { validate: validateRevoke, reduce: revoke })
      ctx.recordType<ExpectBody>('credentials.expect', {
        validate: credentialsValidators['credentials.expect'],
        reduce: (r, state) =>
          state.put(expectKey(r.body.member), {
            member: r.body.member,
            reader: r.body.reader,
            by: r.authorHex,
            at: r.hlc.ms,
          } satisfies Expectation),
      })
      ctx.recordType<UnexpectBody>('credentials.unexpect', {
        validate: credentialsValidators['credentials.unexpect'],
        reduce: (r, state) => state.del(expectKey(r.body.member)),
      })
    },
    start(ctx) {
      ctx.query('badge', (params, state) => {
        const id = params.id ?? ''
        const problem = badgeIdProblem(id)
        if (problem) throw badgeErrors.INVALID(problem)
        const badge = state.get<BadgeEntry>(badgeKey(id))
        if (!badge) throw badgeErrors.UNKNOWN(id)
        return badge
      })
      ctx.query('badges', (params, state) => {
        const problem = idProblem(params.member ?? '', 'member')
        if (problem) throw badgeErrors.INVALID(problem)
        return { badges: badgesOf(state, params.member!) }
      })
      ctx.query('expected', (_params, state) => ({
        expected: state.list<Expectation>('credentials/expect/').map(([, x]) => x),
      }))

      const enrolment = new Enrolment({
        clock: ctx.clock,
        windowMs: opts.windowMs ?? DEFAULT_WINDOW_MS,
        today: opts.today ?? (() => utcDay(Date.now())),
      })
      ctx.on('badge', async (e) => {
        const step = enrolment.onBadge(e, ctx.state)
        const at = { reader: e.reader, credential: e.credential.id }
        if (step.kind === 'ignored') {
          ctx.log.debug({ ...at, step: step.kind }, `enrolment: ${step.reason}`)
          return
        }
        if (step.kind === 'armed') {
          ctx.log.info(
            { ...at, step: step.kind, staff: step.staff },
            `enrolment armed at reader ${step.reader} by ${step.staff} for ${enrolment.windowMs / 1000} s`,
          )
          return
        }
        if (ctx.node.role === null) {
          ctx.log.warn({ ...at, step: 'unenrolled' }, 'enrolment: this node is not enrolled and cannot sign')
          return
        }
        const { record, rejection } = await ctx.append('credentials.bind', step.body)
        const fields = { ...at, step: step.kind, member: step.body.member, enrolledBy: step.body.enrolledBy }
        if (rejection) ctx.log.warn({ ...fields, rejection }, `enrolment rejected: ${rejection.detail}`)
        else
          ctx.log.info(
            { ...fields, record: Buffer.from(record.id).toString('hex') },
            `badge ${step.body.badge} enrolled for ${step.body.member} (vouched by ${step.body.enrolledBy})`,
          )
      })
    },
  }
}

export const credentials: Dapp = createCredentials()
