/**
 * A badge at a tool's reader, as the certifications dapp hears it: the sign-off machine
 * (reader-signoff.ts) decides, and a grant is appended signed by this node's key. One info line
 * per decision that changes something (armed, or signed off and recorded); taps and ignored reads
 * at debug (the tool's own decision is machine-lockout's line).
 */
import { type BadgeEvent, type DappRuntimeContext, logFailure } from '../contract.ts'
import type { CheckedCertificationsOptions } from './options.ts'
import type { ReaderSignoff } from './reader-signoff.ts'

/** [on ms, off ms, …]: three short beeps, after the machine's refusal, when a sign-off is recorded. */
export const SIGNED_OFF_PATTERN = [60, 60, 60, 60, 60] as const

export async function onSignoffBadge(
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
      { ...fields, trainer: step.trainer, tool: step.tool, latencyMs: Math.max(0, ctx.clock.now() - e.at) },
      `sign-off armed at reader ${e.reader} by ${step.trainer} for ${step.tool}`,
    )
  if (ctx.node.role === null)
    return ctx.log.warn(fields, 'sign-off: this node is not enrolled and cannot sign')
  const { member, tool, trainer } = step.body
  const signed = { ...fields, member, tool, trainer }
  try {
    const { record, rejection } = await ctx.append('certifications.grant', step.body)
    if (rejection) return ctx.log.warn({ ...signed, rejection }, `sign-off not applied: ${rejection.code}`)
    ctx.log.info(
      { ...signed, record: Buffer.from(record.id).toString('hex') },
      `${trainer} signed ${member} off for ${tool}`,
    )
  } catch (err) {
    return ctx.log.error({ ...signed, err }, 'sign-off could not be appended')
  }
  const buzzer = signoff.reader(e.reader)?.buzzer
  if (buzzer)
    void logFailure(ctx, ctx.outputs.buzzer(buzzer).play(SIGNED_OFF_PATTERN), 'sign-off buzzer', fields)
}
