/**
 * Enrolment at a reader, as a small machine per reader: a staff badge arms the reader for
 * `windowMs`; the next badge there, if it is new, is the badge of the member an admin armed
 * enrolment for (`credentials.expect`). The machine only decides; the dapp appends the
 * device-signed `credentials.bind`, which the validator judges again (README "Enrolment").
 *
 *   badge → resolve (findBadge) → staff badge?  → arm the reader (or re-arm)
 *                                → new badge?   → armed in time, full-width read, exactly one
 *                                                 member awaits a badge here → bind
 *                                → anything else → disarm, nothing
 *
 * Time comes from the injected clock; an armed reader simply lapses (checked on the next read),
 * so the machine owns no timer.
 */
import type { Clock } from '../../runtime/core/clock.ts'
import type { BadgeEvent, StateView } from '../contract.ts'
import { getMember, isActive } from '../membership/model.ts'
import { type Expectation, findBadge } from './model.ts'
import type { BindBody } from './rules.ts'

export const DEFAULT_WINDOW_MS = 30_000

export type EnrolmentStep =
  | { kind: 'armed'; reader: string; staff: string }
  | { kind: 'bind'; body: Required<BindBody> }
  | { kind: 'ignored'; reason: string }

export interface EnrolmentOptions {
  clock: Clock
  /** How long after a staff badge the new badge may come (default 30 s). */
  windowMs?: number
  /** Today as `YYYY-MM-DD`, for the staff member's expiry. */
  today: () => string
}

export class Enrolment {
  readonly windowMs: number
  readonly #clock: Clock
  readonly #today: () => string
  /** reader → the staff member who armed it and when (clock ms). */
  readonly #armed = new Map<string, { staff: string; at: number }>()

  constructor(opts: EnrolmentOptions) {
    this.#clock = opts.clock
    this.windowMs = opts.windowMs ?? DEFAULT_WINDOW_MS
    this.#today = opts.today
  }

  onBadge(e: BadgeEvent, state: StateView): EnrolmentStep {
    const now = this.#clock.now()
    const last = this.#armed.get(e.reader)
    // A read always ends the arming (a staff badge re-arms); it counts only within the window.
    this.#armed.delete(e.reader)
    const armed = last && now - last.at <= this.windowMs ? last : undefined
    const found = findBadge(state, e.credential)

    if (found.found) {
      const member = getMember(state, found.badge.member)
      if (found.badge.status === 'active' && member?.staff && isActive(member, this.#today())) {
        this.#armed.set(e.reader, { staff: member.id, at: now })
        return { kind: 'armed', reader: e.reader, staff: member.id }
      }
      return ignored(armed ? 'a known badge, not a new one, followed the staff badge' : 'not a staff badge')
    }
    if (found.reason === 'ambiguous') return ignored('the read fits more than one badge')
    if (!armed)
      return ignored(
        last
          ? `the staff badge was more than ${this.windowMs / 1000} s before this new badge`
          : 'an unknown badge without a staff badge before it',
      )
    // A 24-bit read (Wiegand 26, fc-card) lost the top byte: binding it would make a badge that
    // full-width readers never match (devices/readers/credential.ts).
    if (e.credential.bits === 24)
      return ignored(`reader ${e.reader} reads only 24 bits; enrol at a reader that reads the full number`)
    const waiting = state
      .list<Expectation>('credentials/expect/')
      .map(([, x]) => x)
      .filter((x) => x.reader === null || x.reader === e.reader)
    if (waiting.length === 0) return ignored(`no member awaits a badge at reader ${e.reader}`)
    if (waiting.length > 1)
      return ignored(
        `${waiting.length} members await a badge at reader ${e.reader} (${waiting.map((x) => x.member).join(', ')}); arm one at a time`,
      )
    return {
      kind: 'bind',
      body: { badge: e.credential.id, member: waiting[0]!.member, enrolledBy: armed.staff, reader: e.reader },
    }
  }
}

const ignored = (reason: string): EnrolmentStep => ({ kind: 'ignored', reason })
