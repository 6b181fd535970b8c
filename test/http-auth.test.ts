/**
 * The HTTP API is closed by default (docs/PROTOCOL.md, "HTTP API and authentication"): every
 * route but liveness, the minimal status and the site bootstrap answers requests signed by a
 * key enrolled in the site, now.
 */
import { existsSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { builtinDapps } from '../dapps/index.ts'
import { writeRecord } from '../runtime/cli/ledger-client.ts'
import { initSite } from '../runtime/cli/site-init.ts'
import { type Config, defaultConfig } from '../runtime/config/load.ts'
import { generateSeed, type KeyPair, keyPairFromSeed } from '../runtime/core/keys.ts'
import { createLogger } from '../runtime/core/log.ts'
import { LatchkeyClient } from '../runtime/http/client.ts'
import { HttpServer } from '../runtime/http/server.ts'
import { signRequest } from '../runtime/http/signature.ts'
import { LatchkeyNode } from '../runtime/node.ts'
import { runCli, spawnTracked, tmpDir } from './helpers/index.ts'
import { adminKey, nodeKey, signedFetch } from './helpers/signed.ts'

const quiet = () =>
  createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, d) => d() }) })

const member = (id: string) => ({
  id,
  name: `Name of ${id}`,
  contact: `${id}@example.org`,
  status: 'active',
  expires: null,
  groups: ['members'],
  staff: false,
})

function configFor(dataDir: string, port = 0): Config {
  return defaultConfig({
    env: { LATCHKEY_DATA_DIR: dataDir, LATCHKEY_HTTP_PORT: String(port), LATCHKEY_MQTT_PORT: '0' },
  })
}

/** A node of a site created in its ledger file, running, with its admin and device keys. */
async function siteNode() {
  const dataDir = tmpDir()
  const config = configFor(dataDir)
  const init = await initSite({ config, log: quiet(), name: 'Auth Space' })
  const node = new LatchkeyNode({ config, log: quiet(), dapps: builtinDapps })
  await node.ready()
  const port = node.http!.address!.port
  const live: Config = { ...config, http: { ...config.http, port } }
  return {
    node,
    live,
    dataDir,
    site: init.site,
    base: `http://127.0.0.1:${port}`,
    admin: adminKey(dataDir),
    device: nodeKey(dataDir),
  }
}

type Site = Awaited<ReturnType<typeof siteNode>>

async function withSite(run: (s: Site) => Promise<void>): Promise<void> {
  const s = await siteNode()
  try {
    await run(s)
  } finally {
    await s.node.close()
  }
}

const errorOf = async (res: Response) => ((await res.json()) as { error: Record<string, unknown> }).error

/** Sends a request with the given signature headers as they are (no retry, no re-signing). */
async function sendRaw(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<Response> {
  return fetch(`${base}${path}`, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body } : {}),
  })
}

const sign = (
  s: Site,
  key: KeyPair,
  method: string,
  path: string,
  body?: string,
  extra: { now?: number; site?: string } = {},
) =>
  signRequest({
    method,
    url: `${s.base}${path}`,
    ...(body !== undefined ? { body } : {}),
    key,
    site: extra.site ?? s.site,
    now: extra.now ?? Date.now(),
  })

const prepareBody = (key: KeyPair) => JSON.stringify({ type: 'site.enrol', body: 'a0', author: key.id })

