import { existsSync } from 'node:fs'
import { Command } from 'commander'
import { errors } from '../../core/errors.ts'
import { readKeyFile } from '../../core/keys.ts'
import { verifyExportFile, writeExport } from '../../core/ledger/export.ts'
import { formatHlc } from '../../core/ledger/hlc.ts'
import { decodeBody, toHex } from '../../core/ledger/record.ts'
import { configFrom, configOption } from '../common.ts'
import type { Io } from '../io.ts'
import { openLocalLedger } from '../local-ledger.ts'
import { nodeKeyFile } from '../site-init.ts'

export function ledgerCommand(io: Io): Command {
  const cmd = new Command('ledger').description('verify, export and show the signed ledger')
  cmd
    .command('verify')
    .description('re-check every hash link and signature; exit 1 naming the first bad record')
    .option(...configOption)
    .option('-f, --file <export>', "verify an export file instead of this node's ledger")
    .option('--json', 'print the result as JSON')
    .action(async (opts: { config?: string; file?: string; json?: boolean }) => {
      if (opts.file) {
        if (!existsSync(opts.file)) throw errors.CLI_USAGE(`export file ${opts.file} does not exist`)
        const v = verifyExportFile(opts.file)
        if (opts.json) io.out(`${JSON.stringify(v)}\n`)
        if (!v.ok) throw errors.LEDGER_INVALID(`export ${opts.file}`, describe(v.problem!))
        if (!opts.json)
          io.out(
            `ok: ${v.checked} records of site ${v.site} verified; export signed by enrolled key ${v.exporter}\n`,
          )
        return
      }
      const ledger = await openLocalLedger(io, configFrom(io, opts.config))
      try {
        const v = await ledger.query.verifyAll()
        if (opts.json) io.out(`${JSON.stringify({ ok: !v.problem, ...v })}\n`)
        if (v.problem) throw errors.LEDGER_INVALID('the ledger', describe(v.problem))
        if (!opts.json) io.out(`ok: ${v.checked} records verified (hash links and signatures)\n`)
      } finally {
        await ledger.close()
      }
    })
  cmd
    .command('export')
    .description('write a signed, self-contained export that anyone can verify offline')
    .requiredOption('-o, --out <file>', 'the export file to write')
    .option(...configOption)
    .option('--key <file>', 'sign with this key file (default: the node key)')
    .action(async (opts: { out: string; config?: string; key?: string }) => {
      const config = configFrom(io, opts.config)
      const signer = readKeyFile(opts.key ?? nodeKeyFile(config))
      const ledger = await openLocalLedger(io, config)
      try {
        const s = writeExport(ledger, opts.out, signer)
        io.out(`exported ${s.count} records of site ${s.site} to ${s.file}, signed by ${s.exporter}\n`)
      } finally {
        await ledger.close()
      }
    })
  cmd
    .command('show')
    .description('show the newest records, oldest first')
    .option(...configOption)
    .option('-n, --limit <n>', 'how many records', '20')
    .option('--json', 'one JSON object per line')
    .action(async (opts: { config?: string; limit: string; json?: boolean }) => {
      const limit = Number(opts.limit)
      if (!Number.isInteger(limit) || limit < 1)
        throw errors.CLI_USAGE(`--limit must be a whole number ≥ 1, not "${opts.limit}"`)
      const ledger = await openLocalLedger(io, configFrom(io, opts.config))
      try {
        for (const row of ledger.query.recent(limit)) {
          const id = toHex(row.id)
          const rejection = ledger.query.rejectionOf(id)
          const status = ledger.query.statusOf(id)
          const body = summarize(decodeBody(row.body))
          if (opts.json) {
            io.out(
              `${JSON.stringify({ id, author: toHex(row.author), seq: row.seq, hlc: [row.hlc.ms, row.hlc.c], type: row.type, status, rejection, body })}\n`,
            )
          } else {
            const shown = rejection ? `REJECTED ${rejection.code}: ${rejection.detail}` : status
            io.out(
              `${formatHlc(row.hlc)}  ${toHex(row.author).slice(0, 8)}#${row.seq}  ${row.type}  ${JSON.stringify(body)}  ${shown}\n`,
            )
          }
        }
      } finally {
        await ledger.close()
      }
    })
  return cmd
}

function describe(p: { author?: string; seq?: number; id?: string; problem: string }): string {
  return p.author
    ? `record ${p.id} (author ${p.author.slice(0, 16)}…, seq ${p.seq}): ${p.problem}`
    : p.problem
}

/** A body for display: byte strings as hex (shortened), everything else as is. */
function summarize(v: unknown): unknown {
  if (v instanceof Uint8Array)
    return v.length > 16 ? `${toHex(v.subarray(0, 8))}…(${v.length} bytes)` : toHex(v)
  if (Array.isArray(v)) return v.map(summarize)
  if (v && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, summarize(x)]))
  return v
}
