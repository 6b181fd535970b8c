/**
 * The credentials dapp through records: binding, revocation, the low-24 index, device-signed
 * enrolment binds, arming; each rule accepts or rejects with its reason code and rejected
 * records stay in the ledger.
 */
import { describe, expect, it, onTestFinished } from 'vitest'
import { em24Credential, emCredential } from '../../devices/readers/credential.ts'
import { HybridClock } from '../../runtime/core/ledger/hlc.ts'
import type { Ledger, Signer } from '../../runtime/core/ledger/ledger.ts'
import { toHex, wireBytes } from '../../runtime/core/ledger/record.ts'
import {
  ADMIN,
  ADMIN2,
  DEVICE,
  openTestLedger,
  provision,
  silentLogger,
} from '../../runtime/core/ledger/testing/fixtures.ts'
import { DappHost } from '../../runtime/dapps.ts'
import { ledgerDapp } from '../contract.ts'
import { membership } from '../membership/index.ts'
import type { Member } from '../membership/model.ts'
import { credentials } from './index.ts'
import { badgeKey, badgesOf, expectKey, findBadge, low24Key, memberBadgesKey } from './model.ts'
import { parseBadgeArg } from './rules.ts'

/** Wall time of the test ledgers: 2025-06-01, so expiry dates around it are meaningful. */
const NOW = Date.UTC(2025, 5, 1, 12)

async function site(): Promise<Ledger> {
  const l = await openTestLedger({
    dapps: [membership, credentials].map(ledgerDapp),
    clock: new HybridClock({ now: () => NOW }),
  })
  onTestFinished(() => l.close())
  await provision(l)
  for (const m of members) expect((await l.append('membership.put', m, ADMIN)).rejection).toBeNull()
  return l
}

const member = (id: string, over: Partial<Member> = {}): Member => ({
  id,
  name: id,
  contact: null,
  status: 'active',
  expires: null,
  groups: [],
  staff: false,
  ...over,
})
const members = [
  member('alice'),
  member('bob'),
  member('sam', { staff: true }),
  member('sue', { staff: true, status: 'suspended' }),
  member('old', { staff: true, expires: '2025-05-31' }),
]

async function put(l: Ledger, type: string, body: unknown, by: Signer = ADMIN): Promise<string | null> {
  const before = l.count
  const { record, rejection } = await l.append(type, body, by)
  expect(l.count).toBe(before + 1)
  expect(l.query.rejectionOf(toHex(record.id))?.code ?? null).toBe(rejection?.code ?? null)
  return rejection?.code ?? null
}

const enrol = (badge: string, m: string, enrolledBy: string, reader = 'front') => ({
  badge,
  member: m,
  enrolledBy,
  reader,
})