describe('HTTP API: closed by default', () => {
  it('member list is not public', async () => {
    await withSite(async (s) => {
      await writeRecord(s.live, s.admin, 'membership.put', member('alice'))
      const res = await fetch(`${s.base}/api/v1/dapps/membership/members`)
      expect(res.status).toBe(401)
      expect((await errorOf(res)).code).toBe('LK_HTTP_UNAUTHENTICATED')
      const body = await res.text().catch(() => '')
      expect(body).not.toContain('alice@example.org')
      // A device of the site reads it.
      const signed = await signedFetch(s.device)(`${s.base}/api/v1/dapps/membership/members`)
      expect(signed.status).toBe(200)
      expect(await signed.text()).toContain('alice')
    })
  })

  it('prepare without a signature is refused', async () => {
    await withSite(async (s) => {
      const res = await sendRaw(s.base, 'POST', '/api/v1/ledger/prepare', {}, prepareBody(s.admin))
      expect(res.status).toBe(401)
      expect((await errorOf(res)).code).toBe('LK_HTTP_UNAUTHENTICATED')
      // Bad JSON without a signature is refused as unsigned, before the body is read.
      const bad = await sendRaw(s.base, 'POST', '/api/v1/ledger/submit', {}, '{nope')
      expect(bad.status).toBe(401)
    })
  })

  it('an unknown path is 401 to anyone and 404 only to a signed caller', async () => {
    await withSite(async (s) => {
      const anon = await fetch(`${s.base}/api/v1/nope`)
      expect(anon.status).toBe(401)
      const signed = await signedFetch(s.device)(`${s.base}/api/v1/nope`)
      expect(signed.status).toBe(404)
      expect((await errorOf(signed)).code).toBe('LK_HTTP_NOT_FOUND')
    })
  })

  it('liveness and the minimal status are public; the full status needs a signature', async () => {
    await withSite(async (s) => {
      expect(await (await fetch(`${s.base}/healthz`)).json()).toEqual({ ok: true })
      const minimal = await (await fetch(`${s.base}/api/v1/status`)).json()
      expect(minimal).toEqual({
        node: { name: 'latchkey' },
        site: { id: s.site },
        version: expect.any(String),
        ready: true,
      })
      const full = (await (await signedFetch(s.admin)(`${s.base}/api/v1/status`)).json()) as {
        node: { key: string }
        records: number
      }
      expect(full.node.key).toBe(s.node.key!.id)
      expect(full.records).toBe(2)
    })
  })

  it('a signature by another key claiming an enrolled keyid is refused (forged)', async () => {
    await withSite(async (s) => {
      const attacker = keyPairFromSeed(generateSeed())
      const forger: KeyPair = { ...s.admin, privateKeyObject: attacker.privateKeyObject }
      const body = prepareBody(s.admin)
      const res = await sendRaw(
        s.base,
        'POST',
        '/api/v1/ledger/prepare',
        await sign(s, forger, 'POST', '/api/v1/ledger/prepare', body),
        body,
      )
      expect(res.status).toBe(401)
      expect((await errorOf(res)).code).toBe('LK_HTTP_BAD_SIGNATURE')
    })
  })

  it('the same signed request sent twice is refused the second time (replay)', async () => {
    await withSite(async (s) => {
      const headers = await sign(s, s.device, 'GET', '/api/v1/status')
      expect((await sendRaw(s.base, 'GET', '/api/v1/status', headers)).status).toBe(200)
      const again = await sendRaw(s.base, 'GET', '/api/v1/status', headers)
      expect(again.status).toBe(401)
      expect((await errorOf(again)).code).toBe('LK_HTTP_REPLAYED')
    })
  })

  it('a body changed after signing is refused (digest mismatch)', async () => {
    await withSite(async (s) => {
      const body = prepareBody(s.admin)
      const headers = await sign(s, s.admin, 'POST', '/api/v1/ledger/prepare', body)
      const tampered = body.replace('site.enrol', 'site.revoke')
      const res = await sendRaw(s.base, 'POST', '/api/v1/ledger/prepare', headers, tampered)
      expect(res.status).toBe(401)
      expect((await errorOf(res)).code).toBe('LK_HTTP_DIGEST_MISMATCH')
    })
  })

  it('a signature made for another site is refused', async () => {
    await withSite(async (s) => {
      const other = Buffer.from(generateSeed()).toString('hex')
      const res = await sendRaw(
        s.base,
        'GET',
        '/api/v1/status',
        await sign(s, s.device, 'GET', '/api/v1/status', undefined, { site: other }),
      )
      expect(res.status).toBe(401)
      expect((await errorOf(res)).code).toBe('LK_HTTP_WRONG_SITE')
    })
  })

  it('a signature 10 minutes off is refused with the node time; the client retries with it and succeeds', async () => {
    await withSite(async (s) => {
      const off = () => Date.now() + 10 * 60_000
      const res = await sendRaw(
        s.base,
        'GET',
        '/api/v1/dapps/membership/members',
        await sign(s, s.device, 'GET', '/api/v1/dapps/membership/members', undefined, { now: off() }),
      )
      expect(res.status).toBe(401)
      const error = await errorOf(res)
      expect(error.code).toBe('LK_HTTP_CLOCK_SKEW')
      expect(Math.abs((error.now as number) - Date.now())).toBeLessThan(5000)
      expect(res.headers.get('date')).not.toBeNull()
      const client = new LatchkeyClient({ baseUrl: s.base, key: s.device, now: off })
      const members = await client.get('/api/v1/dapps/membership/members')
      expect(members).toBeTruthy()
      expect(Math.abs(client.clockOffsetMs + 10 * 60_000)).toBeLessThan(5000)
    })
  })

  it('a revoked device key is refused from the next request on', async () => {
    await withSite(async (s) => {
      const device = keyPairFromSeed(generateSeed())
      await writeRecord(s.live, s.admin, 'site.enrol', {
        key: device.publicKey,
        role: 'device',
        name: 'door-9',
      })
      const client = new LatchkeyClient({ baseUrl: s.base, key: device })
      await client.get('/api/v1/status')
      const w = await writeRecord(s.live, s.admin, 'site.revoke', {
        key: device.publicKey,
        cut: 0,
        reason: 'lost',
      })
      expect(w.rejection).toBeNull()
      await expect(client.get('/api/v1/status')).rejects.toMatchObject({
        code: 'LK_HTTP_KEY_NOT_ENROLLED',
        status: 403,
      })
    })
  })

  it('a key that was never enrolled is refused', async () => {
    await withSite(async (s) => {
      const stranger = new LatchkeyClient({ baseUrl: s.base, key: keyPairFromSeed(generateSeed()) })
      await expect(stranger.get('/api/v1/dapps/membership/members')).rejects.toMatchObject({
        code: 'LK_HTTP_KEY_NOT_ENROLLED',
        status: 403,
      })
    })
  })

  it('a device key cannot write an admin record: refused before signing, nothing stored', async () => {
    await withSite(async (s) => {
      const client = new LatchkeyClient({ baseUrl: s.base, key: s.device })
      const count = s.node.ledger!.count
      // s.device is the node's own key: nobody writes as it through the API, whatever the record
      // (another device key's admin record is refused by the rules: test/ledger-api.test.ts).
      await expect(client.appendRecord('membership.put', member('mallory'))).rejects.toMatchObject({
        code: 'LK_RECORD_NODE_KEY',
        status: 403,
      })
      expect(s.node.ledger!.view.get('membership/member/mallory')).toBeUndefined()
      expect(s.node.ledger!.count).toBe(count)
    })
  })

  it('a route for admins refuses a device key with 403', async () => {
    await withSite(async (s) => {
      const http = new HttpServer({
        host: '127.0.0.1',
        port: 0,
        log: quiet(),
        directory: () => s.node.ledger,
      })
      http.route('POST', '/admin-only', ({ caller }) => ({ caller }), { roles: ['admin'] })
      await http.ready()
      try {
        const base = `http://127.0.0.1:${http.address!.port}`
        const device = new LatchkeyClient({ baseUrl: base, key: s.device, site: s.site })
        await expect(device.post('/admin-only', {})).rejects.toMatchObject({
          code: 'LK_HTTP_FORBIDDEN',
          status: 403,
        })
        const admin = new LatchkeyClient({ baseUrl: base, key: s.admin, site: s.site })
        expect(await admin.post('/admin-only', {})).toEqual({ caller: { key: s.admin.id, role: 'admin' } })
      } finally {
        await http.close()
      }
    })
  })

  it('latchkey status signs with the node key of the data dir and shows the full status', async () => {
    await withSite(async (s) => {
      const r = await runCli(['status', '--json', '--url', s.base], { env: { LATCHKEY_DATA_DIR: s.dataDir } })
      expect(r.code).toBe(0)
      expect(JSON.parse(r.stdout)).toMatchObject({ node: { key: s.node.key!.id }, records: 2 })
      // Without a readable key of the site: the minimal status.
      const anon = await runCli(['status', '--json', '--url', s.base], {
        env: { LATCHKEY_DATA_DIR: tmpDir() },
      })
      expect(anon.code).toBe(0)
      expect(JSON.parse(anon.stdout)).toEqual({
        node: { name: 'latchkey' },
        site: { id: s.site },
        version: expect.any(String),
        ready: true,
      })
    })
  })

  it('bad JSON, another media type and an oversized body are 4xx with a code, never 500', async () => {
    await withSite(async (s) => {
      const f = signedFetch(s.admin)
      const url = `${s.base}/api/v1/ledger/submit`
      const bad = await f(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{nope',
      })
      expect(bad.status).toBe(400)
      expect((await errorOf(bad)).code).toBe('LK_HTTP_BAD_REQUEST')
      const text = await f(url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' })
      expect(text.status).toBe(415)
      expect((await errorOf(text)).code).toBe('LK_HTTP_MEDIA_TYPE')
      const big = await f(url, { method: 'POST', body: JSON.stringify({ wire: 'ab'.repeat(600_000) }) })
      expect(big.status).toBe(413)
      expect((await errorOf(big)).code).toBe('LK_HTTP_BODY_TOO_LARGE')
    })
  })
})

describe('site init', () => {
  it('a second local site init is refused', async () => {
    const config = configFor(tmpDir())
    await initSite({ config, log: quiet(), name: 'Once' })
    await expect(initSite({ config, log: quiet(), name: 'Twice' })).rejects.toMatchObject({
      code: 'LK_SITE_EXISTS',
    })
  })

  it('site init with a running node goes through it; the node reports the site at once', async () => {
    const dataDir = tmpDir()
    const config = configFor(dataDir)
    const node = new LatchkeyNode({ config, log: quiet() })
    await node.ready()
    try {
      const token = join(dataDir, 'setup.token')
      expect(statSync(token).mode & 0o777).toBe(0o600)
      const live = { ...config, http: { ...config.http, port: node.http!.address!.port } }
      const r = await initSite({ config: live, log: quiet(), name: 'Live Space' })
      expect(r.via).toBe('node')
      expect(node.status().site).toEqual({ id: r.site, name: 'Live Space' })
      expect(node.ledger!.roleOf(node.key!.id)).toBe('device')
      expect(r.node).toBe(node.key!.id)
      expect(existsSync(token)).toBe(false)
      // The node now serves its admin and refuses a second site, token or not.
      await expect(initSite({ config: live, log: quiet(), name: 'Again' })).rejects.toMatchObject({
        code: 'LK_SITE_EXISTS',
      })
      const res = await fetch(`http://127.0.0.1:${live.http.port}/api/v1/site/genesis`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ wire: '00' }),
      })
      expect(res.status).toBe(409)
      expect((await errorOf(res)).code).toBe('LK_SITE_EXISTS')
    } finally {
      await node.close()
    }
  })

  it('a remote site init without the setup token is refused', async () => {
    const node = new LatchkeyNode({ config: configFor(tmpDir()), log: quiet() })
    await node.ready()
    try {
      // Another data directory (another machine): no token to read.
      const elsewhere = configFor(tmpDir(), node.http!.address!.port)
      await expect(initSite({ config: elsewhere, log: quiet(), name: 'Stolen' })).rejects.toMatchObject({
        code: 'LK_HTTP_SETUP_TOKEN',
        status: 401,
      })
      expect(node.status().site).toBeNull()
    } finally {
      await node.close()
    }
  })
})

