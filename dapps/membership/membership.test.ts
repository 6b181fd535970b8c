/**
 * The membership dapp through records: every rule accepts or rejects with its reason code
 * (rejected records stay in the ledger), the merge rule across partitioned ledgers, queries.
 */
import { describe, expect, it, onTestFinished } from 'vitest'
import { HybridClock } from '../../runtime/core/ledger/hlc.ts'
import type { Ledger, Signer } from '../../runtime/core/ledger/ledger.ts'
import { compareBytes, toHex, wireBytes } from '../../runtime/core/ledger/record.ts'
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
import { membership } from './index.ts'
import { getMember, isActive, type Member, statusNoteKey } from './model.ts'

type OpenOpts = Parameters<typeof openTestLedger>[0]

async function open(opts: OpenOpts = {}): Promise<Ledger> {
  const l = await openTestLedger({ dapps: [ledgerDapp(membership)], ...opts })
  onTestFinished(() => l.close())
  return l
}

async function site(opts: OpenOpts = {}): Promise<Ledger> {
  const l = await open(opts)
  await provision(l)
  return l
}

const alice: Member = {
  id: 'alice',
  name: 'Alice Example',
  contact: 'alice@example.org',
  status: 'active',
  expires: '2030-12-31',
  groups: ['laser', 'wood'],
  staff: false,
}

/** Appends and returns the rejection code (null when applied), checking the ledger kept it. */
async function put(l: Ledger, type: string, body: unknown, by: Signer = ADMIN): Promise<string | null> {
  const before = l.count
  const { record, rejection } = await l.append(type, body, by)
  expect(l.count).toBe(before + 1)
  expect(l.query.rejectionOf(toHex(record.id))?.code ?? null).toBe(rejection?.code ?? null)
  return rejection?.code ?? null
}

