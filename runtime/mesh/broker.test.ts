import mqtt, { type MqttClient } from 'mqtt'
import { afterEach, describe, expect, it } from 'vitest'
import type { KeyPair } from '../core/keys.ts'
import type { Ledger } from '../core/ledger/ledger.ts'
import { toHex } from '../core/ledger/record.ts'
import {
  ADMIN,
  DEVICE,
  DEVICE2,
  openTestLedger,
  provision,
  silentLogger,
} from '../core/ledger/testing/fixtures.ts'
import { makeToken } from './auth.ts'
import { bridgePrefix, EmbeddedBroker, nodePrefix, sitePrefix } from './broker.ts'

const T0 = 1_800_000_000_000
const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

interface Setup {
  ledger: Ledger
  broker: EmbeddedBroker
  port: number
  siteHex: string
  clock: { now: number }
}

async function setup(
  opts: {
    rate?: { perSecond: number; burst: number }
    maxPayloadBytes?: number
    bridges?: { name: string; password: string; rate?: { perSecond: number; burst: number } }[]
  } = {},
) {
  const ledger = await openTestLedger()
  cleanups.push(() => ledger.close())
  await provision(ledger)
  const clock = { now: T0 }
  const broker = new EmbeddedBroker({
    host: '127.0.0.1',
    port: 0,
    log: silentLogger(),
    directory: () => ledger,
    now: () => clock.now,
    ...opts,
  })
  await broker.ready()
  cleanups.push(() => broker.close())
  return { ledger, broker, port: broker.address!.port, siteHex: toHex(ledger.site!), clock } satisfies Setup
}

function connect(
  s: Setup,
  creds: { username?: string; password?: string; clientId?: string },
): Promise<{ client: MqttClient; error: Error | null }> {
  const client = mqtt.connect(`mqtt://127.0.0.1:${s.port}`, {
    reconnectPeriod: 0,
    connectTimeout: 3000,
    protocolVersion: 4,
    ...creds,
  })
  cleanups.push(() => new Promise<void>((resolve) => client.end(true, {}, () => resolve())))
  return new Promise((resolve) => {
    client.once('connect', () => resolve({ client, error: null }))
    client.once('error', (error) => resolve({ client, error }))
  })
}

const as = (key: KeyPair, s: Setup, extra: { clientId?: string; password?: string } = {}) => ({
  username: key.id,
  password: makeToken(key, s.ledger.site!, s.clock.now),
  clientId: key.id,
  ...extra,
})

const closed = (client: MqttClient) =>
  new Promise<void>((resolve) =>
    client.disconnected || !client.connected ? resolve() : client.once('close', () => resolve()),
  )

describe('embedded broker authentication', () => {
  it('refuses a client without credentials', async () => {
    const s = await setup()
    const { error } = await connect(s, {})
    expect(error?.message).toMatch(/Not authorized/i)
    expect(s.broker.refused.unauthenticated).toBe(1)
  })

  it('refuses every client when it has no key directory', async () => {
    const broker = new EmbeddedBroker({ host: '127.0.0.1', port: 0, log: silentLogger() })
    await broker.ready()
    cleanups.push(() => broker.close())
    const s = { port: broker.address!.port } as Setup
    const ledger = await openTestLedger()
    cleanups.push(() => ledger.close())
    await provision(ledger)
    const { error } = await connect(s, {
      username: DEVICE.id,
      password: makeToken(DEVICE, ledger.site!, Date.now()),
      clientId: DEVICE.id,
    })
    expect(error?.message).toMatch(/Not authorized/i)
    expect(broker.refused.unauthenticated).toBe(1)
  })

  it('refuses forged, stale, replayed, foreign-site and not-enrolled tokens, each counted', async () => {
    const s = await setup()
    // forged: signed by DEVICE2, presented as DEVICE
    const forged = await connect(s, as(DEVICE, s, { password: makeToken(DEVICE2, s.ledger.site!, T0) }))
    expect(forged.error?.message).toMatch(/Not authorized/i)
    // stale: issued 6 minutes before the broker's clock
    const stale = await connect(
      s,
      as(DEVICE, s, { password: makeToken(DEVICE, s.ledger.site!, T0 - 6 * 60_000) }),
    )
    expect(stale.error?.message).toMatch(/Not authorized/i)
    // another site
    const foreign = await connect(
      s,
      as(DEVICE, s, { password: makeToken(DEVICE, new Uint8Array(32).fill(9), T0) }),
    )
    expect(foreign.error?.message).toMatch(/Not authorized/i)
    // not enrolled
    const stranger = await connect(s, as(DEVICE2, s))
    expect(stranger.error?.message).toMatch(/Not authorized/i)
    // replay: the same token twice
    const token = as(DEVICE, s)
    const first = await connect(s, token)
    expect(first.error).toBeNull()
    first.client.end(true)
    const replay = await connect(s, token)
    expect(replay.error?.message).toMatch(/Not authorized/i)
    // garbage
    const garbage = await connect(s, as(DEVICE, s, { password: 'v1.nope' }))
    expect(garbage.error?.message).toMatch(/Not authorized/i)
    // a valid token, but a client id that is not the key's
    const borrowed = await connect(s, as(DEVICE, s, { clientId: 'someone-else' }))
    expect(borrowed.error?.message).toMatch(/Not authorized/i)
    expect(s.broker.refused).toMatchObject({
      'bad-signature': 1,
      stale: 1,
      'wrong-site': 1,
      'not-enrolled': 1,
      replay: 1,
      malformed: 1,
      'client-id': 1,
      unauthenticated: 0,
    })
  })
})

