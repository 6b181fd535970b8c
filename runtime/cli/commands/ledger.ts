import { existsSync } from 'node:fs'
import { Command } from 'commander'
import { ledgerDapp } from '../../../dapps/contract.ts'
import { builtinDapps } from '../../../dapps/index.ts'
import { errors } from '../../core/errors.ts'
import { readKeyFile } from '../../core/keys.ts'
import { verifyExportFile, writeExport } from '../../core/ledger/export.ts'
import { formatHlc } from '../../core/ledger/hlc.ts'
import { decodeBody, fromHex, toHex } from '../../core/ledger/record.ts'
import { replayLedger } from '../../core/ledger/replay.ts'
import { ledgerDappsFor } from '../../dapp-list.ts'
import { configFrom, configOption } from '../common.ts'
import type { Io } from '../io.ts'
import { cliLogger, openLocalLedger } from '../local-ledger.ts'
import { nodeKeyFile } from '../site-init.ts'

export function ledgerCommand(io: Io): Command {
  const cmd = new Command('ledger').description('verify, export and show the signed ledger')
  cmd
    .command('verify')
    .description(
      'check every record by the rules a node ingests and folds by, and every signature; exit 1 naming the first record refused',
    )
    .option(...configOption)
    .option('-f, --file <export>', "verify an export file instead of this node's ledger")
    .option('--site <id>', 'the site (64 hex digits) the export or ledger must belong to')
    .option('--json', 'print the result as JSON')
    .action(async (opts: { config?: string; file?: string; site?: string; json?: boolean }) => {
      const pinned = opts.site === undefined ? null : siteId(opts.site)
      if (opts.file) {
        if (!existsSync(opts.file)) throw errors.CLI_USAGE(`export file ${opts.file} does not exist`)
        // Offline: the rules of the built-in dapps, no config or ledger of this node needed.
        const v = await verifyExportFile(opts.file, {
          dapps: builtinDapps.map(ledgerDapp),
          log: cliLogger(io),
          site: pinned,
        })
        if (opts.json) io.out(`${JSON.stringify(v)}\n`)
        const what = `export ${opts.file}`
        if (v.problem?.stage === 'site') throw errors.LEDGER_WRONG_SITE(what, v.site!, toHex(pinned!))
        if (v.problem) throw errors.LEDGER_INVALID(what, describe(v.problem))
        if (!opts.json)
          io.out(
            `ok: ${v.checked} records of site ${v.site} verified by the ledger rules (state ${v.stateHash}); export signed by ${v.exporterRole} key ${v.exporter}\n`,
          )
        return
      }
      const config = configFrom(io, opts.config)
      const ledger = await openLocalLedger(io, config)
      try {
        const site = toHex(ledger.site!)
        if (pinned && site !== toHex(pinned))
          throw errors.LEDGER_WRONG_SITE('the ledger', site, toHex(pinned))
        const v = await ledger.query.verifyAll()
        if (v.problem) {
          if (opts.json) io.out(`${JSON.stringify({ ok: false, ...v })}\n`)
          throw errors.LEDGER_INVALID('the ledger', describe(v.problem))
        }
        const replay = await replayLedger(ledger, { dapps: ledgerDappsFor(config), log: cliLogger(io) })
        if (opts.json) io.out(`${JSON.stringify({ ok: !replay.problem, ...replay })}\n`)
        if (replay.problem) throw errors.LEDGER_INVALID('the ledger', describe(replay.problem))
        if (!opts.json)
          io.out(
            `ok: ${v.checked} records verified (hash links, signatures, and the ledger rules: state ${replay.stateHash})\n`,
          )
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

function describe(p: {
  author?: string
  seq?: number
  id?: string
  reason?: string
  problem: string
}): string {
  const why = p.reason ? `${p.reason}: ${p.problem}` : p.problem
  return p.author ? `record ${p.id} (author ${p.author.slice(0, 16)}…, seq ${p.seq}): ${why}` : why
}

/** A site id given on the command line: 64 hex digits. */
function siteId(text: string): Uint8Array {
  if (!/^[0-9a-fA-F]{64}$/.test(text))
    throw errors.CLI_USAGE(`--site must be a site id of 64 hex digits, not "${text}"`)
  return fromHex(text.toLowerCase())
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
