import { afterEach, describe, expect, it } from 'vitest'
import type { Ledger } from '../core/ledger/ledger.ts'
import { ADMIN, DEVICE, DEVICE2, openTestLedger, provision } from '../core/ledger/testing/fixtures.ts'
import { checkToken, MAX_SKEW_MS, makeToken, NonceCache, tokenMessage } from './auth.ts'

const T0 = 1_800_000_000_000
const ledgers: Ledger[] = []
afterEach(async () => {
  for (const l of ledgers.splice(0)) await l.close()
})

async function site(): Promise<Ledger> {
  const l = await openTestLedger()
  ledgers.push(l)
  await provision(l)
  return l
}

describe('mqtt auth tokens', () => {
  it('accepts a fresh token of an enrolled key once, then refuses its replay', async () => {
    const l = await site()
    const nonces = new NonceCache()
    const password = makeToken(DEVICE, l.site!, T0)
    expect(password).toMatch(/^v1\.[0-9a-f]{64}\.1800000000000\.[0-9a-f]{32}\.[0-9a-f]{128}$/)
    const input = {
      username: DEVICE.id,
      password: Buffer.from(password),
      directory: l,
      nonces,
      now: T0 + 1000,
    }
    expect(checkToken(input)).toEqual({ ok: true, keyHex: DEVICE.id, role: 'device' })
    expect(checkToken(input)).toEqual({ ok: false, reason: 'replay' })
    // a second fresh token of the same key is fine
    expect(checkToken({ ...input, password: makeToken(DEVICE, l.site!, T0) }).ok).toBe(true)
  })

  it('refuses with a stable reason for each failure', async () => {
    const l = await site()
    const nonces = new NonceCache()
    const check = (username: string | undefined, password: string | undefined, now = T0) =>
      checkToken({ username, password, directory: l, nonces, now })
    const good = makeToken(DEVICE, l.site!, T0)
    expect(check(undefined, undefined)).toEqual({ ok: false, reason: 'unauthenticated' })
    expect(check(DEVICE.id, '')).toEqual({ ok: false, reason: 'unauthenticated' })
    expect(check(DEVICE.id, 'hello')).toEqual({ ok: false, reason: 'malformed' })
    expect(check(DEVICE.id.toUpperCase(), good)).toEqual({ ok: false, reason: 'malformed' })
    expect(check(DEVICE.id, `${good}0`)).toEqual({ ok: false, reason: 'malformed' })
    expect(check(DEVICE.id, good.replace('.1800000000000.', '.01800000000000.'))).toEqual({
      ok: false,
      reason: 'malformed',
    })
    expect(check(DEVICE.id, makeToken(DEVICE, new Uint8Array(32).fill(7), T0))).toEqual({
      ok: false,
      reason: 'wrong-site',
    })
    expect(check(DEVICE.id, good, T0 + MAX_SKEW_MS + 1)).toEqual({ ok: false, reason: 'stale' })
    expect(check(DEVICE.id, good, T0 - MAX_SKEW_MS - 1)).toEqual({ ok: false, reason: 'stale' })
    // signed by another key, presented as DEVICE
    expect(check(DEVICE.id, makeToken(DEVICE2, l.site!, T0))).toEqual({ ok: false, reason: 'bad-signature' })
    // a valid token of a key this site never enrolled
    expect(check(DEVICE2.id, makeToken(DEVICE2, l.site!, T0))).toEqual({ ok: false, reason: 'not-enrolled' })
    // edge of the window is still fresh
    expect(check(DEVICE.id, good, T0 + MAX_SKEW_MS).ok).toBe(true)
  })

  it('refuses a revoked key', async () => {
    const l = await site()
    const r = await l.append('site.revoke', { key: DEVICE.publicKey, cut: 0, reason: 'lost' }, ADMIN)
    expect(r.rejection).toBeFalsy()
    const res = checkToken({
      username: DEVICE.id,
      password: makeToken(DEVICE, l.site!, T0),
      directory: l,
      nonces: new NonceCache(),
      now: T0,
    })
    expect(res).toEqual({ ok: false, reason: 'not-enrolled' })
  })

  it('signs the documented byte layout', () => {
    const site = new Uint8Array(32).fill(0xaa)
    const nonce = new Uint8Array(16).fill(0xbb)
    const msg = tokenMessage(site, DEVICE.publicKey, 0x0102030405, nonce)
    const domain = 'latchkey/mqtt-auth/v1\0'
    expect(msg.length).toBe(domain.length + 32 + 32 + 8 + 16)
    expect(Buffer.from(msg.subarray(0, domain.length)).toString('latin1')).toBe(domain)
    expect(Buffer.from(msg.subarray(86, 94)).toString('hex')).toBe('0000000102030405')
    // deterministic with a given nonce (Ed25519 is deterministic)
    expect(makeToken(DEVICE, site, 5, nonce)).toBe(makeToken(DEVICE, site, 5, nonce))
  })
})

describe('NonceCache', () => {
  it('forgets expired nonces and fails closed when full of live ones', () => {
    const c = new NonceCache(2)
    expect(c.add('a', 100, 0)).toBe(true)
    expect(c.add('a', 100, 50)).toBe(false)
    expect(c.add('b', 200, 0)).toBe(true)
    expect(c.add('c', 300, 50)).toBe(false) // full, nothing expired
    expect(c.add('c', 300, 150)).toBe(true) // 'a' expired and swept
    expect(c.size).toBe(2)
    expect(c.add('a', 400, 150)).toBe(false) // full again ('b' still live)
  })
})
