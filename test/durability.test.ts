/**
 * Durability: a real child process appends records and is SIGKILLed at random points; after
 * each kill the ledger verifies, and every record the child reported as committed is there.
 */
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { initSite } from '../provisioning/site.ts'
import { defaultConfig } from '../runtime/config/load.ts'
import { readKeyFile } from '../runtime/keys.ts'
import { Ledger } from '../runtime/ledger/ledger.ts'
import { openTestLedger, silentLogger } from '../runtime/ledger/testing/fixtures.ts'
import { ROOT, runCli, spawnTracked, tmpDir } from './helpers/index.ts'

const ROUNDS = 5

describe('durability under SIGKILL', () => {
  it(`every committed record survives ${ROUNDS} kills at random points, and the ledger verifies`, async () => {
    const dataDir = tmpDir()
    const config = defaultConfig({ env: { LATCHKEY_DATA_DIR: dataDir } })
    await initSite({ config, log: silentLogger(), name: 'Durable Space' })
    const nodeKey = readKeyFile(join(dataDir, 'keys', 'node.key'))
    let committed = 0
    for (let round = 0; round < ROUNDS; round++) {
      const child = spawnTracked(process.execPath, [join(ROOT, 'test', 'fixtures', 'appender.ts'), dataDir])
      // Kill somewhere between 20 and ~400 commits into the run.
      const target = committed + 20 + Math.floor(Math.random() * 380)
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`child stalled:\n${child.stderr()}`)), 20_000)
        const check = () => {
          if (maxCommitted(child.stdout()) >= target) {
            clearTimeout(timer)
            child.child.stdout!.off('data', check)
            resolve()
          }
        }
        child.child.stdout!.on('data', check)
      })
      child.child.kill('SIGKILL')
      const { signal } = await child.exited
      expect(signal).toBe('SIGKILL')
      const reported = maxCommitted(child.stdout())
      expect(reported).toBeGreaterThan(committed)
      committed = reported

      // The ledger verifies (a real CLI process), and holds every reported record.
      const verify = await runCli(['ledger', 'verify'], { env: { LATCHKEY_DATA_DIR: dataDir } })
      expect(verify.stderr).toBe('')
      expect(verify.code).toBe(0)
      const ledger = await openTestLedger({ file: join(dataDir, 'ledger.db') })
      try {
        const head = ledger.heads().get(nodeKey.id)!
        expect(head.seq).toBeGreaterThanOrEqual(committed)
        const chain = ledger.range(nodeKey.id, 1, committed)
        expect(chain.map((r) => r.seq)).toEqual(Array.from({ length: committed }, (_, i) => i + 1))
        // State tables were committed with their records: reopening needed no rebuild.
        expect(ledger.counters.rebuilds).toBe(0)
        const fresh = new Ledger({ file: ':memory:', log: silentLogger(), dapps: [] })
        expect(fresh).toBeDefined()
      } finally {
        await ledger.close()
      }
    }
  }, 120_000)
})

function maxCommitted(out: string): number {
  let max = 0
  for (const line of out.split('\n')) {
    if (line.startsWith('C ')) max = Math.max(max, Number(line.slice(2)))
  }
  return max
}