describe('credentials: admin binds and revocations', () => {
  it('an admin binds a badge: badge entry, member index and low-24 index', async () => {
    const l = await site()
    expect(await put(l, 'credentials.bind', { badge: 'em:4335412', member: 'alice' })).toBeNull()
    expect(l.view.get(badgeKey('em:4335412'))).toEqual({
      id: 'em:4335412',
      member: 'alice',
      status: 'active',
      enrolledBy: null,
      reason: null,
    })
    expect(l.view.get(memberBadgesKey('alice'))).toEqual(['em:4335412'])
    expect(l.view.get(low24Key('em24:4335412'))).toEqual(['em:4335412'])
    expect(findBadge(l.view, emCredential(4335412))).toMatchObject({
      found: true,
      badge: { member: 'alice' },
    })
    await put(l, 'credentials.bind', { badge: 'uid:04a1b2c3d4e5f6', member: 'alice' })
    expect(badgesOf(l.view, 'alice').map((b) => b.id)).toEqual(['em:4335412', 'uid:04a1b2c3d4e5f6'])
  })

  it('rejects a device without enrolledBy (NOT_ADMIN), an unknown member, a bad id, a badge in use', async () => {
    const l = await site()
    expect(await put(l, 'credentials.bind', { badge: 'em:1', member: 'alice' }, DEVICE)).toBe(
      'credentials.NOT_ADMIN',
    )
    expect(await put(l, 'credentials.bind', { badge: 'em:1', member: 'nobody' })).toBe(
      'credentials.UNKNOWN_MEMBER',
    )
    for (const badge of ['em:04335412', 'em:4294967296', 'uid:04A1B2C3', 'uid:04a1b2', '4335412'])
      expect(await put(l, 'credentials.bind', { badge, member: 'alice' })).toBe('credentials.BAD_BODY')
    expect(await put(l, 'credentials.bind', { badge: 'em:1', member: 'alice', extra: 1 })).toBe(
      'credentials.BAD_BODY',
    )
    await put(l, 'credentials.bind', { badge: 'em:1', member: 'alice' })
    expect(await put(l, 'credentials.bind', { badge: 'em:1', member: 'bob' })).toBe('credentials.IN_USE')
    expect(await put(l, 'credentials.bind', { badge: 'em:1', member: 'alice' })).toBe(
      'credentials.ALREADY_BOUND',
    )
    expect(l.view.get(badgeKey('em:1'))).toMatchObject({ member: 'alice', status: 'active' })
  })

  it('a lost or stolen badge is never re-issued to another member; a returned one may be', async () => {
    const l = await site()
    await put(l, 'credentials.bind', { badge: 'em:1', member: 'alice' })
    await put(l, 'credentials.bind', { badge: 'em:2', member: 'alice' })
    expect(
      await put(l, 'credentials.revoke', { badge: 'em:1', status: 'lost', reason: 'left on the bus' }),
    ).toBeNull()
    expect(l.view.get(badgeKey('em:1'))).toMatchObject({ status: 'lost', reason: 'left on the bus' })
    // Door access still finds it, and sees it is lost.
    expect(findBadge(l.view, emCredential(1))).toMatchObject({ found: true, badge: { status: 'lost' } })
    expect(
      await put(l, 'credentials.revoke', { badge: 'em:1', status: 'stolen', reason: 'bag stolen' }),
    ).toBeNull()
    expect(await put(l, 'credentials.bind', { badge: 'em:1', member: 'bob' })).toBe('credentials.IN_USE')
    // Found again by its owner: an admin may reactivate it.
    expect(await put(l, 'credentials.bind', { badge: 'em:1', member: 'alice' })).toBeNull()
    expect(l.view.get(badgeKey('em:1'))).toMatchObject({ status: 'active', reason: null })
    // Returned to the space and re-issued.
    await put(l, 'credentials.revoke', { badge: 'em:2', status: 'revoked', reason: 'returned' })
    expect(await put(l, 'credentials.bind', { badge: 'em:2', member: 'bob' })).toBeNull()
    expect(badgesOf(l.view, 'alice').map((b) => b.id)).toEqual(['em:1'])
    expect(badgesOf(l.view, 'bob').map((b) => b.id)).toEqual(['em:2'])
  })

  it('revocation: UNKNOWN_BADGE for an unbound badge, NOT_ADMIN for a device, BAD_BODY for a bad status', async () => {
    const l = await site()
    await put(l, 'credentials.bind', { badge: 'em:1', member: 'alice' })
    expect(await put(l, 'credentials.revoke', { badge: 'em:9', status: 'lost', reason: '' })).toBe(
      'credentials.UNKNOWN_BADGE',
    )
    expect(await put(l, 'credentials.revoke', { badge: 'em:1', status: 'lost', reason: '' }, DEVICE)).toBe(
      'credentials.NOT_ADMIN',
    )
    expect(await put(l, 'credentials.revoke', { badge: 'em:1', status: 'active', reason: '' })).toBe(
      'credentials.BAD_BODY',
    )
    expect(l.view.get(badgeKey('em:1'))).toMatchObject({ status: 'active' })
  })

  it('a 24-bit read that fits two badges is ambiguous, and stays so after one is lost', async () => {
    const l = await site()
    // Two fobs whose numbers differ only above bit 24: a Wiegand 26 reader sees both as em:10036.
    const one = `em:${(1 << 24) + 10036}`
    const two = `em:${(2 << 24) + 10036}`
    await put(l, 'credentials.bind', { badge: one, member: 'alice' })
    expect(findBadge(l.view, em24Credential(10036))).toMatchObject({
      found: true,
      badge: { member: 'alice' },
    })
    await put(l, 'credentials.bind', { badge: two, member: 'bob' })
    expect(l.view.get(low24Key('em24:10036'))).toEqual([one, two].sort())
    expect(findBadge(l.view, em24Credential(10036))).toEqual({ found: false, reason: 'ambiguous' })
    // Losing one does not make the read Bob's: it could be the lost fob.
    await put(l, 'credentials.revoke', { badge: two, status: 'lost', reason: '' })
    expect(findBadge(l.view, em24Credential(10036))).toEqual({ found: false, reason: 'ambiguous' })
    // A full-width read still matches exactly.
    expect(findBadge(l.view, emCredential((1 << 24) + 10036))).toMatchObject({
      found: true,
      badge: { member: 'alice' },
    })
  })
})

