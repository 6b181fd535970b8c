/**
 * Credential (badge) state, as other dapps read it. State keys (written only by the credentials
 * dapp):
 *   credentials/badge/<credential id>  → Badge        (canonical ids: devices/readers/credential.ts)
 *   credentials/low24/<low-24-bit key> → string[]     (badge ids sharing those low 24 bits, for
 *                                                      Wiegand 26 reads; see lowBitsKey())
 */
import { type Credential, lowBitsKey } from '../../devices/readers/credential.ts'
import type { StateView } from '../contract.ts'

export interface Badge {
  id: string
  member: string
  status: 'active' | 'lost' | 'stolen' | 'revoked'
}

export const badgeKey = (id: string) => `credentials/badge/${id}`
export const low24Key = (key: string) => `credentials/low24/${key}`

export type BadgeLookup = { found: true; badge: Badge } | { found: false; reason: 'unknown' | 'ambiguous' }

/**
 * The badge a read credential names. A full-width read matches its id exactly; a 24-bit read
 * (Wiegand 26) matches through the low-24 index and is refused when more than one badge fits.
 */
export function findBadge(state: StateView, credential: Pick<Credential, 'id' | 'bits'>): BadgeLookup {
  const exact = state.get<Badge>(badgeKey(credential.id))
  if (exact) return { found: true, badge: exact }
  const low = lowBitsKey(credential.id)
  if (credential.bits === 24 && low) {
    const ids = state.get<string[]>(low24Key(low)) ?? []
    if (ids.length > 1) return { found: false, reason: 'ambiguous' }
    const badge = ids[0] ? state.get<Badge>(badgeKey(ids[0])) : undefined
    if (badge) return { found: true, badge }
  }
  return { found: false, reason: 'unknown' }
}
