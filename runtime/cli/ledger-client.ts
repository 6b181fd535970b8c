/**
 * Writing a record as a key holder (an admin): through the running node's HTTP API when it
 * answers (prepare → check → sign → submit, each request signed with the same key: the key
 * never leaves this machine, and the node folds the record at once), or straight into the
 * ledger file when no node runs.
 */
import { builtinDapps } from '../../dapps/index.ts'
import { ledgerFile, nodeUrl } from '../../provisioning/site.ts'
import type { Config } from '../config/load.ts'
import { ledgerDapp } from '../dapps.ts'
import { errors } from '../errors.ts'
import { LatchkeyClient } from '../http/client.ts'
import type { KeyPair } from '../keys.ts'
import { Ledger } from '../ledger/ledger.ts'
import type { Rejection } from '../ledger/reasons.ts'
import { toHex } from '../ledger/record.ts'
import { createLogger } from '../log.ts'

export interface Written {
  id: string
  via: 'node' | 'file'
  rejection: Rejection | null
}

export async function writeRecord(
  config: Config,
  key: KeyPair,
  type: string,
  body: unknown,
): Promise<Written> {
  const client = new LatchkeyClient({ baseUrl: nodeUrl(config), key, timeoutMs: 5000 })
  try {
    await client.site()
  } catch (err) {
    // No node answers: write the file directly. Once a node answers, its answer is final.
    if ((err as { code?: string }).code === 'LK_NODE_UNREACHABLE') return writeToFile(config, key, type, body)
    throw err
  }
  return { ...(await client.appendRecord(type, body)), via: 'node' }
}

async function writeToFile(config: Config, key: KeyPair, type: string, body: unknown): Promise<Written> {
  const ledger = new Ledger({
    file: ledgerFile(config),
    log: createLogger({ level: 'warn' }),
    dapps: builtinDapps.map(ledgerDapp),
  })
  await ledger.ready()
  try {
    if (!ledger.site) throw errors.NO_SITE(config.node.dataDir)
    const { record, rejection } = await ledger.append(type, body, key)
    return { id: toHex(record.id), via: 'file', rejection }
  } finally {
    await ledger.close()
  }
}
