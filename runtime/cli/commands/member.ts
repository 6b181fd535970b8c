/**
 * `latchkey member`: add, change status, renew, list, import and export members. Writes are
 * admin-signed records (runtime/cli/ledger-client.ts: through the running node, or the ledger
 * file when none runs), checked first against this node's ledger with the dapps' own validators
 * so a mistake is refused before anything is signed. Reads open the ledger read-only.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Command } from 'commander'
import { listMembers } from '../../../dapps/membership/index.ts'
import {
  getMember,
  isActive,
  type Member,
  type MemberStatus,
  utcDay,
} from '../../../dapps/membership/model.ts'
import { expiresProblem, idProblem, memberProblem } from '../../../dapps/membership/rules.ts'
import { membersToCsv, parseMembersCsv, planImport } from '../../../provisioning/members-csv.ts'
import type { Config } from '../../config/load.ts'
import { memberErrors } from '../../core/errors/index.ts'
import { type KeyPair, readKeyFile } from '../../core/keys.ts'
import type { FoldRecord } from '../../core/ledger/dapp.ts'
import type { Ledger } from '../../core/ledger/ledger.ts'
import type { Rejection } from '../../core/ledger/reasons.ts'
import { decodeBody, encodeBody } from '../../core/ledger/record.ts'
import { configFrom, configOption } from '../common.ts'
import type { Io } from '../io.ts'
import { writeRecord } from '../ledger-client.ts'
import { openLocalLedger } from '../local-ledger.ts'
import { ledgerFile } from '../site-init.ts'

// ── shared with `latchkey badge` ─────────────────────────────────────────────────────────

export const adminKeyOption = [
  '--admin-key <file>',
  'admin key file that signs the record (default: <dataDir>/keys/admin.key)',
] as const

export function adminKey(config: Config, file: string | undefined): KeyPair {
  return readKeyFile(file ?? join(config.node.dataDir, 'keys', 'admin.key'))
}

/** This node's ledger, read-only, judged with the node's dapps (runtime/cli/local-ledger.ts). */
export function openDappLedger(io: Io, config: Config): Promise<Ledger> {
  return openLocalLedger(io, config)
}

/** Runs `fn` on this node's ledger (read-only), or returns null when this machine has none. */
export async function withLocalLedger<T>(
  io: Io,
  config: Config,
  fn: (ledger: Ledger) => T,
): Promise<T | null> {
  if (!existsSync(ledgerFile(config))) return null
  const ledger = await openDappLedger(io, config)
  try {
    return fn(ledger)
  } finally {
    await ledger.close()
  }
}

/** Judges a record as the fold would, against `ledger`'s state now, without writing it. */
export function checkRecord(ledger: Ledger, key: KeyPair, type: string, body: unknown): Rejection | null {
  const owner = ledger.admin.registry.owner(type)
  if (!owner) return null
  const record: FoldRecord = {
    id: new Uint8Array(32),
    idHex: '00'.repeat(32),
    author: key.publicKey,
    authorHex: key.id,
    seq: 0,
    hlc: { ms: Date.now(), c: 0 },
    type,
    // What validators see: the body as it decodes from its canonical bytes.
    body: decodeBody(encodeBody(body)),
    role: ledger.roleOf(key.id) ?? 'none',
  }
  return owner.handlers.validate(record, ledger.view) ?? null
}

export interface WriteErrors {
  CHECK: (type: string, code: string, detail: string) => Error
  REJECTED: (type: string, id: string, code: string, detail: string) => Error
}

/** Writes one record after the local check; a rejection by the fold is an error too. */
export async function writeChecked(
  io: Io,
  config: Config,
  key: KeyPair,
  type: string,
  body: unknown,
  errs: WriteErrors,
): Promise<{ id: string; via: string }> {
  const refused = await withLocalLedger(io, config, (ledger) => checkRecord(ledger, key, type, body))
  if (refused) throw errs.CHECK(type, refused.code, refused.detail)
  const written = await writeRecord(config, key, type, body)
  if (written.rejection)
    throw errs.REJECTED(type, written.id, written.rejection.code, written.rejection.detail)
  return { id: written.id, via: written.via }
}

const wrote = (w: { id: string; via: string }) => `record ${w.id.slice(0, 16)}…, via the ${w.via}`

// ── latchkey member ──────────────────────────────────────────────────────────────────────

const STATUS_WORDS: Record<string, MemberStatus> = {
  active: 'active',
  activate: 'active',
  suspended: 'suspended',
  suspend: 'suspended',
  expired: 'expired',
  expire: 'expired',
}

/**
 * Whether `day` (YYYY-MM-DD) has ended in every time zone: it is before yesterday in UTC (the
 * earliest date anywhere, at UTC−12, is never before that). The CLI refuses such a date where
 * only a future one makes sense; the validators do not, as they judge a record by when it was
 * signed.
 */
export function isPastEverywhere(day: string): boolean {
  return day < utcDay(Date.now() - 86_400_000)
}

