/**
 * door-access and machine-lockout in a real LatchkeyNode (the dapp host, hardware from a YAML
 * config on the sim board, the HTTP API): the wiring the unit tests' harness stands in for.
 * Real time here, so only short pulses and no timeouts are exercised.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import type { SimGpio } from '../../devices/gpio/index.ts'
import { initSite } from '../../runtime/cli/site-init.ts'
import { loadConfigFile } from '../../runtime/config/load.ts'
import { readKeyFile } from '../../runtime/core/keys.ts'
import { createLogger } from '../../runtime/core/log.ts'
import { LatchkeyNode } from '../../runtime/node.ts'
import { tmpDir } from '../../test/helpers/index.ts'
import { nodeKey, signedFetch } from '../../test/helpers/signed.ts'
import { createMachineLockout } from '../machine-lockout/index.ts'
import { createDoorAccess } from './index.ts'
import { badge, cert, FAKE_DAPPS, member } from './testing/fakes.ts'

const quiet = () =>
  createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, d) => d() }) })

describe('door-access and machine-lockout in a node', () => {
  it('a badge at the door reader pulses the configured lock; a badge at the tool reader enables its relay; both are recorded', async () => {
    const dir = tmpDir()
    const file = join(dir, 'node.yaml')
    writeFileSync(
      file,
      [
        'node:',
        `  dataDir: ${join(dir, 'var')}`,
        'http: { port: 0 }',
        'mqtt: { broker: { enabled: false } }',
        'hardware:',
        '  gpio: sim',
        '  outputs:',
        '    - { name: front-lock, kind: lock, line: { name: GPIO17 } }',
        '    - { name: laser-relay, kind: relay, line: { name: GPIO27 } }',
        '',
      ].join('\n'),
    )
    const config = loadConfigFile(file, { env: {} })
    const site = await initSite({ config, log: quiet(), name: 'Node Space' })
    const dapps = [
      ...FAKE_DAPPS,
      createDoorAccess({
        doors: [{ name: 'front', reader: 'front-reader', lock: 'front-lock', pulseMs: 200 }],
      }),
      createMachineLockout({
        tools: [
          {
            name: 'laser-1',
            reader: 'laser-reader',
            relay: 'laser-relay',
            idleMs: 60_000,
            maxSessionMs: 600_000,
            warnMs: 10_000,
          },
        ],
      }),
    ]
    const node = new LatchkeyNode({ config, log: quiet(), dapps })
    await node.ready()
    try {
      const admin = readKeyFile(site.adminKeyFile)
      const ledger = node.ledger!
      for (const [type, body] of [
        ['membership.put', member('alice')],
        ['credentials.put', badge('em:42', 'alice')],
        ['certifications.put', cert('alice', 'laser-1')],
        ['door-access.door', { door: 'front', groups: ['members'], schedule: null }],
      ] as const) {
        expect((await ledger.append(type, body, admin)).rejection).toBeNull()
      }
      const gpio = node.hardware!.gpio as SimGpio
      const emit = (reader: string) =>
        node.dapps!.badge({
          reader,
          credential: { id: 'em:42', kind: 'em', bits: 32 },
          at: 0,
        })

      emit('front-reader')
      await expect.poll(() => gpio.levels({ name: 'GPIO17' })).toEqual([0, 1])
      await expect.poll(() => gpio.levels({ name: 'GPIO17' }), { timeout: 2000 }).toEqual([0, 1, 0])
      emit('laser-reader')
      await expect.poll(() => gpio.levels({ name: 'GPIO27' })).toEqual([0, 1])

      const types = () =>
        [...ledger.query.records()]
          .map((r) => r.type)
          .filter((t) => t.startsWith('door-access.') || t.startsWith('machine-lockout.'))
      await expect
        .poll(types)
        .toEqual(['door-access.door', 'door-access.event', 'machine-lockout.session-start'])
      const port = node.http!.address!.port
      const status = (await (
        await signedFetch(nodeKey(node.dataDir))(`http://127.0.0.1:${port}/api/v1/dapps/door-access/status`)
      ).json()) as {
        offline: boolean
        doors: Array<{ door: string; lock: string }>
      }
      expect(status).toMatchObject({
        offline: false,
        policy: 'members-cached',
        doors: [{ door: 'front', lock: 'locked' }],
      })
      const tools = (await (
        await signedFetch(nodeKey(node.dataDir))(
          `http://127.0.0.1:${port}/api/v1/dapps/machine-lockout/status`,
        )
      ).json()) as {
        tools: Array<{ session: { member: string } | null }>
      }
      expect(tools.tools[0]!.session).toMatchObject({ member: 'alice' })
    } finally {
      await node.close()
    }
  })
})
