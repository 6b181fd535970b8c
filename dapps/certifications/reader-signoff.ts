/**
 * Sign-off at a tool's reader, as a small machine per reader (README.md, "Sign-off at a tool's
 * reader"). It only decides; the dapp appends the grant, which the validator judges again.
 *
 *   trainer's badge ──(again within TAP_MS)──▶ armed for SIGNOFF_WINDOW_MS
 *   armed + the badge of an active member not certified for the tool, not staff ──▶ grant
 *   any other read at the reader ──▶ disarmed
 *
 * Two trainer reads in a row make the sign-off deliberate: a trainer who badges once uses the
 * tool (machine-lockout), and a stranger badging after that certifies no one. Times are the
 * board's wall clock (epoch ms), as the record carries them; the machine owns no timer: an
 * armed reader lapses, checked on the next read.
 */
import type { StateView } from '../contract.ts'
import { findBadge } from '../credentials/model.ts'
import { getMember, isActive } from '../membership/model.ts'
import { checkTrainer } from './authority.ts'
import { dayOf, type GrantBody } from './body.ts'
import { isCertified } from './model.ts'
import { checkSignoff, SIGNOFF_WINDOW_MS } from './signoff.ts'
import { type RevokeEntry, revokePrefix } from './state.ts'

/**
 * The trainer's second read must follow the first within this to arm the reader: one
 * presentation is one read (readers drop repeats), so two mean the trainer meant it.
 */
export const TAP_MS = 5_000

/** A reader that guards a tool (machine-lockout `tools:`), where trainers sign members off. */
export interface SignoffReader {
  reader: string
  /** The tool id. */
  tool: string
  /** Its class: a trainer of `class:<toolClass>` signs off the class. */
  toolClass: string | null
  /** Buzzer output that plays the sign-off pattern, if the tool has one. */
  buzzer: string | null
}

export type SignoffStep =
  | { kind: 'tap'; trainer: string }
  | { kind: 'armed'; trainer: string; tool: string }
  | { kind: 'grant'; body: GrantBody }
  | { kind: 'ignored'; reason: string }

interface Read {
  member: string
  badge: string
  at: number
}

export class ReaderSignoff {
  readonly #readers: ReadonlyMap<string, SignoffReader>
  /** reader → the trainer's last single read. */
  readonly #taps = new Map<string, Read>()
  /** reader → the trainer who armed it, their second read, and the tool they train. */
  readonly #armed = new Map<string, Read & { tool: string }>()

  constructor(readers: readonly SignoffReader[]) {
    this.#readers = new Map(readers.map((r) => [r.reader, r]))
  }

  reader(name: string): SignoffReader | undefined {
    return this.#readers.get(name)
  }

  /** A read of `credential` at `reader`, at board wall time `at` (epoch ms). */
  onBadge(
    e: { reader: string; credential: { id: string; bits: number } },
    at: number,
    state: StateView,
  ): SignoffStep {
    const r = this.#readers.get(e.reader)
    if (!r) return ignored(`reader ${e.reader} guards no tool`)
    // A read always ends the arming and the first tap; a trainer's read starts them again.
    const armed = this.#armed.get(e.reader)
    const tap = this.#taps.get(e.reader)
    this.#armed.delete(e.reader)
    this.#taps.delete(e.reader)

    const found = findBadge(state, e.credential)
    if (!found.found || found.badge.status !== 'active') return ignored('not an active badge')
    const read: Read = { member: found.badge.member, badge: found.badge.id, at }
    const day = dayOf(at)

    const trains = trainedTool(state, read.member, r, day)
    if (trains) {
      if (tap?.member === read.member && at - tap.at > 0 && at - tap.at <= TAP_MS) {
        this.#armed.set(e.reader, { ...read, tool: trains })
        return { kind: 'armed', trainer: read.member, tool: trains }
      }
      this.#taps.set(e.reader, read)
      return { kind: 'tap', trainer: read.member }
    }

    if (!armed) return ignored('no trainer armed the reader')
    if (!(at - armed.at > 0 && at - armed.at <= SIGNOFF_WINDOW_MS))
      return ignored(`the trainer armed the reader more than ${SIGNOFF_WINDOW_MS / 1000} s before`)
    const m = getMember(state, read.member)
    if (!m || !isActive(m, day)) return ignored(`${read.member} is not an active member`)
    // Staff use every tool without a certification; their badge ends a session (override).
    if (m.staff) return ignored(`${read.member} is staff`)
    if (isCertified(state, read.member, r.tool, r.toolClass, day))
      return ignored(`${read.member} is already certified for ${r.tool}`)
    const revocations = state.list<RevokeEntry>(revokePrefix(read.member, armed.tool)).map(([, x]) => x)
    if (revocations.some((x) => x.admin))
      return ignored(`an admin revoked ${read.member}'s ${armed.tool}; only an admin grants it again`)
    const body: GrantBody = {
      member: read.member,
      tool: armed.tool,
      trainer: armed.member,
      signoff: {
        reader: e.reader,
        trainer: { badge: armed.badge, at: armed.at },
        trainee: { badge: read.badge, at: read.at },
      },
      canTrain: false,
      expires: null,
      // A trainer's revocation is lifted by a trainer's sign-off (README "Revocation beats…").
      after: revocations.map((x) => x.id),
    }
    const refused = checkSignoff(state, body.signoff!, armed.member, read.member, at)
    if (refused) return ignored(refused.detail)
    return { kind: 'grant', body }
  }
}

/** The certification `member` may train at this reader's tool on `day`: the tool id, else its class. */
function trainedTool(state: StateView, member: string, r: SignoffReader, day: string): string | null {
  for (const tool of r.toolClass ? [r.tool, `class:${r.toolClass}`] : [r.tool])
    if (checkTrainer(state, member, tool, day) === null) return tool
  return null
}

const ignored = (reason: string): SignoffStep => ({ kind: 'ignored', reason })
