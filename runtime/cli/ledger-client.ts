/**
 * Writing a record as a key holder (an admin): through the running node's HTTP API when it
 * answers (prepare → check → sign → submit: the key never leaves this machine, and the node
 * folds the record at once), or straight into the ledger file when no node runs.
 */
import { sign } from 'node:crypto'
import type { Config } from '../config/load.ts'
import { errors } from '../errors.ts'
import type { KeyPair } from '../keys.ts'
import type { Rejection } from '../ledger/reasons.ts'
import { decodeRecordBytes, encodeBody, equalBytes, fromHex, toHex, wireBytes } from '../ledger/record.ts'
import { openLocalLedger } from './local-ledger.ts'

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
  const base = `http://${config.http.host}:${config.http.port}`
  const bodyBytes = encodeBody(body)
  let prepared: { record: string } | null = null
  try {
    const res = await fetch(`${base}/api/v1/ledger/prepare`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type, body: toHex(bodyBytes), author: key.id }),
      signal: AbortSignal.timeout(3000),
    })
    const doc = (await res.json()) as { record?: string; error?: { message: string } }
    if (!res.ok) throw errors.NODE_REFUSED(base, doc.error?.message ?? `HTTP ${res.status}`)
    prepared = { record: doc.record! }
  } catch (err) {
    if ((err as { code?: string }).code === 'LK_NODE_REFUSED') throw err
    prepared = null // no node answers: write the file directly
  }
  if (!prepared) return writeToFile(config, key, type, body)
  // Sign only what was asked for: the node chose seq, prev, parents and clock, nothing else.
  const r = decodeRecordBytes(fromHex(prepared.record))
  if (r.type !== type || !equalBytes(r.body, bodyBytes) || !equalBytes(r.author, key.publicKey)) {
    throw errors.NODE_REFUSED(
      base,
      'the node prepared a record other than the one asked for; nothing was signed',
    )
  }
  const sig = new Uint8Array(sign(null, r.id, key.privateKeyObject))
  const res = await fetch(`${base}/api/v1/ledger/submit`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ wire: toHex(wireBytes({ sig, bytes: r.bytes })) }),
    signal: AbortSignal.timeout(5000),
  })
  const doc = (await res.json()) as { id?: string; rejection?: Rejection | null; error?: { message: string } }
  if (!res.ok) throw errors.NODE_REFUSED(base, doc.error?.message ?? `HTTP ${res.status}`)
  return { id: doc.id!, via: 'node', rejection: doc.rejection ?? null }
}

async function writeToFile(config: Config, key: KeyPair, type: string, body: unknown): Promise<Written> {
  // Called without the command's Io: its warnings go to this process's stderr.
  const ledger = await openLocalLedger({ err: (t) => process.stderr.write(t) }, config, { write: true })
  try {
    const { record, rejection } = await ledger.append(type, body, key)
    return { id: toHex(record.id), via: 'file', rejection }
  } finally {
    await ledger.close()
  }
}
