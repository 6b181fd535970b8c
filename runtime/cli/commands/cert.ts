/**
 * `latchkey cert`: grant, revoke and list certifications; export a member's certifications as a
 * signed credential and verify one offline. Writes are signed with an admin key on this machine
 * (through the running node, or straight into the ledger file when no node runs); reads open the
 * ledger read-only.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Command } from 'commander'
import { isDay, MEMBER_ID, TOOL_ID } from '../../../dapps/certifications/body.ts'
import { exportCredential, verifyCredential } from '../../../dapps/certifications/credential.ts'
import { allCerts, knownRevocations } from '../../../dapps/certifications/index.ts'
import type { Certification } from '../../../dapps/certifications/model.ts'
import type { Config } from '../../config/load.ts'
import { certErrors, errors } from '../../core/errors/index.ts'
import { readKeyFile } from '../../core/keys.ts'
import { configFrom, configOption } from '../common.ts'
import type { Io } from '../io.ts'
import { writeRecord } from '../ledger-client.ts'
import { withLocalLedger } from '../local-ledger.ts'
import { nodeKeyFile } from '../site-init.ts'

const adminKeyFile = (config: Config, file: string | undefined) =>
  file ?? join(config.node.dataDir, 'keys', 'admin.key')

function checkIds(member: string, tool: string): void {
  if (!MEMBER_ID.test(member))
    throw errors.CLI_USAGE(`member "${member}" is not a member id ([a-z0-9][a-z0-9._-]{0,63})`)
  if (!TOOL_ID.test(tool)) throw errors.CLI_USAGE(`tool "${tool}" is not a tool id or class:<name>`)
}

function checkMember(member: string | undefined, flag: string): void {
  if (member !== undefined && !MEMBER_ID.test(member))
    throw errors.CLI_USAGE(`${flag} "${member}" is not a member id ([a-z0-9][a-z0-9._-]{0,63})`)
}

/** Writes `body` signed by the admin key of `opts` and says `done`; a rejection is an error. */
async function write(io: Io, config: Config, opts: WriteOpts, type: string, body: unknown, done: string) {
  const key = readKeyFile(adminKeyFile(config, opts.adminKey))
  const w = await writeRecord(config, key, type, body)
  if (w.rejection) throw certErrors.REJECTED(type, w.rejection.code, w.rejection.detail)
  io.out(`${done} (record ${w.id}, via ${w.via})\n`)
}

interface WriteOpts {
  config?: string
  adminKey?: string
  trainer?: string
}

