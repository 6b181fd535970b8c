import { type AddressInfo, connect, createServer, type Socket } from 'node:net'
import mqtt, { type MqttClient } from 'mqtt'
import { afterEach, describe, expect, it } from 'vitest'
import type { KeyPair } from '../core/keys.ts'
import type { Ledger } from '../core/ledger/ledger.ts'
import { toHex, wireBytes } from '../core/ledger/record.ts'
import {
  ADMIN,
  DEVICE,
  DEVICE2,
  openTestLedger,
  provision,
  silentLogger,
  testKey,
} from '../core/ledger/testing/fixtures.ts'
import { makeToken } from './auth.ts'
import { DEFAULT_MAX_PAYLOAD_BYTES, EmbeddedBroker } from './broker.ts'
import { PeerLink } from './link.ts'
import { SyncEngine, type SyncEngineOptions } from './sync.ts'
import {
  decodeBatch,
  decodeRequest,
  decodeSummary,
  encodeBatch,
  encodeRequest,
  encodeSummary,
  parseSyncTopic,
  verifySummary,
} from './sync-messages.ts'

const INTRUDER = testKey(7)
const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})
const POLL = { timeout: 8000, interval: 20 }

/** Every record of `from`, in wire form, in (author, seq) order. */
function allWires(from: Ledger): Uint8Array[] {
  const out: Uint8Array[] = []
  for (const [author, h] of from.heads())
    for (const r of from.query.range(author, 1, h.seq)) out.push(wireBytes(r))
  return out
}

async function ledgerPair(): Promise<{ a: Ledger; b: Ledger }> {
  const a = await openTestLedger()
  cleanups.push(() => a.close())
  await provision(a)
  for (const [key, name] of [
    [DEVICE2, 'door-2'],
    [INTRUDER, 'tool-7'],
  ] as const) {
    const r = await a.append('site.enrol', { key: key.publicKey, role: 'device', name }, ADMIN)
    if (r.rejection) throw new Error(r.rejection.detail)
  }
  const b = await openTestLedger()
  cleanups.push(() => b.close())
  const report = b.ingest(allWires(a))
  expect(report.accepted).toBe(a.count)
  return { a, b }
}

async function startBroker(directory: Ledger): Promise<EmbeddedBroker> {
  const broker = new EmbeddedBroker({
    host: '127.0.0.1',
    port: 0,
    log: silentLogger(),
    directory: () => directory,
    // larger than the engines' limit, so that the engines' own size check is exercised
    maxPayloadBytes: 1024 * 1024,
  })
  await broker.ready()
  cleanups.push(() => broker.close())
  return broker
}

async function node(
  ledger: Ledger,
  key: KeyPair,
  port: number,
  name: string,
  opts: Partial<SyncEngineOptions> = {},
) {
  const engine = new SyncEngine({ ledger, key, log: silentLogger(), requestTimeoutMs: 1000, ...opts })
  await engine.ready()
  cleanups.push(() => engine.close())
  const link = new PeerLink({
    url: `mqtt://127.0.0.1:${port}`,
    name,
    engine,
    key,
    site: () => ledger.site,
    log: silentLogger(),
    minBackoffMs: 50,
    maxBackoffMs: 200,
  })
  await link.ready()
  cleanups.push(() => link.close())
  return { engine, link }
}

function put(ledger: Ledger, signer: KeyPair, n: number, prefix: string) {
  return Promise.all(
    Array.from({ length: n }, (_, i) => ledger.append('test.put', { k: `${prefix}${i % 50}`, v: i }, signer)),
  )
}

