/**
 * The certifications dapp: who may use which tool (or tool class, `class:<name>`), signed off by
 * a trainer in person at the tool's reader, with expiry; revocation beats a concurrent grant.
 * README.md states the rules; model.ts is the state other dapps read.
 *
 * Records: `certifications.grant` (grant.ts, sign-off: signoff.ts), `certifications.revoke` (revoke.ts).
 * Queries:  `certs` {member} → the member's certifications; `holders` {tool} → who holds it.
 * Badges:   at the readers a node names (`createCertifications({ signoffReaders })`), a trainer's
 *           sign-off becomes a device-signed grant (reader-signoff.ts).
 */
import { certErrors } from '../../runtime/core/errors/index.ts'
import type { Dapp } from '../contract.ts'
import { MEMBER_ID, TOOL_ID } from './body.ts'
import { grant } from './grant.ts'
import { type CertificationsOptions, checkCertificationsOptions } from './options.ts'
import { certsOf, holdersOf } from './queries.ts'
import { ReaderSignoff } from './reader-signoff.ts'
import { onSignoffBadge } from './reader-signoff-badge.ts'
import { revoke } from './revoke.ts'

export { exportCredential, verifyCredential } from './credential.ts'
export type { CertificationsOptions } from './options.ts'
export { allCerts, certsOf, holdersOf } from './queries.ts'
export { TAP_MS } from './reader-signoff.ts'
export { SIGNED_OFF_PATTERN } from './reader-signoff-badge.ts'
export { SIGNOFF_CLOCK_SLACK_MS, SIGNOFF_MAX_AGE_MS, SIGNOFF_WINDOW_MS, type Signoff } from './signoff.ts'
export { knownRevocations } from './state.ts'

/** The certifications dapp for a node whose tool readers are `signoffReaders`. */
export function createCertifications(options: CertificationsOptions = {}): Dapp {
  const opts = checkCertificationsOptions(options)
  return {
    name: 'certifications',
    version: '1.0.0',
    dependencies: { membership: '1', credentials: '1' },
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
      if (opts.signoffReaders.length > 0) {
        // One machine per start: run-time state lives on the instance, never in the module.
        const signoff = new ReaderSignoff(opts.signoffReaders)
        ctx.on('badge', (e) => onSignoffBadge(ctx, opts, signoff, e))
      }
    },
  }
}

/** The certifications dapp with no readers: judges records, serves queries. */
export const certifications: Dapp = createCertifications()
