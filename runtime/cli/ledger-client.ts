/**
 * Writing a record as a key holder (an admin): through the running node's HTTP API when it
 * answers (prepare → check → sign → submit, each request signed with the same key: the key
 * never leaves this machine, and the node folds the record at once), or straight into the
 * ledger file when no node runs.
 */
import { sign } from 'node:crypto'
import { builtinDapps } from '../../dapps/index.ts'
import { ledgerFile } from '../../provisioning/site.ts'
import type { Config } from '../config/load.ts'
import { ledgerDapp } from '../dapps.ts'
import { errors } from '../errors.ts'
import { LatchkeyClient } from '../http/client.ts'
import type { KeyPair } from '../keys.ts'
import { Ledger } from '../ledger/ledger.ts'
import type { Rejection } from '../ledger/reasons.ts'
import { decodeRecordBytes, encodeBody, equalBytes, fromHex, toHex, wireBytes } from '../ledger/record.ts'
import { createLogger } from '../log.ts'

export interface Written {
  id: string
  via: 'node' | 'file'
  rejection: Rejection | null
}

/** The base URL of the node a config describes (a wildcard listen address is reached on loopback). */
export function nodeUrl(config: Config): string {
  const host = config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host === '::' ? '[::1]' : config.http.host
  return `http://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${config.http.port}`
}

export async function writeRecord(
  config: Config,
  key: KeyPair,
  type: string,
  body: unknown,
): Promise<Written> {
  const client = new LatchkeyClient({ baseUrl: nodeUrl(config), key, timeoutMs: 5000 })
  const bodyBytes = encodeBody(body)
  let prepared: { record: string }
  try {
    prepared = await client.post<{ record: string }>('/api/v1/ledger/prepare', {
      type,
      body: toHex(bodyBytes),
      author: key.id,
    })
  } catch (err) {
    // No node answers: write the file directly. Any answer of the node is final.
    if ((err as { code?: string }).code === 'LK_NODE_UNREACHABLE') return writeToFile(config, key, type, body)
    throw err
  }
  // Sign only what was asked for: the node chose seq, prev, parents and clock, nothing else.
  const r = decodeRecordBytes(fromHex(prepared.record))
  if (r.type !== type || !equalBytes(r.body, bodyBytes) || !equalBytes(r.author, key.publicKey)) {
    throw errors.NODE_REFUSED(
      client.baseUrl,
      'the node prepared a record other than the one asked for; nothing was signed',
    )
  }
  const sig = new Uint8Array(sign(null, r.id, key.privateKeyObject))
  const doc = await client.post<{ id: string; rejection?: Rejection | null }>('/api/v1/ledger/submit', {
    wire: toHex(wireBytes({ sig, bytes: r.bytes })),
  })
  return { id: doc.id, via: 'node', rejection: doc.rejection ?? null }
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