describe('embedded broker topics', () => {
  it('lets an enrolled device publish under its own prefix and subscribe under the site', async () => {
    const s = await setup()
    const sub = await connect(s, as(DEVICE, s, { clientId: `${DEVICE.id}-sub` }))
    expect(sub.error).toBeNull()
    const granted = await sub.client.subscribeAsync(`latchkey/${s.siteHex}/#`, { qos: 1 })
    expect(granted[0]!.qos).toBe(1)
    const got = new Promise<[string, string]>((resolve) =>
      sub.client.once('message', (topic, payload) => resolve([topic, payload.toString()])),
    )
    const pub = await connect(s, as(DEVICE, s))
    expect(pub.error).toBeNull()
    const topic = `${nodePrefix(s.siteHex, DEVICE.id)}status`
    await pub.client.publishAsync(topic, 'up', { qos: 1 })
    expect(await got).toEqual([topic, 'up'])
    expect(Object.values(s.broker.refused).every((n) => n === 0)).toBe(true)
  })

  it('refuses subscriptions outside the site prefix with SUBACK 0x80', async () => {
    const s = await setup()
    const { client } = await connect(s, as(DEVICE, s))
    const err = await client
      .subscribeAsync(['#', '$SYS/#', `latchkey/${'0'.repeat(64)}/#`, `latchkey/${s.siteHex}/node/+/status`])
      .then(
        () => null,
        (e: { packet: { granted: number[] } }) => e,
      )
    // mqtt.js reports a SUBACK carrying any 0x80 as an error, with the packet
    expect(err?.packet.granted).toEqual([128, 128, 128, 0])
    expect(client.connected).toBe(true)
    expect(s.broker.refused['outside-prefix']).toBe(3)
  })

  it('drops a device that publishes outside its prefix', async () => {
    const s = await setup()
    const { client } = await connect(s, as(DEVICE, s))
    const gone = closed(client)
    client.publish(`${nodePrefix(s.siteHex, ADMIN.id)}status`, 'spoof', { qos: 1 })
    await gone
    expect(s.broker.refused['outside-prefix']).toBe(1)
    const sys = await connect(s, as(DEVICE, s))
    const sysGone = closed(sys.client)
    sys.client.publish('$SYS/x', 'y', { qos: 1 })
    await sysGone
    expect(s.broker.refused['outside-prefix']).toBe(2)
  })

  it('drops a publisher over the size limit or the rate limit', async () => {
    const s = await setup({ maxPayloadBytes: 16, rate: { perSecond: 1, burst: 3 } })
    const topic = `${nodePrefix(s.siteHex, DEVICE.id)}t`
    const big = await connect(s, as(DEVICE, s))
    const bigGone = closed(big.client)
    big.client.publish(topic, Buffer.alloc(17), { qos: 1 })
    await bigGone
    expect(s.broker.refused.oversize).toBe(1)

    const fast = await connect(s, as(DEVICE, s))
    for (let i = 0; i < 3; i++) await fast.client.publishAsync(topic, 'x', { qos: 1 })
    const fastGone = closed(fast.client)
    fast.client.publish(topic, 'x', { qos: 1 }) // 4th within the same instant: bucket empty
    await fastGone
    expect(s.broker.refused.rate).toBe(1)

    // the bucket refills with the broker clock
    const slow = await connect(s, as(DEVICE, s))
    for (let i = 0; i < 5; i++) {
      await slow.client.publishAsync(topic, 'x', { qos: 1 })
      s.clock.now += 1000
    }
    expect(s.broker.refused.rate).toBe(1)
  })
})