describe('membership records', () => {
  it('an admin puts a member; other dapps read it through the model', async () => {
    const l = await site()
    expect(await put(l, 'membership.put', alice)).toBeNull()
    expect(getMember(l.view, 'alice')).toEqual(alice)
    expect(isActive(getMember(l.view, 'alice'), '2030-12-31')).toBe(true)
    expect(isActive(getMember(l.view, 'alice'), '2031-01-01')).toBe(false)
  })

  it('a device-signed change is rejected NOT_ADMIN and stays in the ledger, state unchanged', async () => {
    const l = await site()
    await put(l, 'membership.put', alice)
    const hash = l.stateHash
    expect(await put(l, 'membership.put', { ...alice, id: 'mallory' }, DEVICE)).toBe('membership.NOT_ADMIN')
    expect(await put(l, 'membership.status', { id: 'alice', status: 'suspended', reason: 'x' }, DEVICE)).toBe(
      'membership.NOT_ADMIN',
    )
    expect(await put(l, 'membership.renew', { id: 'alice', expires: null }, DEVICE)).toBe(
      'membership.NOT_ADMIN',
    )
    expect(getMember(l.view, 'mallory')).toBeUndefined()
    expect(getMember(l.view, 'alice')).toEqual(alice)
    // Only the rejection markers changed state.
    expect(l.stateHash).not.toBe(hash)
    expect(l.view.list('membership/')).toHaveLength(1)
  })

  it.each<[string, unknown]>([
    ['a missing field', { ...alice, staff: undefined }],
    ['an unknown field', { ...alice, admin: true }],
    ['an id with capitals', { ...alice, id: 'Alice' }],
    ['an empty name', { ...alice, name: '  ' }],
    ['a name with a line break', { ...alice, name: 'Alice\nExample' }],
    ['an unknown status', { ...alice, status: 'banned' }],
    ['a date that does not exist', { ...alice, expires: '2025-02-30' }],
    ['groups that repeat', { ...alice, groups: ['laser', 'laser'] }],
    ['a group with a ;', { ...alice, groups: ['laser;wood'] }],
    ['staff as a string', { ...alice, staff: 'yes' }],
    ['not an object', 'alice'],
  ])('a put with %s is rejected BAD_BODY', async (_what, body) => {
    const l = await site()
    const clean = body && typeof body === 'object' ? JSON.parse(JSON.stringify(body)) : body
    expect(await put(l, 'membership.put', clean)).toBe('membership.BAD_BODY')
  })

  it('status and renew of an unknown member are rejected UNKNOWN_MEMBER', async () => {
    const l = await site()
    expect(await put(l, 'membership.status', { id: 'nobody', status: 'suspended', reason: '' })).toBe(
      'membership.UNKNOWN_MEMBER',
    )
    expect(await put(l, 'membership.renew', { id: 'nobody', expires: '2030-01-01' })).toBe(
      'membership.UNKNOWN_MEMBER',
    )
    expect(await put(l, 'membership.status', { id: 'alice', status: 'gone', reason: '' })).toBe(
      'membership.BAD_BODY',
    )
  })

  it('a suspension is lifted only by membership.status, never by a put or a renewal', async () => {
    const l = await site()
    await put(l, 'membership.put', alice)
    expect(
      await put(l, 'membership.status', { id: 'alice', status: 'suspended', reason: 'unpaid dues' }),
    ).toBeNull()
    expect(getMember(l.view, 'alice')!.status).toBe('suspended')
    expect(l.view.get(statusNoteKey('alice'))).toMatchObject({
      status: 'suspended',
      reason: 'unpaid dues',
      by: ADMIN.id,
    })
    // An edit applies its other fields and keeps the suspension.
    await put(l, 'membership.put', { ...alice, contact: '+44 1234 567890' })
    expect(getMember(l.view, 'alice')).toMatchObject({ status: 'suspended', contact: '+44 1234 567890' })
    await put(l, 'membership.renew', { id: 'alice', expires: '2031-12-31' })
    expect(getMember(l.view, 'alice')).toMatchObject({ status: 'suspended', expires: '2031-12-31' })
    await put(l, 'membership.status', { id: 'alice', status: 'active', reason: 'paid' })
    expect(getMember(l.view, 'alice')!.status).toBe('active')
  })

  it('a renewal ends an expiry; a put may set any status but suspended stays', async () => {
    const l = await site()
    await put(l, 'membership.put', { ...alice, status: 'expired', expires: '2024-12-31' })
    await put(l, 'membership.renew', { id: 'alice', expires: '2025-12-31' })
    expect(getMember(l.view, 'alice')).toMatchObject({ status: 'active', expires: '2025-12-31' })
    await put(l, 'membership.renew', { id: 'alice', expires: null })
    expect(getMember(l.view, 'alice')!.expires).toBeNull()
    await put(l, 'membership.put', { ...alice, status: 'expired' })
    expect(getMember(l.view, 'alice')!.status).toBe('expired')
  })
})

/** Fake wall time shared by partitioned ledgers. */
function fakeTime(start = 1_700_000_000_000) {
  const t = { now: start }
  return { t, clock: () => new HybridClock({ now: () => t.now }) }
}
const wiresOf = (l: Ledger) => [...l.query.records()].map(wireBytes)
function exchange(a: Ledger, b: Ledger): void {
  const fromA = wiresOf(a)
  const intoA = a.ingest(wiresOf(b))
  const intoB = b.ingest(fromA)
  expect(intoA.refused + intoA.held + intoB.refused + intoB.held).toBe(0)
}

/** Two ledgers of one site (ADMIN on one side, ADMIN2 on the other) that both hold `m`. */
async function partitioned(m: Member) {
  const { t, clock } = fakeTime()
  const a = await open({ clock: clock() })
  const b = await open({ clock: clock() })
  await provision(a)
  await a.append('site.enrol', { key: ADMIN2.publicKey, role: 'admin', name: 'second admin' }, ADMIN)
  expect((await a.append('membership.put', m, ADMIN)).rejection).toBeNull()
  exchange(a, b)
  expect(b.stateHash).toBe(a.stateHash)
  return { t, a, b }
}

