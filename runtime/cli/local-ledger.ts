/**
 * How every CLI command opens this node's ledger file: with the dapps the node judges it with
 * (runtime/dapp-list.ts `ledgerDappsFor`), so the CLI and the node see the same state, roles
 * and rejections; logging to stderr (stdout may carry a CSV or JSON export). A missing file or
 * a ledger without a site is LK_NO_SITE; a damaged file keeps its own code (LK_LEDGER_CORRUPT,
 * LK_LEDGER_EMPTY), never the advice to create a site.
 */
import { existsSync } from 'node:fs'
import { Writable } from 'node:stream'
import type { LevelWithSilent } from 'pino'
import type { Config } from '../config/load.ts'
import { errors } from '../core/errors/index.ts'
import { Ledger } from '../core/ledger/ledger.ts'
import { createLogger, type Logger } from '../core/log.ts'
import { ledgerDappsFor } from '../dapp-list.ts'
import type { Io } from './io.ts'
import { ledgerFile } from './site-init.ts'

/** A logger for a CLI command: JSON lines on stderr. */
export function cliLogger(io: Pick<Io, 'err'>, level: LevelWithSilent = 'warn'): Logger {
  const destination = new Writable({
    write(chunk, _enc, done) {
      io.err(String(chunk))
      done()
    },
  })
  return createLogger({ level, destination })
}

/** Opens this node's ledger; read-only unless `write`. Refuses a missing ledger or one without a site. */
export async function openLocalLedger(
  io: Pick<Io, 'err'>,
  config: Config,
  opts: { write?: boolean } = {},
): Promise<Ledger> {
  const file = ledgerFile(config)
  if (!existsSync(file)) throw errors.NO_SITE(config.node.dataDir)
  const ledger = new Ledger({
    file,
    log: cliLogger(io),
    readonly: !opts.write,
    dapps: ledgerDappsFor(config),
  })
  try {
    await ledger.ready()
  } catch (err) {
    await ledger.close().catch(() => {})
    throw err
  }
  if (!ledger.site) {
    await ledger.close()
    throw errors.NO_SITE(config.node.dataDir)
  }
  return ledger
}

/** Runs `use` on this node's ledger (read-only) and closes it. */
export async function withLocalLedger<T>(
  io: Pick<Io, 'err'>,
  config: Config,
  use: (ledger: Ledger) => T | Promise<T>,
): Promise<T> {
  const ledger = await openLocalLedger(io, config)
  try {
    return await use(ledger)
  } finally {
    await ledger.close()
  }
}
