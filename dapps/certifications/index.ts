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
import { type BadgeEvent, type Dapp, type DappRuntimeContext, logFailure } from '../contract.ts'
import { MEMBER_ID, TOOL_ID } from './body.ts'
import { grant } from './grant.ts'
import {
  type CertificationsOptions,
  type CheckedCertificationsOptions,
  checkCertificationsOptions,
} from './options.ts'
import { certsOf, holdersOf } from './queries.ts'
import { ReaderSignoff } from './reader-signoff.ts'
import { revoke } from './revoke.ts'

export { exportCredential, verifyCredential } from './credential.ts'
export type { CertificationsOptions } from './options.ts'
export { allCerts, certsOf, holdersOf } from './queries.ts'
export { TAP_MS } from './reader-signoff.ts'
export { SIGNOFF_CLOCK_SLACK_MS, SIGNOFF_MAX_AGE_MS, SIGNOFF_WINDOW_MS, type Signoff } from './signoff.ts'
export { knownRevocations } from './state.ts'

/** [on ms, off ms, …]: three short beeps, after the machine's refusal, when a sign-off is recorded. */
export const SIGNED_OFF_PATTERN = [60, 60, 60, 60, 60] as const

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
        ctx.on('badge', (e) => onBadge(ctx, opts, signoff, e))
      }
    },
  }
}

async function onBadge(
  ctx: DappRuntimeContext,
  opts: CheckedCertificationsOptions,
  signoff: ReaderSignoff,
  e: BadgeEvent,
): Promise<void> {
  // The read on the board's wall clock, as the record carries it; the event's time is on ctx.clock.
  const at = Math.round(opts.now() - Math.max(0, ctx.clock.now() - e.at))
  const step = signoff.onBadge(e, at, ctx.state)
  const fields = { reader: e.reader, credential: e.credential.id, step: step.kind }
  if (step.kind === 'ignored') return ctx.log.debug(fields, `sign-off: ${step.reason}`)
  if (step.kind === 'tap')
    return ctx.log.debug({ ...fields, trainer: step.trainer }, 'sign-off: a trainer badged')
  if (step.kind === 'armed')
    return ctx.log.info(
      { ...fields, trainer: step.trainer, tool: step.tool },
      `sign-off armed at reader ${e.reader} by ${step.trainer} for ${step.tool}`,
    )
  if (ctx.node.role === null)
    return ctx.log.warn(fields, 'sign-off: this node is not enrolled and cannot sign')
  const { member, tool, trainer } = step.body
  ctx.log.info({ ...fields, member, tool, trainer }, `${trainer} signed ${member} off for ${tool}`)
  try {
    const { record, rejection } = await ctx.append('certifications.grant', step.body)
    if (rejection)
      return ctx.log.warn({ ...fields, member, rejection }, `sign-off not applied: ${rejection.code}`)
    ctx.log.info({ ...fields, member, record: Buffer.from(record.id).toString('hex') }, 'sign-off recorded')
  } catch (err) {
    return ctx.log.error({ ...fields, err, member }, 'sign-off could not be appended')
  }
  const buzzer = signoff.reader(e.reader)?.buzzer
  if (buzzer)
    void logFailure(ctx, ctx.outputs.buzzer(buzzer).play(SIGNED_OFF_PATTERN), 'sign-off buzzer', fields)
}

/** The certifications dapp with no readers: judges records, serves queries. */
export const certifications: Dapp = createCertifications()
