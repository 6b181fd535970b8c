/**
 * `latchkey badge`: bind badges to members, revoke lost or stolen ones, arm enrolment at a
 * reader, list. Writes are admin-signed records, checked first against this node's ledger
 * (see member.ts); reads open the ledger read-only.
 */
import { Command } from 'commander'
import { type BadgeEntry, badgesOf, type Expectation } from '../../../dapps/credentials/model.ts'
import { parseBadgeArg, REVOKED_STATUSES, type RevokedStatus } from '../../../dapps/credentials/rules.ts'
import { getMember } from '../../../dapps/membership/model.ts'
import { idProblem } from '../../../dapps/membership/rules.ts'
import { badgeErrors, memberErrors } from '../../core/errors/index.ts'
import { configFrom, configOption } from '../common.ts'
import type { Io } from '../io.ts'
import { adminKey, adminKeyOption, openDappLedger, writeChecked } from './member.ts'

function badgeArg(text: string): string {
  const id = parseBadgeArg(text)
  if (!id)
    throw badgeErrors.INVALID(
      `badge "${text}" is neither a credential id (em:<decimal>, uid:<hex>) nor the 10-digit number printed on a fob`,
    )
  return id
}

function memberArg(text: string): string {
  const problem = idProblem(text, 'member')
  if (problem) throw memberErrors.INVALID(problem)
  return text
}

const wrote = (w: { id: string; via: string }) => `record ${w.id.slice(0, 16)}…, via the ${w.via}`

export function badgeCommand(io: Io): Command {
  const cmd = new Command('badge').description('bind, revoke and list badges; arm enrolment at a reader')

  cmd
    .command('bind')
    .description('bind a badge to a member (admin-signed credentials.bind)')
    .argument('<badge>', 'credential id (em:4335412, uid:04a1b2c3) or the 10-digit fob number')
    .argument('<member>', 'member id')
    .option(...configOption)
    .option(...adminKeyOption)
    .action(async (text: string, memberText: string, opts: { config?: string; adminKey?: string }) => {
      const badge = badgeArg(text)
      const member = memberArg(memberText)
      const config = configFrom(io, opts.config)
      const key = adminKey(config, opts.adminKey)
      const w = await writeChecked(io, config, key, 'credentials.bind', { badge, member }, badgeErrors)
      io.out(`badge ${badge} bound to ${member} (${wrote(w)})\n`)
    })

  cmd
    .command('revoke')
    .description('revoke a lost, stolen or returned badge (admin-signed credentials.revoke)')
    .argument('<badge>', 'credential id or the 10-digit fob number')
    .requiredOption('-s, --status <status>', REVOKED_STATUSES.join(' | '))
    .option('-r, --reason <text>', 'why, kept in the ledger', '')
    .option(...configOption)
    .option(...adminKeyOption)
    .action(
      async (text: string, opts: { status: string; reason: string; config?: string; adminKey?: string }) => {
        const badge = badgeArg(text)
        const status = opts.status.toLowerCase() as RevokedStatus
        if (!REVOKED_STATUSES.includes(status))
          throw badgeErrors.INVALID(`--status "${opts.status}" must be ${REVOKED_STATUSES.join(', ')}`)
        const config = configFrom(io, opts.config)
        const key = adminKey(config, opts.adminKey)
        const w = await writeChecked(
          io,
          config,
          key,
          'credentials.revoke',
          { badge, status, reason: opts.reason },
          badgeErrors,
        )
        io.out(`badge ${badge} is now ${status} (${wrote(w)})\n`)
      },
    )

  cmd
    .command('expect')
    .description(
      "arm enrolment: the next new badge a staff member presents (staff badge, then the new one within 30 s) becomes this member's",
    )
    .argument('<member>', 'member id')
    .option('--reader <name>', 'only at this reader (default: any reader)')
    .option('--cancel', 'disarm instead (credentials.unexpect)')
    .option(...configOption)
    .option(...adminKeyOption)
    .action(
      async (
        memberText: string,
        opts: { reader?: string; cancel?: boolean; config?: string; adminKey?: string },
      ) => {
        const member = memberArg(memberText)
        const config = configFrom(io, opts.config)
        const key = adminKey(config, opts.adminKey)
        if (opts.cancel) {
          const w = await writeChecked(io, config, key, 'credentials.unexpect', { member }, badgeErrors)
          io.out(`enrolment for ${member} disarmed (${wrote(w)})\n`)
          return
        }
        const body = { member, reader: opts.reader ?? null }
        const w = await writeChecked(io, config, key, 'credentials.expect', body, badgeErrors)
        io.out(
          `enrolment armed for ${member} at ${opts.reader ? `reader ${opts.reader}` : 'any reader'} (${wrote(w)})\n`,
        )
      },
    )

  cmd
    .command('list')
    .description("list badges from this node's ledger")
    .option('-m, --member <member>', 'only this member’s badges')
    .option('--json', 'print JSON')
    .option(...configOption)
    .action(async (opts: { member?: string; json?: boolean; config?: string }) => {
      const config = configFrom(io, opts.config)
      const member = opts.member === undefined ? undefined : memberArg(opts.member)
      const ledger = await openDappLedger(io, config)
      try {
        if (member && !getMember(ledger.view, member)) throw memberErrors.UNKNOWN(member)
        const badges = member
          ? badgesOf(ledger.view, member)
          : ledger.view.list<BadgeEntry>('credentials/badge/').map(([, b]) => b)
        const expected = ledger.view.list<Expectation>('credentials/expect/').map(([, x]) => x)
        if (opts.json) {
          io.out(`${JSON.stringify({ badges, expected })}\n`)
          return
        }
        for (const b of badges)
          io.out(
            `${b.id.padEnd(26)} ${b.status.padEnd(8)} ${b.member.padEnd(16)}${b.enrolledBy ? ` enrolled by ${b.enrolledBy}` : ''}${b.reason ? ` (${b.reason})` : ''}\n`,
          )
        io.out(`${badges.length} ${badges.length === 1 ? 'badge' : 'badges'}\n`)
        for (const x of expected)
          io.out(`awaiting a badge: ${x.member} at ${x.reader ? `reader ${x.reader}` : 'any reader'}\n`)
      } finally {
        await ledger.close()
      }
    })

  return cmd
}
