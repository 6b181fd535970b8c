/**
 * Certification state, as other dapps read it. State keys (written only by the certifications
 * dapp):
 *   certifications/cert/<memberId>/<tool> → Certification
 * A tool is a tool id (`laser-1`) or a tool class (`class:laser`); holding the class certifies
 * for every tool of that class.
 */
import type { StateView } from '../contract.ts'

export interface Certification {
  member: string
  tool: string
  /** The member (trainer) who signed it off. */
  grantedBy: string
  /** HLC ms of the grant record. */
  grantedAt: number
  /** Last valid day, `YYYY-MM-DD`, or null. */
  expires: string | null
  /** May train and grant this certification to others. */
  trainer: boolean
}

export const certKey = (member: string, tool: string) => `certifications/cert/${member}/${tool}`

/** Certified for `tool` (directly or through `toolClass`) on `today` (`YYYY-MM-DD`). */
export function isCertified(
  state: StateView,
  member: string,
  tool: string,
  toolClass: string | null,
  today: string,
): Certification | undefined {
  for (const t of toolClass ? [tool, `class:${toolClass}`] : [tool]) {
    const c = state.get<Certification>(certKey(member, t))
    if (c && (c.expires === null || c.expires >= today)) return c
  }
  return undefined
}
