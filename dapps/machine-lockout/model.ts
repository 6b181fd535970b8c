/**
 * Machine-lockout state, as this dapp and others read it. State keys (written only by
 * machine-lockout):
 *   machine-lockout/open/<start record id>   → OpenSession  (a session started and not yet ended)
 *   machine-lockout/usage/<member>/<tool>    → Usage        (minutes and sessions, all time)
 *   machine-lockout/estop/<tool>             → Latch        (present while the e-stop is latched)
 */
import type { StateView } from '../contract.ts'

export interface OpenSession {
  tool: string
  member: string
  /** Board wall time (epoch ms) the tool was enabled. */
  start: number
  /** Enabled by a staff override (no certification needed). */
  staff: boolean
  /** Key (hex) of the board that runs the session. */
  author: string
}

export interface Usage {
  minutes: number
  sessions: number
}

export interface Latch {
  tool: string
  at: number
  by: string
}

export type EndedBy = 'badge' | 'idle' | 'max' | 'estop' | 'override' | 'restart'
export const ENDED_BY: readonly EndedBy[] = ['badge', 'idle', 'max', 'estop', 'override', 'restart']

export const openKey = (startId: string) => `machine-lockout/open/${startId}`
export const usageKey = (member: string, tool: string) => `machine-lockout/usage/${member}/${tool}`
export const latchKey = (tool: string) => `machine-lockout/estop/${tool}`

/** Usage minutes of a session: every started minute counts (1 s = 1 min, 0 ms = 0). */
export function sessionMinutes(start: number, end: number): number {
  return Math.ceil((end - start) / 60_000)
}

export function isLatched(state: StateView, tool: string): boolean {
  return state.has(latchKey(tool))
}

/** A member's usage per tool. */
export function usageOf(state: StateView, member: string): Array<{ tool: string } & Usage> {
  const prefix = `machine-lockout/usage/${member}/`
  return state.list<Usage>(prefix).map(([k, u]) => ({ tool: k.slice(prefix.length), ...u }))
}