describe('embedded broker revocation', () => {
  it('revalidate() drops the sessions of a revoked key, and it cannot reconnect', async () => {
    const s = await setup()
    const device = await connect(s, as(DEVICE, s))
    expect(device.error).toBeNull()
    const admin = await connect(s, as(ADMIN, s))
    expect(admin.error).toBeNull()
    expect(s.broker.revalidate()).toBe(0)

    const r = await s.ledger.append('site.revoke', { key: DEVICE.publicKey, cut: 0, reason: 'lost' }, ADMIN)
    expect(r.rejection).toBeFalsy()
    const gone = closed(device.client)
    expect(s.broker.revalidate()).toBe(1)
    await gone
    expect(s.broker.refused.revoked).toBe(1)
    expect(admin.client.connected).toBe(true)

    const again = await connect(s, as(DEVICE, s))
    expect(again.error?.message).toMatch(/Not authorized/i)
    expect(s.broker.refused['not-enrolled']).toBe(1)
    expect(s.broker.revalidate()).toBe(0)
  })
})

describe('embedded broker bridge role', () => {
  const BRIDGE = { name: 'site-mosquitto', password: 'a-long-bridge-password' }
  const asBridge = (extra: { clientId?: string; password?: string } = {}) => ({
    username: BRIDGE.name,
    password: BRIDGE.password,
    clientId: `${BRIDGE.name}-1`,
    ...extra,
  })

  it('is closed unless configured: a bridge name with any password is not a key', async () => {
    const s = await setup()
    const { error } = await connect(s, asBridge())
    expect(error).not.toBeNull()
    expect(s.broker.refused.malformed).toBe(1)
  })

  it('refuses a wrong password (bad-password) and a foreign client id (client-id)', async () => {
    const s = await setup({ bridges: [BRIDGE] })
    const wrong = await connect(s, asBridge({ password: `${BRIDGE.password}x` }))
    expect(wrong.error).not.toBeNull()
    expect(s.broker.refused['bad-password']).toBe(1)
    const id = await connect(s, asBridge({ clientId: DEVICE.id }))
    expect(id.error).not.toBeNull()
    expect(s.broker.refused['client-id']).toBe(1)
  })

  it('relays any node topic and its own state, subscribes under the site, survives revalidate()', async () => {
    const s = await setup({ bridges: [BRIDGE] })
    const bridge = await connect(s, asBridge())
    expect(bridge.error).toBeNull()
    await bridge.client.publishAsync(`${nodePrefix(s.siteHex, ADMIN.id)}summary`, 'x', { qos: 1 })
    await bridge.client.publishAsync(`${nodePrefix(s.siteHex, DEVICE2.id)}live`, 'x', { qos: 1 })
    await bridge.client.publishAsync(`${bridgePrefix(s.siteHex, BRIDGE.name)}state`, '1', { qos: 1 })
    const granted = await bridge.client.subscribeAsync(`${sitePrefix(s.siteHex)}#`, { qos: 1 })
    expect(granted[0]!.qos).toBe(1)
    expect(s.broker.revalidate()).toBe(0)
    expect(bridge.client.connected).toBe(true)
    expect(Object.values(s.broker.refused).every((n) => n === 0)).toBe(true)
  })

  it('drops a bridge that publishes to $SYS, another bridge state or another site', async () => {
    const s = await setup({ bridges: [BRIDGE] })
    const topics = [
      `$SYS/broker/connection/${BRIDGE.name}-1/state`,
      `${bridgePrefix(s.siteHex, 'other')}state`,
      `latchkey/${'0'.repeat(64)}/node/${DEVICE.id}/live`,
      `${sitePrefix(s.siteHex)}node/`,
    ]
    for (const [i, topic] of topics.entries()) {
      const { client } = await connect(s, asBridge())
      const gone = closed(client)
      client.publish(topic, '1', { qos: 1 })
      await gone
      expect(s.broker.refused['outside-prefix']).toBe(i + 1)
    }
  })

  it('has its own rate limit, separate from the per-client one', async () => {
    const s = await setup({
      rate: { perSecond: 1, burst: 1 },
      bridges: [{ ...BRIDGE, rate: { perSecond: 1, burst: 3 } }],
    })
    const topic = `${nodePrefix(s.siteHex, DEVICE.id)}live`
    const { client } = await connect(s, asBridge())
    for (let i = 0; i < 3; i++) await client.publishAsync(topic, 'x', { qos: 1 })
    expect(s.broker.refused.rate).toBe(0)
    const gone = closed(client)
    client.publish(topic, 'x', { qos: 1 })
    await gone
    expect(s.broker.refused.rate).toBe(1)
  })
})
