/**
 * Writing records as an admin whose key stays on their machine: prepare → sign → submit, on a
 * running node. The route handlers are called with the caller the HTTP server hands them once
 * it has checked the request's signature (runtime/http/server.ts `Caller`); one request goes
 * over HTTP to show an unsigned one changes nothing.
 */
import { sign } from 'node:crypto'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { builtinDapps } from '../dapps/index.ts'
import { writeRecord } from '../runtime/cli/ledger-client.ts'
import { initSite } from '../runtime/cli/site-init.ts'
import { defaultConfig } from '../runtime/config/load.ts'
import { generateSeed, type KeyPair, keyPairFromSeed, readKeyFile } from '../runtime/core/keys.ts'
import { decodeRecordBytes, encodeBody, fromHex, toHex, wireBytes } from '../runtime/core/ledger/record.ts'
import { createLogger } from '../runtime/core/log.ts'
import { ledgerRoutes } from '../runtime/http/ledger-routes.ts'
import type { Caller, RouteHandler } from '../runtime/http/server.ts'
import { LatchkeyNode } from '../runtime/node.ts'
import { tmpDir } from './helpers/index.ts'

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

/** The node's ledger routes, called as its HTTP server calls them for a signed request. */
function client(node: LatchkeyNode, key: KeyPair, role = 'admin') {
  const handlers = new Map<string, RouteHandler>()
  ledgerRoutes(
    { route: (_m, url, h) => handlers.set(url, h) },
    { ledger: () => node.ledger, nodeKey: () => node.key!.id },
  )
  const caller: Caller = { key: key.id, role }
  const call = (url: string, body: unknown) =>
    handlers.get(`/api/v1/ledger/${url}`)!({ params: {}, query: {}, headers: {}, body, caller }) as Record<
      string,
      unknown
    >
  return {
    /** prepare → check → sign → submit, as `latchkey` does on the admin's machine. */
    write(type: string, body: unknown) {
      const bodyBytes = encodeBody(body)
      const prepared = call('prepare', { type, body: toHex(bodyBytes) })
      const r = decodeRecordBytes(fromHex(prepared.record as string))
      expect([r.type, toHex(r.body), toHex(r.author)]).toEqual([type, toHex(bodyBytes), key.id])
      const sig = new Uint8Array(sign(null, r.id, key.privateKeyObject))
      return call('submit', { wire: toHex(wireBytes({ sig, bytes: r.bytes })) })
    },
  }
}

function thrown(f: () => unknown): { code: string; status: number; details: Record<string, unknown> } {
  try {
    f()
  } catch (err) {
    return err as { code: string; status: number; details: Record<string, unknown> }
  }
  throw new Error('expected the call to throw')
}

describe('ledger prepare/submit', () => {
  it('an admin enrols a device through the running node; the node folds it at once', async () => {
    const { config, admin } = await setup()
    const node = new LatchkeyNode({ config, log: quiet() })
    await node.ready()
    try {
      const device = keyPairFromSeed(generateSeed())
      const w = client(node, admin).write('site.enrol', {
        key: device.publicKey,
        role: 'device',
        name: 'door-2',
      })
      expect(w).toMatchObject({ duplicate: false, status: 'applied', rejection: null })
      expect(node.ledger!.roleOf(device.id)).toBe('device')
      expect(node.ledger!.count).toBe(3)
      // A device key cannot enrol others: refused before anything is signed, nothing stored.
      const other = keyPairFromSeed(generateSeed())
      const e = thrown(() =>
        client(node, device, 'device').write('site.enrol', {
          key: other.publicKey,
          role: 'admin',
          name: 'x',
        }),
      )
      expect([e.code, e.status, e.details.reason]).toEqual(['LK_RECORD_REFUSED', 422, 'site.NOT_ADMIN'])
      expect(node.ledger!.count).toBe(3)
    } finally {
      await node.close()
    }
  })

  it('a record the dapp refuses at submit is not stored (cert grant for an unknown member)', async () => {
    const { config, admin } = await setup()
    const node = new LatchkeyNode({ config, log: quiet(), dapps: builtinDapps })
    await node.ready()
    try {
      const before = { count: node.ledger!.count, hash: node.ledger!.stateHash }
      const e = thrown(() =>
        client(node, admin).write('certifications.grant', { member: 'nobody', tool: 'laser-1' }),
      )
      expect([e.code, e.status, e.details.reason]).toEqual([
        'LK_RECORD_REFUSED',
        422,
        'certifications.UNKNOWN_MEMBER',
      ])
      expect({ count: node.ledger!.count, hash: node.ledger!.stateHash }).toEqual(before)
      expect(node.ledger!.query.quarantined()).toEqual([])
    } finally {
      await node.close()
    }
  })

  it('an unsigned request is refused and changes nothing', async () => {
    const { config } = await setup()
    const node = new LatchkeyNode({ config, log: quiet() })
    await node.ready()
    try {
      const base = `http://127.0.0.1:${node.http!.address!.port}`
      const before = node.ledger!.stateHash
      for (const [url, body] of [
        ['submit', { wire: 'zz' }],
        ['submit', { wire: '00'.repeat(100) }],
        ['prepare', { type: 'test.put', body: 'a0' }],
      ] as const) {
        const res = await fetch(`${base}/api/v1/ledger/${url}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        })
        expect(res.status).toBe(401)
        const { error } = (await res.json()) as { error: { code: string } }
        expect(error.code).toMatch(/^LK_/)
      }
      expect(node.ledger!.stateHash).toBe(before)
      expect(node.ledger!.query.quarantined()).toEqual([])
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
