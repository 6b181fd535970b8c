/**
 * Node A of the sync benchmark, in a process of its own as a real node would be: opens the
 * ledger file it is given, serves its embedded broker on a free loopback port, syncs over it,
 * prints `{"port":…}` on stdout once ready and then one JSON line per `status` line on stdin
 * (`{"count":…,"stateHash":…}`); stops on SIGTERM or when stdin closes.
 *
 *   node bench/sync-peer.ts <ledger.db> <key byte>
 */
import { createInterface } from 'node:readline'
import { openTestLedger, silentLogger, testKey } from '../runtime/core/ledger/testing/fixtures.ts'
import { EmbeddedBroker } from '../runtime/mesh/broker.ts'
import { PeerLink } from '../runtime/mesh/link.ts'
import { SyncEngine } from '../runtime/mesh/sync.ts'

const [file, keyByte] = process.argv.slice(2)
if (!file || !keyByte) throw new Error('usage: sync-peer.ts <ledger.db> <key byte>')
const key = testKey(Number(keyByte))
const log = silentLogger()
const ledger = await openTestLedger({ file, checkpointWorker: true })
const broker = new EmbeddedBroker({
  host: '127.0.0.1',
  port: 0,
  log,
  directory: () => ledger,
  maxPayloadBytes: 1 << 20,
  rate: { perSecond: 1e6, burst: 1e6 },
})
await broker.ready()
const engine = new SyncEngine({ ledger, key, log })
await engine.ready()
const url = `mqtt://127.0.0.1:${broker.address!.port}`
const link = new PeerLink({ url, name: 'own', engine, key, site: () => ledger.site, log })
await link.ready()
// No CPU placement of its own: the bench runs this whole process on B's helper cores.

let stopping = false
const stop = async () => {
  if (stopping) return
  stopping = true
  await link.close()
  await engine.close()
  await broker.close()
  await ledger.close()
  process.exit(0)
}
process.on('SIGTERM', () => void stop())
const lines = createInterface({ input: process.stdin })
lines.on('line', (l) => {
  if (l.trim() === 'status')
    process.stdout.write(`${JSON.stringify({ count: ledger.count, stateHash: ledger.stateHash })}\n`)
})
lines.on('close', () => void stop())
process.stdout.write(`${JSON.stringify({ port: broker.address!.port })}\n`)
