/**
 * Site creation: the genesis record (first admin key) and the enrolment of this board's node
 * key as a device, in the node's own ledger. The admin key is written with mode 0600; it
 * belongs on the admin's laptop or a hardware token, not on the board: the CLI says so.
 */
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Config } from '../runtime/config/load.ts'
import { ledgerDappsFor } from '../runtime/dapp-list.ts'
import { errors } from '../runtime/errors.ts'
import { type KeyPair, loadOrCreateKeyFile, readKeyFile } from '../runtime/keys.ts'
import { Ledger } from '../runtime/ledger/ledger.ts'
import { toHex } from '../runtime/ledger/record.ts'
import type { Logger } from '../runtime/log.ts'

export const ledgerFile = (config: Config) => join(config.node.dataDir, 'ledger.db')
export const nodeKeyFile = (config: Config) => join(config.node.dataDir, 'keys', 'node.key')

export interface SiteInit {
  site: string
  admin: string
  adminKeyFile: string
  adminKeyCreated: boolean
  node: string
}

export async function initSite(opts: {
  config: Config
  log: Logger
  name: string
  /** An existing admin key to use; otherwise one is created in the data dir. */
  adminKeyFile?: string
}): Promise<SiteInit> {
  const { config, log } = opts
  const adminKeyFile = opts.adminKeyFile ?? join(config.node.dataDir, 'keys', 'admin.key')
  if (opts.adminKeyFile && !existsSync(opts.adminKeyFile))
    throw errors.KEY_INVALID(opts.adminKeyFile, 'file does not exist')
  try {
    mkdirSync(config.node.dataDir, { recursive: true, mode: 0o700 })
  } catch (err) {
    throw errors.DATA_DIR(config.node.dataDir, (err as NodeJS.ErrnoException).code ?? String(err))
  }
  const ledger = new Ledger({ file: ledgerFile(config), log, dapps: ledgerDappsFor(config) })
  await ledger.ready()
  try {
    if (ledger.site) throw errors.SITE_EXISTS(toHex(ledger.site))
    const admin = opts.adminKeyFile
      ? { pair: readKeyFile(opts.adminKeyFile), created: false }
      : loadOrCreateKeyFile(adminKeyFile)
    const node: KeyPair = loadOrCreateKeyFile(nodeKeyFile(config)).pair
    const genesis = await ledger.createGenesis(opts.name, [admin.pair.publicKey], admin.pair)
    const enrol = await ledger.append(
      'site.enrol',
      { key: node.publicKey, role: 'device', name: config.node.name },
      admin.pair,
    )
    if (enrol.rejection) throw new Error(`enrolment of this node was rejected: ${enrol.rejection.detail}`)
    return {
      site: toHex(genesis.id),
      admin: admin.pair.id,
      adminKeyFile,
      adminKeyCreated: admin.created,
      node: node.id,
    }
  } finally {
    await ledger.close()
  }
}
