/**
 * The certifications dapp: who may use which tool (or tool class, `class:<name>`), signed off by
 * a trainer, with expiry; revocation beats a concurrent grant. README.md states the rules;
 * model.ts is the state other dapps read.
 *
 * Records: `certifications.grant` (grant.ts), `certifications.revoke` (revoke.ts).
 * Queries:  `certs` {member} → the member's certifications; `holders` {tool} → who holds it.
 */
import type { Dapp } from '../contract.ts'
import { MEMBER_ID, TOOL_ID } from './body.ts'
import { certErrors } from './errors.ts'
import { grant } from './grant.ts'
import { certsOf, holdersOf } from './queries.ts'
import { revoke } from './revoke.ts'

export { exportCredential, verifyCredential } from './credential.ts'
export { allCerts, certsOf, holdersOf } from './queries.ts'
export { knownRevocations } from './state.ts'

export const certifications: Dapp = {
  name: 'certifications',
  version: '1.0.0',
  dependencies: { membership: '1' },
  types: ['certifications.grant', 'certifications.revoke'],
  records(ctx) {
    ctx.recordType('certifications.grant', grant)
    ctx.recordType('certifications.revoke', revoke)
  },
  start(ctx) {
    ctx.query('certs', (params, state) => {
      const member = params.member
      if (!member || !MEMBER_ID.test(member)) throw certErrors.QUERY('certs', 'needs member=<member id>')
      return { member, certs: certsOf(state, member) }
    })
    ctx.query('holders', (params, state) => {
      const tool = params.tool
      if (!tool || !TOOL_ID.test(tool))
        throw certErrors.QUERY('holders', 'needs tool=<tool id or class:name>')
      return { tool, holders: holdersOf(state, tool) }
    })
  },
}
