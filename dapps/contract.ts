/**
 * The dapp contract (docs/dapps.md is the guide for third parties).
 *
 * A dapp declares itself — name, version, dependencies (name → major version), the record types
 * it owns — and gets two contexts:
 *
 * - `records(ctx)`: registers, for each owned type, a validator ("proof of merge": a record is
 *   applied only when it passes) and a reducer (the deterministic state change). Runs when the
 *   ledger opens; validators and reducers are pure functions of (record, state): no clock, no
 *   I/O, no randomness, or two nodes would disagree.
 * - `start(ctx)`: registers queries (served at `GET /api/v1/dapps/<dapp>/<query>` and by the
 *   CLI), event handlers (badge read, input change, door alarm) and timers, and may append
 *   records signed by this node's key. It may be async; a dapp whose start throws or does not
 *   finish within its timeout is named in the error and stopped, and the node keeps running.
 *
 * State keys a dapp writes start with `<dapp name>/`. Record types are named `<dapp>.<kind>`.
 */

import type { BadgeEvent } from '../devices/readers/index.ts'
import type { Clock } from '../runtime/core/clock.ts'
import type { LedgerDapp, LedgerDappContext } from '../runtime/core/ledger/dapp.ts'
import type { AppendResult } from '../runtime/core/ledger/ledger.ts'
import type { StateView } from '../runtime/core/ledger/state.ts'
import type { Logger } from '../runtime/core/log.ts'

/** The dapp host's errors (a dapp that fails to start, an unknown query, an output the hardware lacks). */
export { dappErrors } from '../runtime/core/errors/index.ts'
export type { FoldRecord, LedgerDappContext, RecordTypeHandlers } from '../runtime/core/ledger/dapp.ts'
export type { Rejection } from '../runtime/core/ledger/reasons.ts'
export { reject } from '../runtime/core/ledger/reasons.ts'
export type { StateView, StateWriter } from '../runtime/core/ledger/state.ts'

/** A badge read at a reader, with the canonical credential id: declared by the readers. */
export type { BadgeEvent }

export interface InputEvent {
  name: string
  kind: 'door-contact' | 'exit-button' | 'estop' | 'current-sense'
  value: 0 | 1
  at: number
}

export interface AlarmEvent {
  name: string
  type: 'forced' | 'held-open'
  active: boolean
  at: number
}

export interface DappEvents {
  badge: BadgeEvent
  input: InputEvent
  alarm: AlarmEvent
}

/** The node's outputs as a dapp may drive them (names from the hardware config). */
export interface OutputsView {
  lock(name: string): {
    pulse(ms: number): Promise<void>
    unlock(): Promise<void>
    lock(): Promise<void>
    readonly state: string
  }
  relay(name: string): { enable(): Promise<void>; disable(): Promise<void>; readonly enabled: boolean }
  led(name: string): {
    on(): Promise<void>
    off(): Promise<void>
    blink(pattern: readonly number[], repeat?: number): Promise<void>
  }
  buzzer(name: string): {
    play(pattern: readonly number[], opts?: { repeat?: number }): Promise<void>
    stop(): Promise<void>
  }
}

export type QueryHandler = (params: Readonly<Record<string, string>>, state: StateView) => unknown

export interface DappRuntimeContext {
  readonly log: Logger
  readonly clock: Clock
  /** Current ledger state (read-only, in memory). */
  readonly state: StateView
  /** This node's key (hex) and role in the site ('device' or 'admin'), or null before enrolment. */
  readonly node: { key: string; role: string | null }
  readonly outputs: OutputsView
  /** Appends a record of one of this dapp's types, signed by this node's key. */
  append(type: string, body: unknown): Promise<AppendResult>
  query(name: string, handler: QueryHandler): void
  /**
   * A hardware event handler. A `badge` comes once, from the readers the node gives this dapp
   * (its doors' or tools' readers), or from every reader when the dapp owns none.
   */
  on<E extends keyof DappEvents>(event: E, handler: (e: DappEvents[E]) => void | Promise<void>): void
  /** A repeating timer owned by the dapp (stopped when the dapp stops). */
  every(ms: number, handler: () => void | Promise<void>): void
}

export interface Dapp {
  readonly name: string
  readonly version: string
  readonly dependencies?: Readonly<Record<string, string>>
  readonly types: readonly string[]
  /** Registers validators and reducers (see LedgerDappContext). */
  records(ctx: LedgerDappContext): void
  /** Registers queries, event handlers and timers. Optional: a dapp may only own records. */
  start?(ctx: DappRuntimeContext): void | Promise<void>
  /** How long `start` may take (default 5000 ms). */
  readonly startTimeoutMs?: number
}

/**
 * Appends a record of the dapp's own type without awaiting it on the decision path: a record the
 * fold rejects, or an append that fails, is logged, never thrown into an event handler.
 */
export async function appendOrLog(ctx: DappRuntimeContext, type: string, body: unknown): Promise<void> {
  try {
    const { rejection } = await ctx.append(type, body)
    if (rejection) ctx.log.error({ type, body, rejection }, `${type} was not applied: ${rejection.code}`)
  } catch (err) {
    ctx.log.error({ err, type, body }, `${type} could not be appended`)
  }
}

/** Awaits an actuation (or any side effect), logging its failure with `fields`. */
export async function logFailure(
  ctx: DappRuntimeContext,
  p: Promise<unknown>,
  what: string,
  fields: Record<string, unknown> = {},
): Promise<void> {
  try {
    await p
  } catch (err) {
    ctx.log.error({ err, ...fields }, `${what} failed`)
  }
}

/** What the ledger needs of a dapp: its record types and their handlers. */
export function ledgerDapp(d: Dapp): LedgerDapp {
  return {
    name: d.name,
    version: d.version,
    types: d.types,
    ...(d.dependencies ? { dependencies: d.dependencies } : {}),
    setup: (ctx) => d.records(ctx),
  }
}
