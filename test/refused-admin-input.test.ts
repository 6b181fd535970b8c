/**
 * Refused admin input is never signed into the ledger: a record the rules refuse is answered
 * with the reason and nothing is stored, whether the CLI writes through a running node or,
 * with no node running, into the ledger file.
 */
import { describe, expect, it } from 'vitest'
import { openLocalLedger } from '../runtime/cli/local-ledger.ts'
import { main } from '../runtime/cli/main.ts'
import { initSite } from '../runtime/cli/site-init.ts'
import { defaultConfig } from '../runtime/config/load.ts'
import { silentLogger } from '../runtime/core/ledger/testing/fixtures.ts'
import { dappsFor } from '../runtime/dapp-list.ts'
import { LatchkeyNode } from '../runtime/node.ts'
import { tmpDir } from './helpers/index.ts'

async function cli(env: NodeJS.ProcessEnv, cwd: string, ...argv: string[]) {
  const out: string[] = []
  const err: string[] = []
  const code = await main(argv, { out: (t) => out.push(t), err: (t) => err.push(t), env, cwd })
  return { code, stdout: out.join(''), stderr: err.join('') }
}

const refusals: Array<[string, string[], string]> = [
  ['cert grant for a member nobody added', ['cert', 'grant', 'nobody', 'laser-1'], 'UNKNOWN_MEMBER'],
  [
    'door set naming a schedule nothing created',
    ['door', 'set', 'front', '--groups', 'members', '--schedule', 'no-such-schedule'],
    'UNKNOWN_SCHEDULE',
  ],
]

describe('refused admin input is never stored', () => {
  it.each(refusals)(
    '%s: refused offline, nothing written to the ledger file',
    async (_name, argv, reason) => {
      const dir = tmpDir()
      const env = { LATCHKEY_DATA_DIR: dir, LATCHKEY_HTTP_PORT: '1' }
      const config = defaultConfig({ env, cwd: dir })
      await initSite({ config, log: silentLogger(), name: 'Refusals' })
      const count = async () => {
        const l = await openLocalLedger({ err: () => {} }, config)
        try {
          return { records: l.count, hash: l.stateHash, quarantined: l.query.quarantined().length }
        } finally {
          await l.close()
        }
      }
      const before = await count()
      const r = await cli(env, dir, ...argv)
      expect(r.code).not.toBe(0)
      expect(r.stderr).toContain(reason)
      expect(await count()).toEqual(before)
    },
  )

  it.each(refusals)('%s: refused by the running node, nothing stored', async (_name, argv, reason) => {
    const dir = tmpDir()
    const env = { LATCHKEY_DATA_DIR: dir, LATCHKEY_HTTP_PORT: '0' }
    const config = defaultConfig({ env, cwd: dir })
    await initSite({ config, log: silentLogger(), name: 'Refusals' })
    const node = new LatchkeyNode({ config, log: silentLogger(), dapps: dappsFor(config) })
    await node.ready()
    try {
      const ledger = node.ledger!
      const before = {
        records: ledger.count,
        hash: ledger.stateHash,
        quarantined: ledger.query.quarantined().length,
      }
      const port = String(node.http!.address!.port)
      const r = await cli({ ...env, LATCHKEY_HTTP_PORT: port }, dir, ...argv)
      expect(r.code).not.toBe(0)
      expect(r.stderr).toContain(reason)
      expect({
        records: ledger.count,
        hash: ledger.stateHash,
        quarantined: ledger.query.quarantined().length,
      }).toEqual(before)
    } finally {
      await node.close()
    }
  })
})