/** Sends a GET with the raw request target `rawPath` (fetch would normalise it) and these headers. */
function rawGet(base: string, rawPath: string, headers: Record<string, string>) {
  const { hostname, port } = new URL(base)
  return new Promise<{ status: number; body: { error?: { code?: string } } }>((resolve, reject) => {
    const req = request({ host: hostname, port, path: rawPath, method: 'GET', headers }, (res) => {
      let text = ''
      res.on('data', (d) => {
        text += d
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text || '{}') }))
    })
    req.on('error', reject)
    req.end()
  })
}

describe('HTTP API: the signed target is the routed target', () => {
  it.each([
    ['/api/v1/dapps/membership/members', '/api/v1/dapps/membership\\members'],
    ['/api/v1/status', '/api/v1/x/../status'],
    ['/api/v1/status', '/api/v1/./status'],
  ])('a request signed for %s and sent to %s is refused', async (signedPath, sentPath) => {
    await withSite(async (s) => {
      const headers = await signRequest({
        method: 'GET',
        url: `${s.base}${signedPath}`,
        key: s.admin,
        site: s.site,
        now: Date.now(),
      })
      const r = await rawGet(s.base, sentPath, headers)
      expect([r.status, r.body.error?.code]).toEqual([401, 'LK_HTTP_SIGNATURE_MALFORMED'])
    })
  })

  it('a CLI write while a node holds the data dir but cannot be reached is refused, not written behind it', async () => {
    const dataDir = tmpDir()
    const config = configFor(dataDir, 1) // port 1: nothing answers
    const init = await initSite({ config, log: quiet(), name: 'Held' })
    // Another live process holds the data dir's lock, as a running node does.
    const holder = spawnTracked('sleep', ['30'])
    writeFileSync(join(dataDir, 'node.lock'), String(holder.child.pid))
    await expect(
      writeRecord(config, adminKey(dataDir), 'membership.put', member('zoe')),
    ).rejects.toMatchObject({
      code: 'LK_DATA_DIR',
    })
    rmSync(join(dataDir, 'node.lock'))
    expect(init.via).toBe('file')
    const w = await writeRecord(config, adminKey(dataDir), 'membership.put', member('zoe'))
    expect(w.via).toBe('file')
  })
})

describe('HTTP API: nonces per key', () => {
  it('a key that signs more than its share is refused 429, and another key is not', async () => {
    const { RequestNonces } = await import('../runtime/http/signature.ts')
    const nonces = new RequestNonces(3)
    const now = 1_000_000
    for (const n of ['a', 'b', 'c']) expect(nonces.add('k1', n, now + 300_000, now)).toBe('ok')
    expect(nonces.add('k1', 'a', now + 300_000, now)).toBe('replay')
    expect(nonces.add('k1', 'd', now + 300_000, now)).toBe('full')
    expect(nonces.add('k2', 'a', now + 300_000, now)).toBe('ok')
    // Once the first nonces expire, the key has room again.
    expect(nonces.add('k1', 'd', now + 900_000, now + 400_000)).toBe('ok')
  })
})
