import { Command } from 'commander'
import { errors } from '../../core/errors/index.ts'
import { toHex } from '../../core/ledger/record.ts'
import { configFrom, configOption } from '../common.ts'
import type { Io } from '../io.ts'
import { cliLogger, openLocalLedger } from '../local-ledger.ts'
import { initSite } from '../site-init.ts'

export function siteCommand(io: Io): Command {
  const site = new Command('site').description('create and inspect the site (genesis, admin keys)')
  site
    .command('init')
    .description(
      "create a new site in this node's ledger: genesis with the first admin key, this node enrolled " +
        '(through the node when one runs on this data dir, with its setup token)',
    )
    .requiredOption('-n, --name <name>', 'the site name, e.g. "Hackspace North"')
    .option(...configOption)
    .option('--admin-key <file>', 'use an existing admin key file instead of creating one')
    .action(async (opts: { name: string; config?: string; adminKey?: string }) => {
      const config = configFrom(io, opts.config)
      if (opts.name.trim().length === 0 || opts.name.length > 128)
        throw errors.CLI_USAGE('--name must be 1–128 characters')
      const log = cliLogger(io)
      const r = await initSite({ config, log, name: opts.name, adminKeyFile: opts.adminKey })
      io.out(
        [
          `site "${opts.name}" created: ${r.site}${r.via === 'node' ? ' (through the running node)' : ''}`,
          `  admin key ${r.admin} in ${r.adminKeyFile}${r.adminKeyCreated ? ' (new, mode 0600)' : ''}`,
          `  this node ${r.node} is enrolled as a device`,
          r.adminKeyCreated
            ? "  Move the admin key off this board to the admin's own machine; the board does not need it."
            : '',
          '',
        ]
          .filter((l) => l !== '')
          .join('\n') + '\n',
      )
    })
  site
    .command('show')
    .description('show the site this node belongs to')
    .option(...configOption)
    .option('--json', 'print JSON')
    .action(async (opts: { config?: string; json?: boolean }) => {
      const config = configFrom(io, opts.config)
      const ledger = await openLocalLedger(io, config)
      try {
        if (!ledger.site) throw errors.NO_SITE(config.node.dataDir)
        const info = ledger.view.get<{ name: string }>('site/info')
        const keys = ledger.view.list<{ role: string; name: string }>('site/key/').map(([k, v]) => ({
          key: k.slice('site/key/'.length),
          role: v.role,
          name: v.name,
          revoked: ledger.roleOf(k.slice('site/key/'.length)) === null,
        }))
        const doc = {
          site: toHex(ledger.site),
          name: info?.name ?? null,
          records: ledger.count,
          stateHash: ledger.stateHash,
          keys,
        }
        if (opts.json) io.out(`${JSON.stringify(doc)}\n`)
        else {
          io.out(`site     ${doc.name} (${doc.site})\nrecords  ${doc.records}\nstate    ${doc.stateHash}\n`)
          for (const k of keys)
            io.out(
              `  ${k.role.padEnd(6)} ${k.key.slice(0, 16)}…  ${k.name}${k.revoked ? '  (revoked)' : ''}\n`,
            )
        }
      } finally {
        await ledger.close()
      }
    })
  return site
}