function parseGroups(text: string | undefined): string[] {
  return (text ?? '')
    .split(/[;,]/)
    .map((g) => g.trim())
    .filter((g) => g !== '')
}

function describe(m: Member, today: string): string {
  const status = m.status === 'active' && !isActive(m, today) ? 'expired*' : m.status
  return [
    m.id.padEnd(16),
    status.padEnd(10),
    (m.expires ?? '-').padEnd(11),
    (m.staff ? 'staff' : '').padEnd(6),
    (m.groups.join(';') || '-').padEnd(20),
    m.name,
  ].join(' ')
}

export function memberCommand(io: Io): Command {
  const cmd = new Command('member').description('add, suspend, renew, list, import and export members')

  cmd
    .command('add')
    .description('add a member (admin-signed membership.put)')
    .argument('<id>', 'member id: 1–64 characters of a-z, 0-9, ".", "_", "-"')
    .requiredOption('-n, --name <name>', 'full name')
    .option('--contact <contact>', 'e-mail or phone')
    .option('--status <status>', 'active, suspended or expired', 'active')
    .option('--expires <date>', 'last day of membership, YYYY-MM-DD')
    .option('--groups <groups>', 'groups, separated by ";" or ","')
    .option('--staff', 'staff: may enrol badges at readers, override lockouts')
    .option('--replace', 'replace an existing member (the whole member)')
    .option(...configOption)
    .option(...adminKeyOption)
    .action(
      async (
        id: string,
        opts: {
          name: string
          contact?: string
          status: string
          expires?: string
          groups?: string
          staff?: boolean
          replace?: boolean
          config?: string
          adminKey?: string
        },
      ) => {
        const config = configFrom(io, opts.config)
        const member: Member = {
          id,
          name: opts.name.trim(),
          contact: opts.contact?.trim() || null,
          status: (STATUS_WORDS[opts.status.toLowerCase()] ?? opts.status) as MemberStatus,
          expires: opts.expires?.trim() || null,
          groups: parseGroups(opts.groups),
          staff: opts.staff ?? false,
        }
        const problem = memberProblem(member)
        if (problem) throw memberErrors.INVALID(problem)
        const key = adminKey(config, opts.adminKey)
        const old = await withLocalLedger(io, config, (l) => getMember(l.view, id))
        if (old && !opts.replace) throw memberErrors.EXISTS(id)
        const w = await writeChecked(io, config, key, 'membership.put', member, memberErrors)
        io.out(`member ${id} ${old ? 'replaced' : 'added'} (${wrote(w)})\n`)
        if (old?.status === 'suspended' && member.status !== 'suspended')
          io.out(
            `member ${id} stays suspended: only \`latchkey member set-status ${id} active\` lifts a suspension\n`,
          )
      },
    )

  cmd
    .command('set-status')
    .description('suspend, reactivate or expire a member (admin-signed membership.status)')
    .argument('<id>', 'member id')
    .argument('<status>', 'active | suspended | expired (or activate, suspend, expire)')
    .option('-r, --reason <text>', 'why, kept in the ledger', '')
    .option(...configOption)
    .option(...adminKeyOption)
    .action(
      async (id: string, word: string, opts: { reason: string; config?: string; adminKey?: string }) => {
        const status = STATUS_WORDS[word.toLowerCase()]
        if (!status)
          throw memberErrors.INVALID(
            `status "${word}" must be active, suspended or expired (or activate, suspend, expire)`,
          )
        const problem = idProblem(id)
        if (problem) throw memberErrors.INVALID(problem)
        const config = configFrom(io, opts.config)
        const key = adminKey(config, opts.adminKey)
        const exists = await withLocalLedger(io, config, (l) => !!getMember(l.view, id))
        if (exists === false) throw memberErrors.UNKNOWN(id)
        const w = await writeChecked(
          io,
          config,
          key,
          'membership.status',
          { id, status, reason: opts.reason },
          memberErrors,
        )
        io.out(`member ${id} is now ${status} (${wrote(w)})\n`)
      },
    )

  cmd
    .command('renew')
    .description('set a new last day of membership; ends an expiry, never a suspension (membership.renew)')
    .argument('<id>', 'member id')
    .requiredOption('--expires <date>', 'the new last day, YYYY-MM-DD, or "none" for no end')
    .option(...configOption)
    .option(...adminKeyOption)
    .action(async (id: string, opts: { expires: string; config?: string; adminKey?: string }) => {
      const expires = opts.expires.toLowerCase() === 'none' ? null : opts.expires.trim()
      const problem = idProblem(id) ?? expiresProblem(expires)
      if (problem) throw memberErrors.INVALID(problem)
      if (expires !== null && isPastEverywhere(expires))
        throw memberErrors.INVALID(
          `--expires ${expires} is in the past: a renewal sets a last day from today on (to end a membership now: \`latchkey member set-status ${id} expired\`)`,
        )
      const config = configFrom(io, opts.config)
      const key = adminKey(config, opts.adminKey)
      const exists = await withLocalLedger(io, config, (l) => !!getMember(l.view, id))
      if (exists === false) throw memberErrors.UNKNOWN(id)
      const w = await writeChecked(io, config, key, 'membership.renew', { id, expires }, memberErrors)
      io.out(`member ${id} renewed until ${expires ?? 'no end'} (${wrote(w)})\n`)
    })

  cmd
    .command('list')
    .description("list members from this node's ledger")
    .option('-g, --group <group>', 'only members of this group')
    .option('--json', 'print JSON')
    .option(...configOption)
    .action(async (opts: { group?: string; json?: boolean; config?: string }) => {
      const config = configFrom(io, opts.config)
      const ledger = await openDappLedger(io, config)
      try {
        const members = listMembers(ledger.view, opts.group)
        if (opts.json) {
          io.out(`${JSON.stringify({ members })}\n`)
          return
        }
        const today = utcDay(Date.now())
        for (const m of members) io.out(`${describe(m, today)}\n`)
        io.out(
          `${members.length} ${members.length === 1 ? 'member' : 'members'}${opts.group ? ` in group ${opts.group}` : ''}` +
            (members.some((m) => m.status === 'active' && !isActive(m, today))
              ? ' (* past the expiry date)'
              : '') +
            '\n',
        )
      } finally {
        await ledger.close()
      }
    })

  cmd
    .command('import')
    .description('import members from CSV (id,name,contact,status,expires,groups,staff); all rows or none')
    .argument('<csv>', 'the CSV file')
    .option('--dry-run', 'check the file and show what would be written, write nothing')
    .option('--json', 'print the result as JSON')
    .option(...configOption)
    .option(...adminKeyOption)
    .action(
      async (
        file: string,
        opts: { dryRun?: boolean; json?: boolean; config?: string; adminKey?: string },
      ) => {
        let text: string
        try {
          text = readFileSync(file, 'utf8')
        } catch (err) {
          throw memberErrors.CSV_READ(file, (err as NodeJS.ErrnoException).code ?? String(err))
        }
        const parsed = parseMembersCsv(text)
        if (!parsed.ok) {
          if (opts.json) io.out(`${JSON.stringify({ ok: false, problems: parsed.problems })}\n`)
          else for (const p of parsed.problems) io.out(`${file}:${p.line}: ${p.reason}\n`)
          throw memberErrors.CSV_BAD_ROWS(file, new Set(parsed.problems.map((p) => p.line)).size)
        }
        const config = configFrom(io, opts.config)
        const key = opts.dryRun ? null : adminKey(config, opts.adminKey)
        const plan = await withLocalLedger(io, config, (ledger) => {
          const records = planImport(parsed.members, ledger.view, file)
          // Every record is judged before the first is written: all or none.
          if (key) {
            for (const r of records) {
              const refused = checkRecord(ledger, key, r.type, r.body)
              if (refused) throw memberErrors.CHECK(`${r.type} for ${r.member}`, refused.code, refused.detail)
            }
          }
          return records
        })
        const records =
          plan ?? planImport(parsed.members, { get: () => undefined, has: () => false, list: () => [] }, file)
        const unchanged = parsed.members.length - new Set(records.map((r) => r.member)).size
        if (opts.dryRun) {
          if (opts.json) io.out(`${JSON.stringify({ ok: true, dryRun: true, records, unchanged })}\n`)
          else {
            for (const r of records) io.out(`would write ${r.type} for ${r.member}\n`)
            io.out(`${records.length} records would be written; ${unchanged} members unchanged\n`)
          }
          return
        }
        let written = 0
        for (const r of records) {
          const w = await writeRecord(config, key!, r.type, r.body)
          if (w.rejection) {
            io.out(`${written} of ${records.length} records were written before this one\n`)
            throw memberErrors.REJECTED(
              `${r.type} for ${r.member}`,
              w.id,
              w.rejection.code,
              w.rejection.detail,
            )
          }
          written++
        }
        if (opts.json) io.out(`${JSON.stringify({ ok: true, written, unchanged })}\n`)
        else
          io.out(
            `imported ${parsed.members.length} members from ${file}: ${written} records written, ${unchanged} unchanged\n`,
          )
      },
    )

  cmd
    .command('export')
    .description('export members as CSV (the format import reads)')
    .option('-o, --out <file>', 'write to this file instead of stdout')
    .option(...configOption)
    .action(async (opts: { out?: string; config?: string }) => {
      const config = configFrom(io, opts.config)
      const ledger = await openDappLedger(io, config)
      let csv: string
      let count: number
      try {
        const members = listMembers(ledger.view)
        csv = membersToCsv(members)
        count = members.length
      } finally {
        await ledger.close()
      }
      if (!opts.out) {
        io.out(csv)
        return
      }
      writeFileSync(opts.out, csv, { mode: 0o600 })
      io.out(`exported ${count} members to ${opts.out}\n`)
    })

  return cmd
}