describe('membership merge across partitions', () => {
  it.each([
    ['suspend sorts first', true],
    ['renewal sorts first', false],
  ])(
    'suspend on one side, renew on the other (%s): suspended and renewed on both, one state hash',
    async (_n, suspendFirst) => {
      const { t, a, b } = await partitioned({ ...alice, status: 'expired', expires: '2024-12-31' })
      const suspend = () =>
        a.append('membership.status', { id: 'alice', status: 'suspended', reason: 'x' }, ADMIN)
      const renew = () => b.append('membership.renew', { id: 'alice', expires: '2027-12-31' }, ADMIN2)
      t.now += 1000
      await (suspendFirst ? suspend() : renew())
      t.now += 1000
      await (suspendFirst ? renew() : suspend())
      // Each side alone has applied only its own change.
      expect(getMember(b.view, 'alice')!.status).toBe('active')
      exchange(a, b)
      expect(a.stateHash).toBe(b.stateHash)
      expect(a.count).toBe(b.count)
      for (const l of [a, b])
        expect(getMember(l.view, 'alice')).toMatchObject({ status: 'suspended', expires: '2027-12-31' })
    },
  )

  it('an edit concurrent with a suspension keeps the suspension and the edit, on both sides', async () => {
    const { t, a, b } = await partitioned(alice)
    t.now += 1000
    await a.append('membership.status', { id: 'alice', status: 'suspended', reason: 'x' }, ADMIN)
    t.now += 1000 // the put sorts last and still does not lift the suspension
    await b.append('membership.put', { ...alice, contact: 'new@example.org' }, ADMIN2)
    exchange(a, b)
    expect(a.stateHash).toBe(b.stateHash)
    expect(getMember(a.view, 'alice')).toMatchObject({ status: 'suspended', contact: 'new@example.org' })
  })

  it('two concurrent status decisions: the later in the total order (HLC, then id) wins on both sides', async () => {
    for (const expiredLater of [true, false]) {
      const { t, a, b } = await partitioned(alice)
      t.now += 1000
      const first = expiredLater ? 'suspended' : 'expired'
      const second = expiredLater ? 'expired' : 'suspended'
      await a.append('membership.status', { id: 'alice', status: first, reason: 'a' }, ADMIN)
      t.now += 1000
      await b.append('membership.status', { id: 'alice', status: second, reason: 'b' }, ADMIN2)
      exchange(a, b)
      expect(a.stateHash).toBe(b.stateHash)
      expect(getMember(a.view, 'alice')!.status).toBe(second)
    }
  })

  it('equal clocks: the record with the larger id wins, on both sides', async () => {
    const { t, a, b } = await partitioned(alice)
    t.now += 1000 // both sides sign at the same HLC
    const ra = await a.append('membership.status', { id: 'alice', status: 'suspended', reason: 'a' }, ADMIN)
    const rb = await b.append('membership.status', { id: 'alice', status: 'expired', reason: 'b' }, ADMIN2)
    expect(ra.record.hlc).toEqual(rb.record.hlc)
    exchange(a, b)
    expect(a.stateHash).toBe(b.stateHash)
    const winner = compareBytes(ra.record.id, rb.record.id) > 0 ? 'suspended' : 'expired'
    expect(getMember(a.view, 'alice')!.status).toBe(winner)
    expect(getMember(b.view, 'alice')!.status).toBe(winner)
  })
})

describe('membership queries', () => {
  it('member and members (with a group filter) answer from state; an unknown member is LK_MEMBER_UNKNOWN', async () => {
    const l = await site()
    await put(l, 'membership.put', alice)
    await put(l, 'membership.put', { ...alice, id: 'bob', name: 'Bob', groups: ['wood'], staff: true })
    await put(l, 'membership.status', { id: 'bob', status: 'suspended', reason: 'safety' })
    const host = new DappHost({
      dapps: [membership],
      ledger: l,
      hardware: null,
      key: () => DEVICE,
      log: silentLogger(),
    })
    await host.ready()
    onTestFinished(() => host.close())
    expect(host.query('membership', 'member', { id: 'bob' })).toMatchObject({
      id: 'bob',
      status: 'suspended',
      lastStatusChange: { status: 'suspended', reason: 'safety' },
    })
    expect(host.query('membership', 'members', {})).toMatchObject({
      members: [{ id: 'alice' }, { id: 'bob' }],
    })
    expect(host.query('membership', 'members', { group: 'laser' })).toMatchObject({
      members: [{ id: 'alice' }],
    })
    expect(() => host.query('membership', 'member', { id: 'carol' })).toThrow(
      expect.objectContaining({ code: 'LK_MEMBER_UNKNOWN' }),
    )
    expect(() => host.query('membership', 'member', {})).toThrow(
      expect.objectContaining({ code: 'LK_MEMBER_INVALID' }),
    )
  })
})
