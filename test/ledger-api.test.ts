/** Writing records as an admin whose key stays on their machine: prepare → sign → submit. */
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { initSite } from '../provisioning/site.ts'
import { writeRecord } from '../runtime/cli/ledger-client.ts'
import { defaultConfig } from '../runtime/config/load.ts'
import { generateSeed, keyPairFromSeed, readKeyFile } from '../runtime/keys.ts'
import { createLogger } from '../runtime/log.ts'
import { LatchkeyNode } from '../runtime/node.ts'
import { tmpDir } from './helpers/index.ts'
import { signedFetch } from './helpers/signed.ts'

const quiet = () =>
  createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, d) => d() }) })

async function setup() {
  const dataDir = tmpDir()
  const config = defaultConfig({
    env: { LATCHKEY_DATA_DIR: dataDir, LATCHKEY_HTTP_PORT: '0', LATCHKEY_MQTT_PORT: '0' },
  })
  await initSite({ config, log: quiet(), name: 'API Space' })
  const admin = readKeyFile(join(dataDir, 'keys', 'admin.key'))
  return { config, admin, dataDir }
}

describe('ledger prepare/submit', () => {
  it('an admin enrols a device through the running node; the node folds it at once', async () => {
    const { config, admin } = await setup()
    const node = new LatchkeyNode({ config, log: quiet() })
    await node.ready()
    try {
      const port = node.http!.address!.port
      const live = { ...config, http: { ...config.http, port } }
      const device = keyPairFromSeed(generateSeed())
      const w = await writeRecord(live, admin, 'site.enrol', {
        key: device.publicKey,
        role: 'device',
        name: 'door-2',
      })
      expect(w).toMatchObject({ via: 'node', rejection: null })
      expect(node.ledger!.roleOf(device.id)).toBe('device')
      expect(node.ledger!.count).toBe(3)
      // A device key cannot enrol others: the record is kept, rejected by the site dapp.
      const other = keyPairFromSeed(generateSeed())
      const r = await writeRecord(live, device, 'site.enrol', {
        key: other.publicKey,
        role: 'admin',
        name: 'x',
      })
      expect(r.rejection?.code).toBe('site.NOT_ADMIN')
    } finally {
      await node.close()
    }
  })

  it('a forged or malformed submission is refused with a stable code and changes nothing', async () => {
    const { config, admin } = await setup()
    const node = new LatchkeyNode({ config, log: quiet() })
    await node.ready()
    try {
      const base = `http://127.0.0.1:${node.http!.address!.port}`
      const before = node.ledger!.stateHash
      const fetch = signedFetch(admin)
      for (const body of [{ wire: 'zz' }, { wire: '00'.repeat(100) }, {}]) {
        const res = await fetch(`${base}/api/v1/ledger/submit`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        })
        expect(res.status).toBe(400)
        const { error } = (await res.json()) as { error: { code: string } }
        expect(['LK_HTTP_BAD_REQUEST', 'LK_RECORD_REFUSED']).toContain(error.code)
      }
      expect(node.ledger!.stateHash).toBe(before)
    } finally {
      await node.close()
    }
  })

  it('with no node running, the record goes straight into the ledger file', async () => {
    const { config, admin } = await setup()
    const device = keyPairFromSeed(generateSeed())
    const w = await writeRecord({ ...config, http: { ...config.http, port: 9 } }, admin, 'site.enrol', {
      key: device.publicKey,
      role: 'device',
      name: 'door-3',
    })
    expect(w).toMatchObject({ via: 'file', rejection: null })
  })
})
