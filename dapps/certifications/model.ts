/**
 * Certification state, as other dapps read it. State keys (written only by the certifications
 * dapp):
 *   certifications/cert/<memberId>/<tool> → Certification   (present while in force)
 * The dapp's own bookkeeping (grants not cancelled, revocation tombstones) lives under
 * `certifications/grant/…` and `certifications/revoke/…` (state.ts); read only `cert/…`.
 * A tool is a tool id (`laser-1`) or a tool class (`class:laser`); holding the class certifies
 * for every tool of that class.
 */
import type { StateView } from '../contract.ts'

export interface Certification {
  member: string
  tool: string
  /** The member (trainer) who signed it off, or `key:<hex>` for an admin granting on its own authority. */
  grantedBy: string
  /** HLC ms of the grant record. */
  grantedAt: number
  /** Last valid day, `YYYY-MM-DD`, or null. */
  expires: string | null
  /** May train and grant this certification to others. */
  trainer: boolean
  /** Id (hex) of the grant record in force. */
  grant?: string
  /** Key (hex) that signed that grant: an admin key, or the board where the trainer signed off. */
  signer?: string
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
