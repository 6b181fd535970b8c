/**
 * The CLI judges a ledger file with the node's dapps: after an authority change that governance
 * decides, `site show` reports the state hash and the key roles the node holds.
 */
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { main } from '../runtime/cli/main.ts'
import { initSite } from '../runtime/cli/site-init.ts'
import { defaultConfig } from '../runtime/config/load.ts'
import { readKeyFile } from '../runtime/core/keys.ts'
import { silentLogger, testKey } from '../runtime/core/ledger/testing/fixtures.ts'
import { dappsFor } from '../runtime/dapp-list.ts'
import { LatchkeyNode } from '../runtime/node.ts'
import { tmpDir } from './helpers/index.ts'

describe('the CLI and the node agree on a ledger', () => {
  it('an admin revoked alone under quorum 2 stays an admin for the CLI too (same state hash and roles)', async () => {
    const dir = tmpDir()
    const env = { LATCHKEY_DATA_DIR: dir, LATCHKEY_HTTP_PORT: '0', LATCHKEY_MQTT_PORT: '0' }
    const config = defaultConfig({ env, cwd: dir })
    await initSite({ config, log: silentLogger(), name: 'Agree Space' })
    const admin = readKeyFile(join(dir, 'keys', 'admin.key'))
    const [admin2, admin3] = [testKey(21), testKey(22)]

    // As `latchkey run` starts it: the node's dapp list.
    const node = new LatchkeyNode({ config, log: silentLogger(), dapps: dappsFor(config) })
    await node.ready()
    let seen: { stateHash: string; roles: Record<string, string | null>; revoke: string | null }
    try {
      const ledger = node.ledger!
      for (const [k, name] of [
        [admin2, 'second'],
        [admin3, 'third'],
      ] as const)
        await ledger.append('site.enrol', { key: k.publicKey, role: 'admin', name }, admin)
      const quorum = await ledger.append(
        'governance.propose',
        { id: 'q2', change: { kind: 'quorum', n: 2 } },
        admin,
      )
      expect(quorum.rejection).toBeNull()
      // One admin alone under quorum 2: governance refuses the revocation.
      const revoke = await ledger.append(
        'site.revoke',
        { key: admin3.publicKey, cut: 0, reason: 'coup' },
        admin,
      )
      expect(revoke.rejection?.code).toBe('site.NOT_APPROVED')
      const keys = ledger.view.list('site/key/').map(([k]) => k.slice('site/key/'.length))
      seen = {
        stateHash: ledger.stateHash,
        roles: Object.fromEntries(keys.map((k) => [k, ledger.roleOf(k)])),
        revoke: revoke.rejection?.code ?? null,
      }
      expect(seen.roles[admin3.id]).toBe('admin')
    } finally {
      await node.close()
    }

    let out = ''
    const code = await main(['site', 'show', '--json'], {
      out: (t) => {
        out += t
      },
      err: () => {},
      env,
      cwd: dir,
    })
    expect(code).toBe(0)
    const shown = JSON.parse(out) as { stateHash: string; keys: Array<{ key: string; revoked: boolean }> }
    expect(shown.stateHash).toBe(seen.stateHash)
    for (const k of shown.keys) expect(k.revoked, k.key).toBe(seen.roles[k.key] === null)
    expect(shown.keys.map((k) => k.key).sort()).toEqual(Object.keys(seen.roles).sort())
  })
})