describe('credentials: device-signed enrolment binds', () => {
  it('accepted when an active staff member vouches and the member was expected at that reader', async () => {
    const l = await site()
    expect(await put(l, 'credentials.expect', { member: 'alice', reader: 'front' })).toBeNull()
    expect(l.view.get(expectKey('alice'))).toMatchObject({ member: 'alice', reader: 'front', by: ADMIN.id })
    expect(await put(l, 'credentials.bind', enrol('em:77', 'alice', 'sam'), DEVICE)).toBeNull()
    expect(l.view.get(badgeKey('em:77'))).toMatchObject({
      member: 'alice',
      status: 'active',
      enrolledBy: 'sam',
    })
    // The arming is used up.
    expect(l.view.has(expectKey('alice'))).toBe(false)
    expect(await put(l, 'credentials.bind', enrol('em:78', 'alice', 'sam'), DEVICE)).toBe(
      'credentials.NOT_EXPECTED',
    )
  })

  it.each([
    ['a member who is not staff', 'bob'],
    ['a suspended staff member', 'sue'],
    ['a staff member whose membership expired the day before', 'old'],
    ['an unknown member', 'ghost'],
  ])('rejected NOT_STAFF when enrolledBy is %s', async (_what, by) => {
    const l = await site()
    await put(l, 'credentials.expect', { member: 'alice', reader: null })
    expect(await put(l, 'credentials.bind', enrol('em:77', 'alice', by), DEVICE)).toBe(
      'credentials.NOT_STAFF',
    )
    expect(l.view.has(badgeKey('em:77'))).toBe(false)
  })

  it('rejected NOT_EXPECTED without an arming, or armed at another reader; any-reader arming fits', async () => {
    const l = await site()
    expect(await put(l, 'credentials.bind', enrol('em:77', 'alice', 'sam'), DEVICE)).toBe(
      'credentials.NOT_EXPECTED',
    )
    await put(l, 'credentials.expect', { member: 'alice', reader: 'back' })
    expect(await put(l, 'credentials.bind', enrol('em:77', 'alice', 'sam', 'front'), DEVICE)).toBe(
      'credentials.NOT_EXPECTED',
    )
    await put(l, 'credentials.expect', { member: 'alice', reader: null })
    expect(await put(l, 'credentials.bind', enrol('em:77', 'alice', 'sam', 'front'), DEVICE)).toBeNull()
  })

  it('a device may not bring back a revoked badge or take one in use (BADGE_REVOKED, IN_USE)', async () => {
    const l = await site()
    await put(l, 'credentials.bind', { badge: 'em:1', member: 'alice' })
    await put(l, 'credentials.bind', { badge: 'em:2', member: 'bob' })
    await put(l, 'credentials.revoke', { badge: 'em:1', status: 'stolen', reason: '' })
    await put(l, 'credentials.expect', { member: 'alice', reader: null })
    expect(await put(l, 'credentials.bind', enrol('em:1', 'alice', 'sam'), DEVICE)).toBe(
      'credentials.BADGE_REVOKED',
    )
    expect(await put(l, 'credentials.bind', enrol('em:2', 'alice', 'sam'), DEVICE)).toBe('credentials.IN_USE')
    expect(
      await put(l, 'credentials.bind', { badge: 'em:3', member: 'alice', enrolledBy: 'sam' }, DEVICE),
    ).toBe('credentials.BAD_BODY')
  })

  it('arming is admin-only, names a known member, and can be cancelled', async () => {
    const l = await site()
    expect(await put(l, 'credentials.expect', { member: 'alice', reader: null }, DEVICE)).toBe(
      'credentials.NOT_ADMIN',
    )
    expect(await put(l, 'credentials.expect', { member: 'nobody', reader: null })).toBe(
      'credentials.UNKNOWN_MEMBER',
    )
    expect(await put(l, 'credentials.expect', { member: 'alice', reader: 'front door' })).toBe(
      'credentials.BAD_BODY',
    )
    expect(await put(l, 'credentials.unexpect', { member: 'alice' })).toBe('credentials.NOT_EXPECTED')
    await put(l, 'credentials.expect', { member: 'alice', reader: 'front' })
    expect(await put(l, 'credentials.unexpect', { member: 'alice' })).toBeNull()
    expect(l.view.has(expectKey('alice'))).toBe(false)
  })
})

