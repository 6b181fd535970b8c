/**
 * Writing a record as a key holder (an admin): through the running node's HTTP API when it
 * answers (prepare → check → sign → submit, each request signed with the same key: the key
 * never leaves this machine, and the node folds the record at once), or straight into the
 * ledger file when no node runs.
 */
import { sign } from 'node:crypto'
import type { Config } from '../config/load.ts'
import { errors } from '../core/errors/index.ts'
import type { KeyPair } from '../core/keys.ts'
import type { Rejection } from '../core/ledger/reasons.ts'
import { encodeBody, wireBytes } from '../core/ledger/record.ts'
import { LatchkeyClient } from '../http/client.ts'
import { openLocalLedger } from './local-ledger.ts'
import { nodeUrl, runningNode } from './site-init.ts'

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
    // No node answers: write the file directly, unless a node holds it (writing behind a running
    // node would leave it folding a ledger that changed under it). Once a node answers, its
    // answer is final.
    if ((err as { code?: string }).code !== 'LK_NODE_UNREACHABLE') throw err
    const pid = runningNode(config)
    if (pid !== null)
      throw errors.DATA_DIR(
        config.node.dataDir,
        `a latchkey node (pid ${pid}) holds it but does not answer at ${client.baseUrl}; write through that node (check http.host and http.port) or stop it first`,
      )
    return writeToFile(config, key, type, body)
  }
  return { ...(await client.appendRecord(type, body)), via: 'node' }
}

/**
 * No node runs: the same path a node takes for a key holder's record, against the ledger file
 * (prepare judges it at the tip, submit checks it again and stores it, or refuses it and keeps
 * nothing), so refused input is never signed into the ledger.
 */
async function writeToFile(config: Config, key: KeyPair, type: string, body: unknown): Promise<Written> {
  // Called without the command's Io: its warnings go to this process's stderr.
  const ledger = await openLocalLedger({ err: (t) => process.stderr.write(t) }, config, { write: true })
  try {
    const r = ledger.admin.prepare(type, encodeBody(body), key.publicKey)
    const sig = new Uint8Array(sign(null, r.id, key.privateKeyObject))
    const done = ledger.admin.submit(wireBytes({ sig, bytes: r.bytes }), { author: key.id })
    return { id: done.id, via: 'file', rejection: done.rejection }
  } finally {
    await ledger.close()
  }
}
