/** Read helpers over certification state, for queries, the CLI and credentials. */
import type { StateView } from '../contract.ts'
import type { Certification } from './model.ts'

const CERT_PREFIX = 'certifications/cert/'

/** The certifications `member` holds (expired ones included: `expires` says until when). */
export function certsOf(state: StateView, member: string): Certification[] {
  return state.list<Certification>(`${CERT_PREFIX}${member}/`).map(([, c]) => c)
}

/** Everyone holding `tool` (exactly that tool id or class), in member order. */
export function holdersOf(state: StateView, tool: string): Certification[] {
  return state
    .list<Certification>(CERT_PREFIX)
    .filter(([, c]) => c.tool === tool)
    .map(([, c]) => c)
}

/** Every certification in force, in (member, tool) order. */
export function allCerts(state: StateView): Certification[] {
  return state.list<Certification>(CERT_PREFIX).map(([, c]) => c)
}