describe('credentials merge across partitions', () => {
  it('the same new badge bound to two members on two sides: the first in the total order wins on both', async () => {
    const t = { now: NOW }
    const open = async () => {
      const l = await openTestLedger({
        dapps: [membership, credentials].map(ledgerDapp),
        clock: new HybridClock({ now: () => t.now }),
      })
      onTestFinished(() => l.close())
      return l
    }
    const a = await open()
    const b = await open()
    await provision(a)
    await a.append('site.enrol', { key: ADMIN2.publicKey, role: 'admin', name: 'second admin' }, ADMIN)
    for (const m of members) await a.append('membership.put', m, ADMIN)
    const sync = () => {
      const fromA = [...a.query.records()].map(wireBytes)
      a.ingest([...b.query.records()].map(wireBytes))
      b.ingest(fromA)
    }
    sync()
    t.now += 1000
    const onB = await b.append('credentials.bind', { badge: 'em:5', member: 'bob' }, ADMIN2)
    t.now += 1000
    const onA = await a.append('credentials.bind', { badge: 'em:5', member: 'alice' }, ADMIN)
    expect(onA.rejection).toBeNull() // each side alone accepted its own
    sync()
    expect(a.stateHash).toBe(b.stateHash)
    for (const l of [a, b]) {
      expect(l.view.get(badgeKey('em:5'))).toMatchObject({ member: 'bob' })
      expect(l.query.rejectionOf(toHex(onA.record.id))?.code).toBe('credentials.IN_USE')
      expect(l.query.rejectionOf(toHex(onB.record.id))).toBeNull()
      expect(badgesOf(l.view, 'alice')).toEqual([])
    }
  })
})

describe('credentials: loading and queries', () => {
  it('needs membership 1.x loaded first', async () => {
    const l = await openTestLedger({ dapps: [ledgerDapp(credentials)] })
    onTestFinished(() => l.close())
    expect(l.admin.failedDapps.get('credentials')).toMatch(/needs dapp membership/)
  })

  it('badge and badges answer from state', async () => {
    const l = await site()
    await put(l, 'credentials.bind', { badge: 'em:1', member: 'alice' })
    const host = new DappHost({
      dapps: [membership, credentials],
      ledger: l,
      hardware: null,
      key: () => DEVICE,
      log: silentLogger(),
    })
    await host.ready()
    onTestFinished(() => host.close())
    expect(host.query('credentials', 'badge', { id: 'em:1' })).toMatchObject({ member: 'alice' })
    expect(host.query('credentials', 'badges', { member: 'alice' })).toMatchObject({
      badges: [{ id: 'em:1' }],
    })
    expect(host.query('credentials', 'badges', { member: 'bob' })).toEqual({ badges: [] })
    expect(() => host.query('credentials', 'badge', { id: 'em:2' })).toThrow(
      expect.objectContaining({ code: 'LK_BADGE_UNKNOWN' }),
    )
    expect(() => host.query('credentials', 'badge', { id: 'nope' })).toThrow(
      expect.objectContaining({ code: 'LK_BADGE_INVALID' }),
    )
  })

  it('an operator may type the number printed on a fob', () => {
    expect(parseBadgeArg('0004335412')).toBe('em:4335412')
    expect(parseBadgeArg('em:4335412')).toBe('em:4335412')
    expect(parseBadgeArg('uid:04A1B2C3')).toBe('uid:04a1b2c3')
    expect(parseBadgeArg('4335412')).toBeNull()
  })
})
