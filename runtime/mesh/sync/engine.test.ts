/** The dispatcher on an in-memory client and a fake clock: error handling and timers. */
import { EventEmitter } from 'node:events'
import type { MqttClient } from 'mqtt'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { FakeClock } from '../../core/clock.ts'
import { LatchkeyError } from '../../core/errors.ts'
import type { Ledger } from '../../core/ledger/ledger.ts'
import { toHex } from '../../core/ledger/record.ts'
import { ADMIN, DEVICE, openTestLedger, provision, silentLogger } from '../../core/ledger/testing/fixtures.ts'
import { SyncEngine } from '../sync.ts'
import { decodeRequest, encodeBatch, encodeSummary, requestTopic, summaryTopic } from '../sync-messages.ts'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  vi.restoreAllMocks()
  for (const c of cleanups.splice(0).reverse()) await c()
})

/** An MQTT client in memory: connected, records what is published. */
class MemoryClient extends EventEmitter {
  connected = true
  published: Array<{ topic: string; payload: Buffer }> = []
  subscribe(_topics: string[], _opts: unknown, cb?: (err: Error | null) => void): void {
    cb?.(null)
  }
  publish(topic: string, payload: Buffer): void {
    this.published.push({ topic, payload })
  }
}

async function setup(): Promise<{
  ledger: Ledger
  engine: SyncEngine
  client: MemoryClient
  clock: FakeClock
}> {
  const ledger = await openTestLedger()
  cleanups.push(() => ledger.close())
  await provision(ledger)
  const clock = new FakeClock(1000)
  const engine = new SyncEngine({ ledger, key: DEVICE, log: silentLogger(), clock, requestTimeoutMs: 1000 })
  await engine.ready()
  cleanups.push(() => engine.close())
  const client = new MemoryClient()
  engine.attach(client as unknown as MqttClient, 'mem')
  return { ledger, engine, client, clock }
}

/** ADMIN's signed summary, claiming more of ADMIN's records than the ledger holds. */
function adminSummary(ledger: Ledger): { topic: string; payload: Buffer } {
  const site = toHex(ledger.site!)
  const payload = encodeSummary(
    {
      node: ADMIN.publicKey,
      heads: [[ADMIN.publicKey, 99, new Uint8Array(32)]],
      count: 99,
      stateHash: 'x',
      at: 1,
    },
    ADMIN,
  )
  return { topic: summaryTopic(site, ADMIN.id), payload: Buffer.from(payload) }
}

describe('sync dispatcher', () => {
  it('does not swallow a programmer error thrown in a handler', async () => {
    const { ledger, engine, client } = await setup()
    vi.spyOn(ledger, 'roleOf').mockImplementation(() => {
      throw new TypeError('a bug in the ledger')
    })
    const { topic, payload } = adminSummary(ledger)
    expect(() => client.emit('message', topic, payload)).toThrow(TypeError)
    expect(engine.counters.errors).toBe(0)
  })

  it('drops a malformed peer message with a counted reason, and keeps serving', async () => {
    const { ledger, engine, client } = await setup()
    const site = toHex(ledger.site!)
    const garbage = Buffer.from([0xff, 0x00, 0x13])
    expect(() => client.emit('message', summaryTopic(site, ADMIN.id), garbage)).not.toThrow()
    expect(() => client.emit('message', `latchkey/${site}/node/${ADMIN.id}/live`, garbage)).not.toThrow()
    expect(() =>
      client.emit(
        'message',
        `latchkey/${site}/node/${ADMIN.id}/live`,
        Buffer.from(encodeBatch([]).subarray(1)),
      ),
    ).not.toThrow()
    expect(engine.counters.badSummary).toBe(1)
    expect(engine.counters.badPayload).toBe(2)
    expect(engine.counters.errors).toBe(0)
    const { topic, payload } = adminSummary(ledger)
    client.emit('message', topic, payload)
    expect(engine.counters.requestsSent).toBe(1)
  })

  it('counts and logs an operational error in a handler, and does not throw', async () => {
    const { ledger, engine, client } = await setup()
    vi.spyOn(ledger, 'roleOf').mockImplementation(() => {
      throw new LatchkeyError('LK_TEST_DISK', 'operational', 'the disk went away')
    })
    const { topic, payload } = adminSummary(ledger)
    expect(() => client.emit('message', topic, payload)).not.toThrow()
    expect(engine.counters.errors).toBe(1)
  })

  it('asks again when a request goes unanswered for requestTimeoutMs of the injected clock', async () => {
    const { ledger, engine, client, clock } = await setup()
    const site = toHex(ledger.site!)
    const { topic, payload } = adminSummary(ledger)
    client.emit('message', topic, payload)
    const asked = client.published.filter((m) => m.topic === requestTopic(site, DEVICE.id, ADMIN.id))
    expect(asked).toHaveLength(1)
    const req = decodeRequest(new Uint8Array(asked[0]!.payload))
    expect(toHex(req.from[0]![0])).toBe(ADMIN.id)
    clock.advance(999)
    expect(engine.counters.requestTimeouts).toBe(0)
    clock.advance(1)
    expect(engine.counters.requestTimeouts).toBe(1)
    expect(engine.counters.requestsSent).toBe(2)
  })
})