export function certCommand(io: Io): Command {
  const cmd = new Command('cert').description('grant, revoke and export certifications')
  const adminKeyOption = [
    '--admin-key <file>',
    'admin key that signs (default: <dataDir>/keys/admin.key)',
  ] as const

  cmd
    .command('grant')
    .description('certify a member for a tool or tool class (class:<name>)')
    .argument('<member>', 'member id')
    .argument('<tool>', 'tool id, or class:<name> for every tool of a class')
    .option('--trainer <member>', 'the trainer who signed the member off')
    .option('--expires <YYYY-MM-DD>', 'last valid day')
    .option('--can-train', 'the member may train and sign off others (admin keys only)')
    .option(...configOption)
    .option(...adminKeyOption)
    .action(
      async (member: string, tool: string, opts: WriteOpts & { expires?: string; canTrain?: boolean }) => {
        checkIds(member, tool)
        checkMember(opts.trainer, '--trainer')
        if (opts.expires !== undefined && !isDay(opts.expires))
          throw errors.CLI_USAGE(`--expires must be a date YYYY-MM-DD, not "${opts.expires}"`)
        // A day before yesterday in UTC has ended in every time zone: such a grant grants nothing.
        if (
          opts.expires !== undefined &&
          opts.expires < new Date(Date.now() - 86_400_000).toISOString().slice(0, 10)
        )
          throw errors.CLI_USAGE(
            `--expires ${opts.expires} is in the past: the certification would grant nothing`,
          )
        const config = configFrom(io, opts.config)
        // Name every revocation this node knows of: the grant overrides exactly those (README).
        const after = await withLocalLedger(io, config, (l) => knownRevocations(l.view, member, tool))
        const body = {
          member,
          tool,
          trainer: opts.trainer ?? null,
          canTrain: opts.canTrain === true,
          expires: opts.expires ?? null,
          after,
        }
        await write(io, config, opts, 'certifications.grant', body, `granted ${tool} to ${member}`)
      },
    )

  cmd
    .command('revoke')
    .description("withdraw a member's certification (it also cancels grants made concurrently elsewhere)")
    .argument('<member>', 'member id')
    .argument('<tool>', 'tool id or class:<name>')
    .requiredOption('--reason <text>', 'why, 1–256 characters')
    .option('--trainer <member>', 'the trainer revoking, when not on behalf of the admins')
    .option(...configOption)
    .option(...adminKeyOption)
    .action(async (member: string, tool: string, opts: WriteOpts & { reason: string }) => {
      checkIds(member, tool)
      checkMember(opts.trainer, '--trainer')
      if (opts.reason.length < 1 || opts.reason.length > 256)
        throw errors.CLI_USAGE('--reason must be 1–256 characters')
      const config = configFrom(io, opts.config)
      const body = { member, tool, reason: opts.reason, trainer: opts.trainer ?? null }
      await write(io, config, opts, 'certifications.revoke', body, `revoked ${tool} from ${member}`)
    })

  cmd
    .command('list')
    .description('list certifications in force (expired ones are marked)')
    .option('--member <member>', 'only this member')
    .option('--tool <tool>', 'only this tool id or class:<name>')
    .option('--json', 'one JSON object per line')
    .option(...configOption)
    .action(async (opts: { member?: string; tool?: string; json?: boolean; config?: string }) => {
      checkMember(opts.member, '--member')
      if (opts.tool !== undefined && !TOOL_ID.test(opts.tool))
        throw errors.CLI_USAGE(`--tool "${opts.tool}" is not a tool id or class:<name>`)
      const certs = await withLocalLedger(io, configFrom(io, opts.config), (l) =>
        allCerts(l.view).filter(
          (c) => (!opts.member || c.member === opts.member) && (!opts.tool || c.tool === opts.tool),
        ),
      )
      const today = new Date().toISOString().slice(0, 10)
      for (const c of certs) {
        const expired = c.expires !== null && c.expires < today
        if (opts.json) io.out(`${JSON.stringify({ ...c, expired })}\n`)
        else io.out(`${line(c)}${expired ? '  EXPIRED' : ''}\n`)
      }
      if (!opts.json && certs.length === 0) io.out('no certifications\n')
    })

  cmd
    .command('export')
    .description("write a member's certifications as a signed credential anyone can verify offline")
    .argument('<member>', 'member id')
    .requiredOption('-o, --out <file>', 'the credential file to write')
    .option('--key <file>', 'sign with this key file (default: the node key)')
    .option(...configOption)
    .action(async (member: string, opts: { out: string; key?: string; config?: string }) => {
      checkMember(member, 'member')
      const config = configFrom(io, opts.config)
      const signer = readKeyFile(opts.key ?? nodeKeyFile(config))
      const doc = await withLocalLedger(io, config, (l) => exportCredential(l, member, signer))
      writeFileSync(opts.out, doc, { mode: 0o644 })
      io.out(`exported the certifications of ${member} to ${opts.out}, signed by ${signer.id}\n`)
    })

  cmd
    .command('verify')
    .description('verify a credential offline: signature, site and the enrolment of its signing key')
    .argument('<file>', 'credential file')
    .option('--site <id>', 'require this site id (hex); without it, any genuine site is accepted')
    .option(
      '--at <date>',
      'verify as of this date (YYYY-MM-DD) or date-time (YYYY-MM-DDThh:mm[:ss]Z or ±hh:mm); default: now',
    )
    .option('--json', 'print the result as JSON')
    .action((file: string, opts: { site?: string; at?: string; json?: boolean }) => {
      if (!existsSync(file)) throw errors.CLI_USAGE(`credential file ${file} does not exist`)
      if (opts.site !== undefined && !/^[0-9a-f]{64}$/.test(opts.site))
        throw errors.CLI_USAGE('--site must be a site id: 64 lower-case hex digits')
      const now = opts.at === undefined ? undefined : parseAt(opts.at)
      const v = verifyCredential(new Uint8Array(readFileSync(file)), {
        ...(opts.site ? { site: opts.site } : {}),
        ...(now === undefined ? {} : { now }),
      })
      if (opts.json) io.out(`${JSON.stringify(v)}\n`)
      if (!v.ok) throw certErrors.CREDENTIAL_INVALID(file, v.code, v.detail)
      if (opts.json) return
      const c = v.credential
      const expired = new Set(v.expired)
      io.out(
        [
          `ok: credential of ${c.member}${c.name ? ` (${c.name})` : ''}, site ${c.site}${opts.site ? '' : ' (not pinned: pass --site to require it)'}`,
          `issued ${new Date(c.issuedAt).toISOString()}, signed by ${v.signerRole} key ${c.signer}`,
          `as of ${v.asOf}: ${c.certs.length - expired.size} of ${c.certs.length} certifications in force`,
          ...c.certs.map((x) => `  ${line(x)}${expired.has(x.tool) ? '  EXPIRED' : ''}`),
          '',
        ].join('\n'),
      )
    })
  return cmd
}

const AT_DAY = /^(\d{4})-(\d{2})-(\d{2})$/
const AT_TIME = /^(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/

/**
 * `--at`: a calendar day (its start, UTC) or a date-time with its zone, as ms. A date-time
 * without a zone is refused rather than read in whatever zone this machine is set to.
 */
function parseAt(text: string): number {
  const day = AT_DAY.exec(text) ?? AT_TIME.exec(text)
  const ms = day ? Date.parse(AT_DAY.test(text) ? `${text}T00:00:00Z` : text) : Number.NaN
  // Date.parse rolls 2026-02-30 over to March: the day must survive the round trip.
  const real =
    day !== null &&
    Number.isFinite(ms) &&
    new Date(Date.UTC(Number(day[1]), Number(day[2]) - 1, Number(day[3]))).toISOString().slice(0, 10) ===
      text.slice(0, 10)
  if (!real)
    throw errors.CLI_USAGE(
      `--at must be a date YYYY-MM-DD or a date-time YYYY-MM-DDThh:mm[:ss]Z (or with ±hh:mm), not "${text}"`,
    )
  return ms
}

function line(c: Certification): string {
  return [
    c.member.padEnd(16),
    c.tool.padEnd(20),
    c.trainer ? 'trainer' : '       ',
    `by ${c.grantedBy.startsWith('key:') ? `admin ${c.grantedBy.slice(4, 20)}…` : c.grantedBy}`,
    c.expires ? `until ${c.expires}` : 'no expiry',
  ].join('  ')
}
