/** Child process of the ledger benchmark: opens a ledger cold and reports time and RSS. */
import { openTestLedger } from '../runtime/core/ledger/testing/fixtures.ts'

const t0 = performance.now()
const ledger = await openTestLedger({ file: process.argv[2]! })
const openS = (performance.now() - t0) / 1000
// Ready to decide: state is in memory; touch it as a decision would.
ledger.view.get('test/m1')
const rss = process.memoryUsage().rss / 2 ** 20
process.stdout.write(JSON.stringify({ open_s: openS, rss_mb: rss, count: ledger.count }))
await ledger.close()
