/**
 * The in-person sign-off a board's grant carries (README.md, "Sign-off at a tool's reader"):
 * a trainer's badge, then the trainee's badge, at one reader within `SIGNOFF_WINDOW_MS`.
 *
 *   signoff: { reader, trainer: {badge, at}, trainee: {badge, at} }
 *
 * `badge` is the canonical id of the bound badge the read resolved to; `at` is the board's wall
 * clock (epoch ms) at the read. `checkSignoff` is the validator's side: a pure function of the
 * body, the state and the record's clock.
 */
import { type Rejection, reject, type StateView } from '../contract.ts'
import { type Badge, badgeKey } from '../credentials/model.ts'
import { isBadgeId, READER_PATTERN } from '../credentials/rules.ts'

/**
 * The trainee's badge must follow the trainer's within this: the trainer stands at the reader
 * when the trainee badges, and a trainer's badge cannot be spent on someone who comes later.
 */
export const SIGNOFF_WINDOW_MS = 30_000

/**
 * How far the record's clock may lag the trainee's badge: a wall clock set back (NTP) between
 * the read and the append. A hybrid clock never runs behind its board's wall clock otherwise.
 */
export const SIGNOFF_CLOCK_SLACK_MS = 5_000

/**
 * How long after the trainee's badge the record may be stamped. Longer than the hybrid clock
 * may run ahead of a board's wall clock (10 min, runtime/core/ledger/hlc.ts `maxAheadMs`), so an
 * honest board is never refused; short enough that a board cannot mint a sign-off for reads
 * long past.
 */
export const SIGNOFF_MAX_AGE_MS = 15 * 60_000

export interface BadgeRead {
  /** Canonical id of the bound badge the read resolved to (credentials/badge/<id>). */
  badge: string
  /** Board wall clock at the read, epoch ms. */
  at: number
}

export interface Signoff {
  /** The reader (hardware name) where both badges were read. */
  reader: string
  trainer: BadgeRead
  trainee: BadgeRead
}

/** The shape of `signoff`, or a sentence naming what is wrong. */
export function signoffProblem(x: unknown): string | null {
  if (!x || typeof x !== 'object' || Array.isArray(x) || x instanceof Uint8Array)
    return 'signoff must be a map'
  const s = x as Record<string, unknown>
  const extra = Object.keys(s).filter((k) => !['reader', 'trainer', 'trainee'].includes(k))
  if (extra.length > 0) return `signoff has unknown field ${extra[0]} (allowed: reader, trainer, trainee)`
  if (typeof s.reader !== 'string' || !READER_PATTERN.test(s.reader))
    return 'signoff.reader must be a reader name'
  for (const who of ['trainer', 'trainee'] as const) {
    const e = s[who] as Record<string, unknown> | null
    if (!e || typeof e !== 'object' || Array.isArray(e)) return `signoff.${who} must be a map {badge, at}`
    const extraRead = Object.keys(e).filter((k) => k !== 'badge' && k !== 'at')
    if (extraRead.length > 0) return `signoff.${who} has unknown field ${extraRead[0]} (allowed: badge, at)`
    if (!isBadgeId(e.badge)) return `signoff.${who}.badge must be a canonical badge id (em:<n> or uid:<hex>)`
    if (!(Number.isSafeInteger(e.at) && (e.at as number) > 0))
      return `signoff.${who}.at must be epoch milliseconds (a whole number > 0)`
  }
  return null
}

/**
 * The sign-off is evidence of `trainer` signing off `member` in person, judged at the record's
 * place (badges bound and active then) and against its clock `hlcMs`:
 *   each badge is active and bound to that member           → certifications.SIGNOFF_BADGE
 *   0 < trainee.at − trainer.at ≤ SIGNOFF_WINDOW_MS          → certifications.SIGNOFF_WINDOW
 *   trainee.at − SLACK ≤ hlcMs ≤ trainee.at + MAX_AGE        → certifications.SIGNOFF_CLOCK
 */
export function checkSignoff(
  state: StateView,
  s: Signoff,
  trainer: string,
  member: string,
  hlcMs: number,
): Rejection | null {
  for (const [who, read, holder] of [
    ['trainer', s.trainer, trainer],
    ['trainee', s.trainee, member],
  ] as const) {
    const b = state.get<Badge>(badgeKey(read.badge))
    if (b?.member !== holder || b.status !== 'active')
      return reject(
        'certifications.SIGNOFF_BADGE',
        `the ${who}'s badge ${read.badge} is not an active badge of ${holder}${b ? ` (${b.member}, ${b.status})` : ' (unknown)'}`,
      )
  }
  const gap = s.trainee.at - s.trainer.at
  if (!(gap > 0 && gap <= SIGNOFF_WINDOW_MS))
    return reject(
      'certifications.SIGNOFF_WINDOW',
      `the trainee's badge must follow the trainer's within ${SIGNOFF_WINDOW_MS / 1000} s; it came ${gap} ms after`,
    )
  const age = hlcMs - s.trainee.at
  if (age < -SIGNOFF_CLOCK_SLACK_MS || age > SIGNOFF_MAX_AGE_MS)
    return reject(
      'certifications.SIGNOFF_CLOCK',
      `the record is stamped ${age} ms after the trainee's badge; a sign-off is recorded within ${SIGNOFF_MAX_AGE_MS / 60_000} min of it`,
    )
  return null
}