/** A TCP relay to the broker that can drop its connections and refuse new ones. */
async function tcpProxy(target: number) {
  const sockets = new Set<Socket>()
  let down = false
  const server = createServer((inbound) => {
    if (down) return void inbound.destroy()
    const outbound = connect(target, '127.0.0.1')
    for (const [x, y] of [
      [inbound, outbound],
      [outbound, inbound],
    ] as const) {
      sockets.add(x)
      x.pipe(y)
      x.on('error', () => y.destroy())
      x.on('close', () => {
        sockets.delete(x)
        y.destroy()
      })
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  cleanups.push(async () => {
    for (const s of sockets) s.destroy()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })
  return {
    port: (server.address() as AddressInfo).port,
    cut() {
      down = true
      for (const s of sockets) s.destroy()
    },
    heal() {
      down = false
    },
  }
}

const same = (a: Ledger, b: Ledger) => () => [b.count === a.count, b.stateHash === a.stateHash]

describe('sync messages', () => {
  it('round-trips and signs summaries, requests and batches; refuses bad shapes', () => {
    const body = {
      node: DEVICE.publicKey,
      heads: [[ADMIN.publicKey, 3, new Uint8Array(32).fill(1)]] as Array<[Uint8Array, number, Uint8Array]>,
      count: 3,
      stateHash: 'ab',
      at: 5,
    }
    const s = decodeSummary(encodeSummary(body, DEVICE))
    expect(verifySummary(s)).toBe(true)
    expect(verifySummary({ ...s, count: 4 })).toBe(false)
    expect(decodeRequest(encodeRequest({ from: [[ADMIN.publicKey, 2]], limit: 10 })).limit).toBe(10)
    expect(decodeBatch(encodeBatch([new Uint8Array([1, 2])])).records).toHaveLength(1)
    expect(() => decodeRequest(encodeRequest({ from: [[ADMIN.publicKey, 0]], limit: 10 }))).toThrow()
    expect(() => decodeBatch(new Uint8Array([0xff, 0x00]))).toThrow()
    expect(() => decodeSummary(encodeBatch([]))).toThrow()
    const site = 'a'.repeat(64)
    expect(parseSyncTopic(site, `latchkey/${site}/node/${DEVICE.id}/req/${ADMIN.id}`)).toEqual({
      node: DEVICE.id,
      kind: 'req',
      to: ADMIN.id,
    })
    expect(parseSyncTopic(site, `latchkey/${site}/node/${DEVICE.id}/req`)).toBeNull()
    expect(parseSyncTopic(site, `latchkey/${site}/node/xyz/summary`)).toBeNull()
  })
})

describe('sync over a real broker', () => {
  it('catches up 2,000 records, then follows live appends', async () => {
    const { a, b } = await ledgerPair()
    await put(a, DEVICE, 2000, 'k')
    expect(a.count).toBeGreaterThan(2000)
    const broker = await startBroker(a)
    const port = broker.address!.port
    const nodeA = await node(a, DEVICE, port, 'hub')
    const nodeB = await node(b, DEVICE2, port, 'hub')
    await expect.poll(same(a, b), POLL).toEqual([true, true])
    expect(nodeB.engine.counters.acceptedRecords).toBe(2000)
    expect(nodeB.engine.counters.requestsSent).toBeGreaterThan(1) // batched
    expect(nodeA.engine.counters.batchesSent).toBe(nodeB.engine.counters.requestsSent)
    await expect
      .poll(() => nodeB.engine.peers().find((p) => p.key === DEVICE.id), POLL)
      .toMatchObject({ name: 'hub', connected: true, lag: 0 })
    // The catch-up over, the engine writes the record_ids rows the relayed records left.
    await expect.poll(() => b.relay().idsBehind, POLL).toBe(0)
    expect(b.query.indexedIds()).toBe(b.count)

    // live: pushed as appended, no request needed
    const requests = nodeB.engine.counters.requestsSent
    await put(a, DEVICE, 10, 'live')
    await expect.poll(same(a, b), POLL).toEqual([true, true])
    expect(nodeA.engine.counters.liveSent).toBeGreaterThan(0)
    expect(nodeB.engine.counters.requestsSent).toBe(requests)
    // and the other way
    await put(b, DEVICE2, 5, 'b')
    await expect.poll(same(b, a), POLL).toEqual([true, true])
    expect(Object.values(broker.refused).every((n) => n === 0)).toBe(true)
    expect(nodeA.engine.counters.errors + nodeB.engine.counters.errors).toBe(0)
  })

  it('converges after a partition: link drops, both sides write, link heals', async () => {
    const { a, b } = await ledgerPair()
    const broker = await startBroker(a)
    const port = broker.address!.port
    const proxy = await tcpProxy(port)
    const nodeA = await node(a, DEVICE, port, 'hub')
    const nodeB = await node(b, DEVICE2, proxy.port, 'hub')
    await put(a, DEVICE, 20, 'x')
    await expect.poll(same(a, b), POLL).toEqual([true, true])

    proxy.cut()
    await expect.poll(() => nodeB.link.connected, POLL).toBe(false)
    // B's will cleared its retained summary: A sees it gone
    await expect
      .poll(() => nodeA.engine.peers().find((p) => p.key === DEVICE2.id)?.connected, POLL)
      .toBe(false)
    // both sides write, to the same keys: the fold must still agree afterwards
    await put(a, DEVICE, 30, 'x')
    await put(b, DEVICE2, 40, 'x')
    expect(a.stateHash).not.toBe(b.stateHash)
    await new Promise((r) => setTimeout(r, 300)) // a few refused reconnect attempts

    proxy.heal()
    await expect.poll(() => nodeB.link.connected, POLL).toBe(true)
    await expect.poll(same(a, b), POLL).toEqual([true, true])
    expect(nodeB.link.stats.connects).toBeGreaterThanOrEqual(2)
    expect(nodeB.link.stats.attempts).toBeGreaterThan(nodeB.link.stats.connects)
    await expect
      .poll(() => nodeA.engine.peers().find((p) => p.key === DEVICE2.id), POLL)
      .toMatchObject({ connected: true, lag: 0 })
    expect(nodeA.engine.counters.errors + nodeB.engine.counters.errors).toBe(0)
    // every reconnect used a fresh token: no replay refusals
    expect(broker.refused.replay).toBe(0)
  })

  it('refuses or ignores bad input with counted reasons and keeps serving', async () => {
    const { a, b } = await ledgerPair()
    await put(a, DEVICE, 50, 'k')
    const broker = await startBroker(a)
    const port = broker.address!.port
    // A tight request limit of its own: the flood below must overrun it whatever the default.
    const nodeA = await node(a, DEVICE, port, 'hub', { requestRate: { perSecond: 20, burst: 40 } })
    const nodeB = await node(b, DEVICE2, port, 'hub')
    await expect.poll(same(a, b), POLL).toEqual([true, true])
    const before = { count: a.count, hash: a.stateHash }

    // A valid record by INTRUDER, signed, then with its signature tampered with.
    const scratch = await openTestLedger()
    cleanups.push(() => scratch.close())
    scratch.ingest(allWires(a))
    const forged = wireBytes((await scratch.append('test.put', { k: 'evil', v: 1 }, INTRUDER)).record)
    forged[5]! ^= 0xff

    const siteHex = toHex(a.site!)
    const me = `latchkey/${siteHex}/node/${INTRUDER.id}`
    const intruder: MqttClient = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
      protocolVersion: 4,
      reconnectPeriod: 0,
      clientId: INTRUDER.id,
      username: INTRUDER.id,
      password: makeToken(INTRUDER, a.site!, Date.now()),
    })
    cleanups.push(() => new Promise<void>((resolve) => intruder.end(true, {}, () => resolve())))
    await new Promise<void>((resolve, reject) => {
      intruder.once('connect', () => resolve())
      intruder.once('error', reject)
    })
    const pub = (topic: string, payload: Uint8Array) =>
      intruder.publishAsync(`${me}/${topic}`, Buffer.from(payload), { qos: 1 })

    await pub('live', new TextEncoder().encode('garbage'))
    await pub('live', new Uint8Array(DEFAULT_MAX_PAYLOAD_BYTES - 8 * 1024)) // under the broker's limit, over the engine's
    const badSummary = encodeSummary(
      { node: INTRUDER.publicKey, heads: [], count: 0, stateHash: 'x', at: Date.now() },
      ADMIN, // wrong key
    )
    await pub('summary', badSummary)
    await pub(`batch/${DEVICE2.id}`, encodeBatch([forged]))
    const nowhere = encodeRequest({ from: [[new Uint8Array(32).fill(7), 1]], limit: 1000 })
    for (let i = 0; i < 100; i++) await pub(`req/${DEVICE.id}`, nowhere)

    for (const engine of [nodeA.engine, nodeB.engine])
      await expect
        .poll(() => engine.counters, POLL)
        .toMatchObject({ badPayload: 1, oversize: 1, badSummary: 1 })
    await expect.poll(() => nodeB.engine.counters.refusedRecords, POLL).toBe(1)
    await expect
      .poll(() => nodeA.engine.counters.floodedRequests + nodeA.engine.counters.emptyRequests, POLL)
      .toBe(100)
    expect(nodeA.engine.counters.floodedRequests).toBeGreaterThanOrEqual(50)
    expect(nodeA.engine.counters.emptyRequests).toBeGreaterThan(0)
    expect([a.count, a.stateHash]).toEqual([before.count, before.hash])
    expect([b.count, b.stateHash]).toEqual([before.count, before.hash])

    // still serving: a new record travels
    await put(a, DEVICE, 3, 'after')
    await expect.poll(same(a, b), POLL).toEqual([true, true])
    expect(nodeA.engine.counters.errors + nodeB.engine.counters.errors).toBe(0)
    expect(intruder.connected).toBe(true)
  })

  it('drops batches beyond its ingest queue (counted) and still converges', async () => {
    const { a, b } = await ledgerPair()
    await put(a, DEVICE, 300, 'q')
    const broker = await startBroker(a)
    const port = broker.address!.port
    // B ingests from a queue of one message; an intruder floods it with (valid, duplicate) batches
    const nodeB = await node(b, DEVICE2, port, 'hub', { queueLimit: 1, batchRecords: 50 })
    const intruder: MqttClient = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
      protocolVersion: 4,
      reconnectPeriod: 0,
      clientId: INTRUDER.id,
      username: INTRUDER.id,
      password: makeToken(INTRUDER, a.site!, Date.now()),
    })
    cleanups.push(() => new Promise<void>((resolve) => intruder.end(true, {}, () => resolve())))
    await new Promise<void>((resolve) => intruder.once('connect', () => resolve()))
    const site = b.site!
    const payload = Buffer.from(encodeBatch(allWires(b).slice(0, 3)))
    await Promise.all(
      Array.from({ length: 30 }, () =>
        intruder.publishAsync(`latchkey/${toHex(site)}/node/${INTRUDER.id}/live`, payload, { qos: 1 }),
      ),
    )
    await expect.poll(() => nodeB.engine.counters.droppedMessages, POLL).toBeGreaterThan(0)
    await node(a, DEVICE, port, 'hub')
    await expect.poll(same(a, b), POLL).toEqual([true, true])
    expect(nodeB.engine.counters.acceptedRecords).toBe(300)
    expect(nodeB.engine.counters.errors).toBe(0)
  })
})
